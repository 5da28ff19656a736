"""The App Home ("what waits on me"): one person's Home tab as a plain dict.
Pure: the open items, the month's figures and the CS lead's facts in, a
``home`` view out (https://docs.slack.dev/reference/views/home-tab-views).

What a person sees follows their roles (a person with several sees each part):

- **Owner side** (the owner, their delegates, a stand-in in force): items
  awaiting their answer with the deadline (Confirm / Dispute), confirmed or
  deemed items without a fix and since when (Fix), their month so far.
- **Manager** (in an owner's escalation chain): their owners' open items
  (Confirm / Dispute: managers may answer), the escalations sent to them
  this month, their owners' month so far.
- **Callback agent**: their disputes to re-verify (Uphold / Overrule), their
  records held by a legitimate-rejection report (Keep / Drop), their
  accuracy and penalties this month.
- **CS lead**: all of the above for everyone (buttons only where CS may
  act: disputes, held records), the reports of the last ``REPORT_DAYS``
  days and where each stands, records no owner covers, failed sends, the
  working-day calendar's coverage, letters to approve (Approve / Edit /
  Discard).
- Nobody of these: a friendly page saying what the Home shows and whom to ask.

Every button carries the same action id and value as on the digest, the
re-verification DM, the report review DM and the letter DM, so a click goes through the same
handler, service and audit.

Each list of items (``ListQuery``: whose, which statuses, in which order)
arrives as its first items and its total (``ItemList``): storage answers it
with a LIMIT and a COUNT for the one person (``storage.home.list_home_items``),
so a Home costs the same with a hundred open records or a hundred thousand.
``item_lists`` answers the same queries from items in memory: the reference
the SQL must agree with (and what the unit tests render from).

A view holds at most ``MAX_BLOCKS`` blocks (Slack: 100 per Home view).
``allocate`` shares the blocks left after the headings among the sections'
entries, one entry per section in turn; a section that does not fit ends with
"and N more" and a button (``ActionId.HOME_MORE``, value: the section's key)
that opens the whole list in a modal (``section_modal``).

The view shows no "now" (no render time): rendering the same facts gives
the same view, and ``view_hash`` of it decides whether it is published again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.digest import AWAITING_FIX, FIELD_LIMIT, item_text, state_block
from bot.core.lifecycle import Status
from bot.core.monthly import AgentFigures, MonthFigures, OwnerFigures
from bot.core.reports import NOTE_SHOWN, ReportState, reason_text
from bot.core.routing import Owner, Routing
from bot.core.text import cut, esc, esc_cut, fmt_time, mention
from bot.i18n import Catalog
from bot.ids import ActionId

MAX_BLOCKS = 100  # Slack: "Max of 100 blocks" in a Home tab view (home-tab-views)
HEADER_LIMIT = 150  # Slack: a header block's text
SECTION_LIMIT = 2900  # Slack allows 3000 characters in a section's text: a margin
MODAL_TITLE_LIMIT = 24  # Slack: a modal's title
MODAL_BLOCKS = 100  # Slack: blocks in a modal
LINE_LIMIT = 300  # one entry as a line of the full list (the modal)
ERROR_LIMIT = 200  # a failed send's error, as shown
REPORT_DAYS = 7  # the CS lead's Home lists the reports of this many days (and every record still held)


# --- what the Home is made of -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HomeLetter:
    """A letter draft waiting for the CS lead's approval."""

    id: int
    owner: str
    month: str
    reason: str  # bot.core.letters.LetterReason value
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HomeEscalation:
    """An escalation DM sent about an owner's thread (a ``follow_up`` row)."""

    owner: str
    level: int
    recipient: str
    sent_at: datetime


class FailedKind:
    DIGEST = "digest"  # a digest message not posted, with its last error
    FOLLOW_UP = "follow_up"  # a nudge, escalation or reminder the bot gave up on
    UPLOAD = "upload"  # a file not shared


@dataclass(frozen=True, slots=True)
class FailedSend:
    kind: str  # FailedKind
    what: str  # the digest's day and owner, the follow-up's recipient (a Slack user), the file's name
    at: datetime | None
    error: str


@dataclass(frozen=True, slots=True)
class HomeReport:
    """A legitimate-rejection report, with the callback agent of the record it holds (if any)."""

    id: int
    order_no: str
    reason: str  # bot.core.reports.Reason value
    note: str
    reporter: str
    reporter_owner: str | None
    created_at: datetime
    state: str  # ReportState
    callback_agent: str | None = None  # the held record's


@dataclass(frozen=True, slots=True)
class ItemList:
    """The first items of one of a Home's lists, in the list's order, and how many it holds in all."""

    items: Sequence = ()
    total: int = 0


@dataclass(frozen=True)
class HomeData:
    """Everything any Home shows, loaded once and shared by every person's render.

    ``items``: the open items (new, awaiting, disputed, confirmed and deemed
    without a fix), each with the attributes of ``bot.core.digest.ItemFacts``
    plus ``owner``, ``deadline`` and ``decided_at``. ``stand_ins``: the owner's
    Slack user -> the stand-in in force. ``calendar``: the coverage lines.
    ``lists``: one person's lists (``list_queries``) as storage cut them; None:
    computed from ``items`` (``item_lists``)."""

    items: Sequence = ()
    lists: Mapping[str, ItemList] | None = None
    stand_ins: Mapping[str, str] = field(default_factory=dict)
    figures: MonthFigures | None = None
    escalations: Sequence[HomeEscalation] = ()
    letters: Sequence[HomeLetter] = ()
    failed: Sequence[FailedSend] = ()
    calendar: Sequence[str] = ()
    now: datetime | None = None  # past a deadline? (not shown)
    reports: Sequence[HomeReport] = ()  # every held record's, then the last REPORT_DAYS days' others; each newest first


@dataclass
class Entry:
    """One thing in a section: its blocks (one or two) and itself as a line of the full list."""

    blocks: list[dict]
    line: str


@dataclass
class Section:
    key: str  # also the "more" button's value
    title: str
    summary: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    empty: str | None = None  # said when there are no entries
    total: int | None = None  # entries in the whole list, when only the first ones are here (None: all are)

    @property
    def size(self) -> int:
        return len(self.entries) if self.total is None else max(self.total, len(self.entries))

    def fixed_blocks(self) -> int:
        """Blocks the section takes besides its entries and its "more" line."""
        return 1 + bool(self.summary) + (not self.size and self.empty is not None)


# --- who is who -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Roles:
    owners: tuple[Owner, ...]  # as owner, delegate or stand-in
    managed: tuple[Owner, ...]  # as manager (not also above)
    agent_names: tuple[str, ...]  # callback agent names this user is
    lead: bool

    @property
    def any(self) -> bool:
        return bool(self.owners or self.managed or self.agent_names or self.lead)


def roles_of(user: str, routing: Routing, stand_ins: Mapping[str, str]) -> Roles:
    owners = tuple(o for o in routing.owners if o.user == user or user in o.delegates or stand_ins.get(o.user) == user)
    managed = tuple(o for o in routing.owners if user in o.escalation and o not in owners)
    agents = tuple(sorted(name for name, u in routing.cs_agents.items() if u == user))
    return Roles(owners=owners, managed=managed, agent_names=agents, lead=user == routing.cs_lead)


def owner_of(item, routing: Routing) -> Owner | None:
    """Who answers for an item now (as the answering services decide it)."""
    return routing.owner_now(item.owner, item.category, item.branch)


# --- the lists of items ---------------------------------------------------------------


class ListKey:
    AWAITING = "awaiting"  # the owner side's items awaiting their answer
    UNFIXED = "unfixed"  # the owner side's confirmed or deemed items without a fix
    TEAM = "team"  # a manager's owners' items awaiting an answer
    DISPUTES = "disputes"  # a callback agent's disputes
    ALL_DISPUTES = "all_disputes"  # the CS lead's: everyone's
    ALL_AWAITING = "all_awaiting"
    ALL_UNFIXED = "all_unfixed"
    UNROUTED = "unrouted"  # new items no owner covers


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What one list of a Home holds: items of ``statuses`` whose owner now
    (``Routing.owner_now``) is one of ``owners`` (None: anyone's), whose
    callback agent is one of ``agents`` (None: anyone's), or, ``unrouted``,
    that no owner covers; the nearest deadline first (``by_deadline``: none
    last), else the oldest rejection first; then by order number and id."""

    key: str
    statuses: tuple[Status, ...]
    owners: tuple[Owner, ...] | None = None
    agents: tuple[str, ...] | None = None
    unrouted: bool = False
    by_deadline: bool = False


def list_queries(roles: Roles) -> list[ListQuery]:
    """The lists of items a person with ``roles`` sees."""
    fix = tuple(sorted(AWAITING_FIX))
    queries = []
    if roles.owners:
        queries += [
            ListQuery(ListKey.AWAITING, (Status.AWAITING,), owners=roles.owners, by_deadline=True),
            ListQuery(ListKey.UNFIXED, fix, owners=roles.owners),
        ]
    if roles.managed:
        queries.append(ListQuery(ListKey.TEAM, (Status.AWAITING,), owners=roles.managed, by_deadline=True))
    if roles.agent_names:
        queries.append(ListQuery(ListKey.DISPUTES, (Status.DISPUTED,), agents=roles.agent_names))
    if roles.lead:
        queries += [
            ListQuery(ListKey.ALL_DISPUTES, (Status.DISPUTED,)),
            ListQuery(ListKey.ALL_AWAITING, (Status.AWAITING,), by_deadline=True),
            ListQuery(ListKey.ALL_UNFIXED, fix),
            ListQuery(ListKey.UNROUTED, (Status.NEW,), unrouted=True),
        ]
    return queries


_NEVER = datetime.max.replace(tzinfo=UTC)


def list_order(query: ListQuery):
    """The sort key of ``query``'s list (what storage's ORDER BY says)."""
    if query.by_deadline:
        return lambda i: (i.deadline or _NEVER, i.rejected_on, i.order_no, i.id)
    return lambda i: (i.rejected_on, i.order_no, i.id)


def in_list(query: ListQuery, item, routing: Routing) -> bool:
    if Status(item.status) not in query.statuses:
        return False
    if query.owners is not None and owner_of(item, routing) not in query.owners:
        return False
    if query.agents is not None and (item.callback_agent or "").strip() not in query.agents:
        return False
    return not (query.unrouted and routing.owner_for(item.category, item.branch) is not None)


def item_lists(queries: Sequence[ListQuery], items: Sequence, routing: Routing, *, limit: int | None = None) -> dict[str, ItemList]:
    """``queries`` answered from ``items`` in memory, the first ``limit`` of each (None: all)."""
    lists = {}
    for query in queries:
        found = sorted((i for i in items if in_list(query, i, routing)), key=list_order(query))
        lists[query.key] = ItemList(tuple(found if limit is None else found[:limit]), len(found))
    return lists


# --- entries -------------------------------------------------------------------------------


def _ids(blocks: list[dict], prefix: str) -> list[dict]:
    """The blocks with block ids unique in the view (an item can show in two sections)."""
    out = []
    for block in blocks:
        block = dict(block)
        if "block_id" in block:
            block["block_id"] = f"{prefix}-{block['block_id']}"[:255]
        out.append(block)
    return out


def _facts(item, catalog: Catalog, *, full: bool) -> str:
    return item_text(item, catalog, full=full, note_limit=0)


def _order_line(item, catalog: Catalog, extra: str) -> str:
    head = f"{esc_cut(item.order_no, FIELD_LIMIT)} · {esc_cut(item.branch, FIELD_LIMIT)} · {catalog.t(f'digest.category_{item.category}')}"
    return cut(f"{head} — {extra}" if extra else head, LINE_LIMIT)


def _deadline_text(item, catalog: Catalog, tz: ZoneInfo, now: datetime | None) -> str:
    if item.deadline is None:
        return catalog.t("home.no_deadline")
    key = "home.past_deadline" if now is not None and now > item.deadline else "home.deadline"
    return catalog.t(key, deadline=fmt_time(item.deadline, tz))


def awaiting_entry(key: str, item, owner: Owner | None, catalog: Catalog, tz: ZoneInfo, *, now: datetime | None, buttons: bool, full: bool) -> Entry:
    """An item awaiting the owner side's answer: its facts and deadline; Confirm / Dispute."""
    deadline = _deadline_text(item, catalog, tz, now)
    who = catalog.t("home.owner_is", owner=esc_cut(owner.name, FIELD_LIMIT)) if owner is not None else ""
    text = cut(f"{_facts(item, catalog, full=full)}\n{deadline}" + (f" · {who}" if who else ""), SECTION_LIMIT)
    blocks = [{"type": "section", "block_id": f"item-{item.id}", "text": {"type": "mrkdwn", "text": text}}]
    if buttons:
        blocks.append(state_block(item, catalog, tz))
    return Entry(_ids(blocks, key), _order_line(item, catalog, deadline))


def unfixed_entry(key: str, item, owner: Owner | None, catalog: Catalog, tz: ZoneInfo, *, buttons: bool, full: bool) -> Entry:
    """A confirmed or deemed item without a fix, and since when; Fix."""
    since = item.decided_at or item.updated_at
    state = catalog.t("home.unfixed_since", status=catalog.t(f"status.{Status(item.status)}"), since=fmt_time(since, tz))
    if owner is not None:
        state += " · " + catalog.t("home.owner_is", owner=esc_cut(owner.name, FIELD_LIMIT))
    text = cut(f"{_facts(item, catalog, full=full)}\n{state}", SECTION_LIMIT)
    block = {"type": "section", "block_id": f"item-{item.id}", "text": {"type": "mrkdwn", "text": text}}
    if buttons:
        block["accessory"] = state_block(item, catalog, tz)["accessory"]
    return Entry(_ids([block], key), _order_line(item, catalog, state))


def dispute_entry(key: str, item, owner: Owner | None, catalog: Catalog, tz: ZoneInfo, *, penalty: int) -> Entry:
    """A dispute for CS to re-verify: Uphold (with the penalty it books) / Overrule."""
    state = catalog.t("home.disputed_by", user=mention(cut(item.last_actor, 24)), at=fmt_time(item.updated_at, tz))
    if owner is not None:
        state += " · " + catalog.t("home.owner_is", owner=esc_cut(owner.name, FIELD_LIMIT))
    text = cut(f"{_facts(item, catalog, full=True)}\n{state}", SECTION_LIMIT)
    value = str(item.id)
    buttons = {
        "type": "actions",
        "block_id": f"review-act-{item.id}",
        "elements": [
            {
                "type": "button", "action_id": ActionId.UPHOLD, "style": "danger", "value": value,
                "text": {"type": "plain_text", "text": catalog.t("review.button_uphold")},
                "confirm": {
                    "title": {"type": "plain_text", "text": catalog.t("review.confirm_title")},
                    "text": {"type": "plain_text", "text": catalog.t("review.confirm_text", amount=penalty, agent=cut(item.callback_agent, 60) or "—")},
                    "confirm": {"type": "plain_text", "text": catalog.t("review.button_uphold")},
                    "deny": {"type": "plain_text", "text": catalog.t("review.confirm_deny")},
                },
            },
            {"type": "button", "action_id": ActionId.OVERRULE, "style": "primary", "value": value, "text": {"type": "plain_text", "text": catalog.t("review.button_overrule")}},
        ],
    }
    blocks = [{"type": "section", "block_id": f"item-{item.id}", "text": {"type": "mrkdwn", "text": text}}, buttons]
    return Entry(_ids(blocks, key), _order_line(item, catalog, state))


def unrouted_entry(key: str, item, catalog: Catalog) -> Entry:
    line = catalog.t(
        "home.unrouted_line", order=esc_cut(item.order_no, FIELD_LIMIT), branch=esc_cut(item.branch, FIELD_LIMIT),
        category=catalog.t(f"digest.category_{item.category}"), rejected_on=item.rejected_on.isoformat(),
    )
    return Entry([{"type": "section", "block_id": f"{key}-item-{item.id}", "text": {"type": "mrkdwn", "text": cut(line, SECTION_LIMIT)}}], cut(line, LINE_LIMIT))


def letter_entry(key: str, letter: HomeLetter, catalog: Catalog, tz: ZoneInfo) -> Entry:
    """A letter draft: Approve / Edit / Discard (the buttons of the CS lead's draft DM)."""
    reason_key = {"escalations": "letters.reason_escalations", "no_improvement": "letters.reason_no_improvement"}.get(letter.reason, "letters.reason_by_hand")
    line = catalog.t(
        "home.letter_line", name=catalog.t("letters.draft_name", id=letter.id), owner=esc_cut(letter.owner, FIELD_LIMIT),
        month=letter.month, created=fmt_time(letter.created_at, tz), reason=catalog.t(reason_key),
    )
    value = str(letter.id)
    blocks = [
        {"type": "section", "block_id": f"letter-text-{letter.id}", "text": {"type": "mrkdwn", "text": cut(line, SECTION_LIMIT)}},
        {
            "type": "actions",
            "block_id": f"letter-{letter.id}",
            "elements": [
                {"type": "button", "action_id": ActionId.LETTER_APPROVE, "value": value, "style": "primary", "text": {"type": "plain_text", "text": catalog.t("letters.approve")}},
                {"type": "button", "action_id": ActionId.LETTER_EDIT, "value": value, "text": {"type": "plain_text", "text": catalog.t("letters.edit")}},
                {"type": "button", "action_id": ActionId.LETTER_DISCARD, "value": value, "style": "danger", "text": {"type": "plain_text", "text": catalog.t("letters.discard")}},
            ],
        },
    ]
    return Entry(_ids(blocks, key), cut(line, LINE_LIMIT))


def failed_entry(key: str, n: int, failed: FailedSend, catalog: Catalog, tz: ZoneInfo) -> Entry:
    kind_key = {FailedKind.DIGEST: "home.failed_digest", FailedKind.FOLLOW_UP: "home.failed_follow_up"}.get(failed.kind, "home.failed_upload")
    what = mention(cut(failed.what, 24)) if failed.kind == FailedKind.FOLLOW_UP else esc_cut(failed.what, FIELD_LIMIT)
    line = catalog.t(
        kind_key, what=what, at=fmt_time(failed.at, tz) if failed.at else "—",
        error=esc_cut(failed.error, ERROR_LIMIT) or "—",
    )
    return Entry([{"type": "context", "block_id": f"{key}-{n}", "elements": [{"type": "mrkdwn", "text": cut(line, SECTION_LIMIT)}]}], cut(line, LINE_LIMIT))


def escalation_entry(key: str, n: int, escalation: HomeEscalation, catalog: Catalog, tz: ZoneInfo) -> Entry:
    line = catalog.t("home.escalation_line", owner=esc_cut(escalation.owner, FIELD_LIMIT), level=escalation.level, at=fmt_time(escalation.sent_at, tz))
    return Entry([{"type": "context", "block_id": f"{key}-{n}", "elements": [{"type": "mrkdwn", "text": cut(line, SECTION_LIMIT)}]}], cut(line, LINE_LIMIT))


_REPORT_STATE_KEYS = {
    ReportState.WAITING: "home.report_waiting", ReportState.HELD: "home.report_held",
    ReportState.KEPT: "home.report_kept", ReportState.DROPPED: "home.report_dropped",
}


def report_entry(key: str, report: HomeReport, catalog: Catalog, tz: ZoneInfo, *, buttons: bool) -> Entry:
    """A legitimate-rejection report: what, who, when, where it stands, the
    note as typed (CS sees full records, as in the review DM; the channel
    masks it); a held record's Keep / Drop (the review DM's buttons)."""
    owner = catalog.t("home.report_for_owner", owner=esc_cut(report.reporter_owner, FIELD_LIMIT)) if report.reporter_owner else ""
    head = catalog.t(
        "home.report_line", order=esc_cut(report.order_no, FIELD_LIMIT), reason=reason_text(report.reason, catalog),
        user=mention(cut(report.reporter, 24)), owner=owner, at=fmt_time(report.created_at, tz),
    )
    state = catalog.t(_REPORT_STATE_KEYS.get(report.state, "home.report_waiting"))
    if report.callback_agent:
        state += " · " + catalog.t("home.report_agent", agent=esc_cut(report.callback_agent, FIELD_LIMIT))
    note = " ".join((report.note or "").split())
    text = f"{head}\n{state}" + (f"\n> {esc_cut(note, NOTE_SHOWN)}" if note else "")
    blocks = [{"type": "section", "block_id": f"report-{report.id}", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}]
    if buttons and report.state == ReportState.HELD:
        value = str(report.id)
        blocks.append({
            "type": "actions",
            "block_id": f"reported-{report.id}",
            "elements": [
                {"type": "button", "action_id": ActionId.REPORT_KEEP, "style": "primary", "value": value,
                 "text": {"type": "plain_text", "text": catalog.t("reports.button_keep")}},
                {"type": "button", "action_id": ActionId.REPORT_DROP, "style": "danger", "value": value,
                 "text": {"type": "plain_text", "text": catalog.t("reports.button_drop")}},
            ],
        })
    return Entry(_ids(blocks, key), cut(f"{head} — {state}", LINE_LIMIT))


# --- the month so far ---------------------------------------------------------------------


def owner_month_line(owner: str, figures: OwnerFigures | None, catalog: Catalog) -> str:
    if figures is None:
        return catalog.t("home.month_owner_none", owner=esc(owner))
    c = figures.counts
    line = catalog.t(
        "home.month_owner", owner=esc(owner), posted=c.posted, mistaken=c.mistaken, open=c.open, disputed=c.disputed,
        upheld=c.upheld, fixed=c.fixed, fixed_in_window=c.fixed_in_window, escalations=c.escalations,
    )
    if figures.penalty is not None:
        line += " · " + catalog.t("home.month_penalty", amount=figures.penalty)
    return line


def agent_month_line(agent: str, figures: AgentFigures | None, catalog: Catalog) -> str:
    name = esc(agent) if agent.strip() else catalog.t("monthly.agent_unknown")
    if figures is None or figures.posted == 0:
        return catalog.t("home.month_agent_none", agent=name, penalty=figures.penalty if figures else 0)
    accuracy = round(100 * (figures.posted - figures.upheld) / figures.posted)
    return catalog.t(
        "home.month_agent", agent=name, posted=figures.posted, disputed=figures.disputed, upheld=figures.upheld,
        accuracy=accuracy, penalty=figures.penalty, voided=figures.voided,
    )


def _agent(figures: MonthFigures | None, name: str) -> AgentFigures | None:
    if figures is None:
        return None
    return next((a for a in figures.agents if a.agent == name), None)


# --- the sections of one person's Home -----------------------------------------------------


def sections_for(user: str, data: HomeData, routing: Routing, catalog: Catalog, tz: ZoneInfo) -> list[Section]:
    """Every section ``user`` sees, in order, each with the entries of its
    list that ``data`` holds and the list's total (``allocate`` trims them)."""
    roles = roles_of(user, routing, data.stand_ins)
    lists = data.lists if data.lists is not None else item_lists(list_queries(roles), data.items, routing)

    def of(key: str) -> ItemList:
        return lists.get(key, ItemList())

    figures = data.figures
    now = data.now
    sections: list[Section] = []
    cs = roles.lead or bool(roles.agent_names)
    penalty = routing.penalties.cs_wrong_callback

    if roles.owners:
        names = ", ".join(esc(o.name) for o in roles.owners)
        awaiting = of(ListKey.AWAITING)
        several = len(roles.owners) > 1
        sections.append(Section(
            "awaiting", catalog.t("home.title_awaiting", count=awaiting.total), [catalog.t("home.for_owners", owners=names)],
            [awaiting_entry("aw", i, owner_of(i, routing) if several else None, catalog, tz, now=now, buttons=True, full=cs) for i in awaiting.items],
            catalog.t("home.none_awaiting"), awaiting.total,
        ))
        unfixed = of(ListKey.UNFIXED)
        sections.append(Section(
            "unfixed", catalog.t("home.title_unfixed", count=unfixed.total), [],
            [unfixed_entry("uf", i, None, catalog, tz, buttons=True, full=cs) for i in unfixed.items], catalog.t("home.none_unfixed"),
            unfixed.total,
        ))
        sections.append(Section("month", catalog.t("home.title_month"), [
            owner_month_line(o.name, figures.owner(o.name) if figures else None, catalog) for o in roles.owners
        ]))

    if roles.managed:
        names = ", ".join(esc(o.name) for o in roles.managed)
        team = of(ListKey.TEAM)
        sections.append(Section(
            "team", catalog.t("home.title_team", count=team.total), [catalog.t("home.for_owners", owners=names)],
            [awaiting_entry("tm", i, owner_of(i, routing), catalog, tz, now=now, buttons=True, full=False) for i in team.items],
            catalog.t("home.none_team"), team.total,
        ))
        mine = [e for e in data.escalations if e.recipient == user]
        sections.append(Section(
            "escalations", catalog.t("home.title_escalations", count=len(mine)), [],
            [escalation_entry("es", n, e, catalog, tz) for n, e in enumerate(sorted(mine, key=lambda e: e.sent_at, reverse=True))],
            catalog.t("home.none_escalations"),
        ))
        sections.append(Section("team_month", catalog.t("home.title_team_month"), [
            owner_month_line(o.name, figures.owner(o.name) if figures else None, catalog) for o in roles.managed
        ]))

    if roles.agent_names:
        disputes = of(ListKey.DISPUTES)
        sections.append(Section(
            "disputes", catalog.t("home.title_disputes", count=disputes.total), [],
            [dispute_entry("dp", i, owner_of(i, routing), catalog, tz, penalty=penalty) for i in disputes.items],
            catalog.t("home.none_disputes"), disputes.total,
        ))
        held = [r for r in data.reports if r.state == ReportState.HELD and (r.callback_agent or "").strip() in roles.agent_names]
        sections.append(Section(
            "reports", catalog.t("home.title_reports", count=len(held)), [catalog.t("home.reports_held")],
            [report_entry("rp", r, catalog, tz, buttons=True) for r in held], catalog.t("home.none_held_reports"),
        ))
        sections.append(Section("accuracy", catalog.t("home.title_accuracy"), [
            agent_month_line(name, _agent(figures, name), catalog) for name in roles.agent_names
        ]))

    if roles.lead:
        all_disputes = of(ListKey.ALL_DISPUTES)
        sections.append(Section(
            "all_disputes", catalog.t("home.title_all_disputes", count=all_disputes.total), [],
            [dispute_entry("ad", i, owner_of(i, routing), catalog, tz, penalty=penalty) for i in all_disputes.items],
            catalog.t("home.none_disputes"), all_disputes.total,
        ))
        sections.append(Section(
            "letters", catalog.t("home.title_letters", count=len(data.letters)), [],
            [letter_entry("lt", letter, catalog, tz) for letter in data.letters], catalog.t("home.none_letters"),
        ))
        sections.append(Section(
            "all_reports", catalog.t("home.title_reports", count=len(data.reports)), [catalog.t("home.reports_recent", days=REPORT_DAYS)],
            [report_entry("ar", r, catalog, tz, buttons=True) for r in data.reports], catalog.t("home.none_reports", days=REPORT_DAYS),
        ))
        all_awaiting = of(ListKey.ALL_AWAITING)
        sections.append(Section(
            "all_awaiting", catalog.t("home.title_all_awaiting", count=all_awaiting.total), [],
            [awaiting_entry("aa", i, owner_of(i, routing), catalog, tz, now=now, buttons=False, full=True) for i in all_awaiting.items],
            catalog.t("home.none_awaiting"), all_awaiting.total,
        ))
        all_unfixed = of(ListKey.ALL_UNFIXED)
        sections.append(Section(
            "all_unfixed", catalog.t("home.title_all_unfixed", count=all_unfixed.total), [],
            [unfixed_entry("au", i, owner_of(i, routing), catalog, tz, buttons=False, full=True) for i in all_unfixed.items],
            catalog.t("home.none_unfixed"), all_unfixed.total,
        ))
        unrouted = of(ListKey.UNROUTED)
        sections.append(Section(
            "unrouted", catalog.t("home.title_unrouted", count=unrouted.total), [],
            [unrouted_entry("ur", i, catalog) for i in unrouted.items], catalog.t("home.none_unrouted"), unrouted.total,
        ))
        sections.append(Section(
            "failed", catalog.t("home.title_failed", count=len(data.failed)), [],
            [failed_entry("fs", n, f, catalog, tz) for n, f in enumerate(data.failed)], catalog.t("home.none_failed"),
        ))
        month = [catalog.t("home.month_totals", posted=figures.totals.posted, mistaken=figures.totals.mistaken, open=figures.totals.open,
                           disputed=figures.totals.disputed, upheld=figures.totals.upheld, fixed=figures.totals.fixed)] if figures else []
        month += [owner_month_line(o.owner, o, catalog) for o in (figures.owners if figures else ())]
        month += [agent_month_line(a.agent, a, catalog) for a in (figures.agents if figures else ())]
        sections.append(Section("all_month", catalog.t("home.title_all_month"), month or [catalog.t("home.month_empty")]))
        sections.append(Section("calendar", catalog.t("home.title_calendar"), list(data.calendar) or [catalog.t("home.month_empty")]))

    if not roles.any:
        sections.append(Section("welcome", catalog.t("home.title_welcome"), [catalog.t("home.no_role")]))
    return sections


# --- fitting the blocks ------------------------------------------------------------------------


def allocate(sections: Sequence[Section], budget: int) -> list[int]:
    """How many entries of each section fit in ``budget`` blocks: the headings
    first, then one entry per section in turn; a section not shown whole
    keeps a block for its "and N more" line."""
    shown = [0] * len(sections)
    used = sum(s.fixed_blocks() for s in sections) + sum(1 for s in sections if s.entries)  # every list starts cut
    progress = True
    while progress:
        progress = False
        for n, section in enumerate(sections):
            if shown[n] >= len(section.entries):
                continue
            cost = len(section.entries[shown[n]].blocks)
            if shown[n] + 1 == section.size:
                cost -= 1  # shown whole: no "more" line
            if used + cost <= budget:
                used += cost
                shown[n] += 1
                progress = True
    return shown


def _more_block(section: Section, hidden: int, catalog: Catalog) -> dict:
    return {
        "type": "section",
        "block_id": f"more-{section.key}",
        "text": {"type": "mrkdwn", "text": catalog.t("home.more", count=hidden)},
        "accessory": {
            "type": "button", "action_id": ActionId.HOME_MORE, "value": section.key,
            "text": {"type": "plain_text", "text": catalog.t("home.show_all")},
        },
    }


def _lines_block(block_id: str, lines: Sequence[str]) -> dict:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": cut("\n".join(lines), SECTION_LIMIT)}]}


def home_view(user: str, data: HomeData, routing: Routing, catalog: Catalog, tz: ZoneInfo) -> dict:
    """``user``'s Home tab: at most ``MAX_BLOCKS`` blocks."""
    sections = sections_for(user, data, routing, catalog, tz)
    shown = allocate(sections, MAX_BLOCKS)
    blocks: list[dict] = []
    for section, count in zip(sections, shown, strict=True):
        blocks.append({"type": "header", "block_id": f"head-{section.key}", "text": {"type": "plain_text", "text": cut(section.title, HEADER_LIMIT)}})
        if section.summary:
            blocks.append(_lines_block(f"sum-{section.key}", section.summary))
        if not section.size and section.empty is not None:
            blocks.append(_lines_block(f"empty-{section.key}", [section.empty]))
        for entry in section.entries[:count]:
            blocks.extend(entry.blocks)
        if count < section.size:
            blocks.append(_more_block(section, section.size - count, catalog))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def view_hash(view: dict) -> str:
    """What the view shows, as a SHA-256: the same facts give the same hash."""
    return hashlib.sha256(json.dumps(view, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def section_modal(section: Section | None, catalog: Catalog) -> dict:
    """The whole list of one section (the "and N more" button), as text; a
    section gone meanwhile says so. Within a modal's 100 blocks, after which
    it points to ``/reject find``."""
    title = cut(section.title if section else catalog.t("home.title_welcome"), MODAL_TITLE_LIMIT)
    lines = [e.line for e in section.entries] if section else []
    chunks: list[list[str]] = []
    size = 0
    for line in lines:
        if not chunks or size + len(line) + 1 > SECTION_LIMIT:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    kept = chunks[: MODAL_BLOCKS - 1]  # one block left for the "more" line
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}} for chunk in kept]
    shown = sum(len(chunk) for chunk in kept)
    if not lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": catalog.t("home.modal_empty")}})
    elif shown < section.size:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": catalog.t("home.modal_more", count=section.size - shown)}]})
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": catalog.t("modals.cancel")},
        "blocks": blocks,
    }


def find_section(sections: Sequence[Section], key: str) -> Section | None:
    return next((s for s in sections if s.key == key), None)
