"""The daily digest: who gets which items, how they split into messages, and
what each message looks like (Block Kit as plain dicts); and the messages of
a dispute's re-verification by CS (``review_message`` and its replies).

Layout: every item takes two blocks — a section with its facts and, below
it, either its buttons (while it waits for an answer) or a line saying who
did what (with a Fix button while a confirmed item awaits its remedy, and
the remedy once it is fixed). A message holds at most ``MAX_BLOCKS``
blocks, so an owner's first message carries at most ``ITEMS_FIRST_PAGE``
items after its two heading blocks and each continuation (in the first
message's thread) at most ``ITEMS_PER_PAGE`` after its one.

A message's text is budgeted too (``MESSAGE_TEXT_BUDGET``, under Slack's
undocumented ~11,000 characters of block text): ``paginate`` closes a page
before its text could pass the budget, counting each item's facts as shown
and, for the line under it and the page's head, the longest either can ever
become (any state, actor, surface and remedy; late, copied managers; in
every locale). So a page re-rendered later, whatever happened since, still
fits. Callback notes are cut on the page (``NOTE_LIMIT``); ``/reject
status`` shows the full record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.formats import format_money
from bot.core.lifecycle import Action, Status
from bot.core.masking import mask_customer, mask_note
from bot.core.reports import report_shown_line
from bot.core.routing import Owner, Routing
from bot.core.text import MESSAGE_TEXT_BUDGET, block_text_length, cut, esc, esc_cut, fmt_time, join_within, mention, text_size
from bot.i18n import LOCALES, Catalog
from bot.ids import ActionId

MAX_BLOCKS = 50  # Slack: blocks per message
MAX_SECTION_TEXT = 3000  # Slack: characters per section text
BLOCKS_PER_ITEM = 2
HEAD_BLOCKS_FIRST = 2
HEAD_BLOCKS_CONTINUATION = 1
ITEMS_FIRST_PAGE = (MAX_BLOCKS - HEAD_BLOCKS_FIRST) // BLOCKS_PER_ITEM
ITEMS_PER_PAGE = (MAX_BLOCKS - HEAD_BLOCKS_CONTINUATION) // BLOCKS_PER_ITEM
NOTE_LIMIT = 300  # a callback note longer than this is cut in the channel (full: /reject status)
REVIEW_NOTE_LIMIT = 1200  # ... and in the review DM to CS
FIELD_LIMIT = 200  # branch, agent, customer, owner name
FIX_NOTE_LIMIT = 120  # the remedy, under a fixed item
USER_LIMIT = 24  # a user shown as a mention (a Slack ID is shorter)
OWNER_LIMIT = 60  # an owner's name in a page's head
COPIED_SHOWN = 5  # managers named as copied on a first page
REASON_LIMIT = 1500  # a dispute's reason or an overrule's evidence, in messages
UNROUTED_SHOWN = 100  # records listed in the CS lead's DM; the rest are counted
AWAITING_FIX = frozenset({Status.CONFIRMED, Status.DEEMED_CONFIRMED})


class ItemFacts(Protocol):
    """What the digest reads of an item (``storage.models.Item`` has it)."""

    id: int | None
    order_no: str
    rejected_on: date
    branch: str
    category: str
    scenario: str | None
    customer: str
    callback_agent: str
    note: str
    status: str
    last_actor: str | None
    last_surface: str | None
    updated_at: datetime
    # Optional: ``fix_note``, the remedy recorded for a fixed item (read only
    # when the item is fixed; ``storage.models.Item`` loads it for the digest).


@dataclass
class Plan:
    """Items grouped by owner (file order), and the ones no owner covers."""

    by_owner: dict[str, list] = field(default_factory=dict)
    unrouted: list = field(default_factory=list)


def build_digest(items: Iterable[ItemFacts], routing: Routing) -> Plan:
    plan = Plan()
    for owner in routing.owners:
        plan.by_owner[owner.name] = []
    for item in items:
        owner = routing.owner_for(item.category, item.branch)
        if owner is None:
            plan.unrouted.append(item)
        else:
            plan.by_owner[owner.name].append(item)
    plan.by_owner = {name: sorted(its, key=_order) for name, its in plan.by_owner.items() if its}
    plan.unrouted.sort(key=_order)
    return plan


def _order(item: ItemFacts) -> tuple:
    return (item.rejected_on, item.branch, item.order_no)


def paginate(items: Sequence[ItemFacts], catalogs: Sequence[Catalog] | None = None) -> list[Sequence[ItemFacts]]:
    """Split an owner's items into message pages, in order: each page as full
    as the block limit and the text budget allow, in every locale of
    ``catalogs`` (default: all) and whatever the items' state becomes."""
    catalogs = list(catalogs) if catalogs is not None else [Catalog(locale) for locale in LOCALES]
    pages: list[Sequence[ItemFacts]] = []
    start = 0
    while start < len(items) or not pages:
        first = not pages
        room = [MESSAGE_TEXT_BUDGET - _head_worst(c, first=first) for c in catalogs]
        end = start
        limit = ITEMS_FIRST_PAGE if first else ITEMS_PER_PAGE
        while end < len(items) and end - start < limit:
            costs = [item_cost(items[end], c) for c in catalogs]
            if end > start and any(cost > left for cost, left in zip(costs, room, strict=True)):
                break
            room = [left - cost for cost, left in zip(costs, room, strict=True)]
            end += 1
        pages.append(items[start:end])
        start = end
    return pages


def page_count(n_items: int) -> int:
    """The fewest pages the block limit allows for ``n_items``: a lower bound
    for the tests and benchmarks to check ``paginate`` against (pages with
    long text need more). The digest itself pages with ``paginate``."""
    if n_items <= ITEMS_FIRST_PAGE:
        return 1
    return 1 + -(-(n_items - ITEMS_FIRST_PAGE) // ITEMS_PER_PAGE)


def item_cost(item: ItemFacts, catalog: Catalog) -> int:
    """The most text the item can ever take on a page: its facts as shown,
    and the longest line that can stand under them."""
    return text_size(_section_text(item, catalog, NOTE_LIMIT)) + _state_worst(catalog)


_STATE_WORST: dict[str, int] = {}
_HEAD_WORST: dict[tuple[str, bool], int] = {}
_WORST_USER = "U" + "W" * (USER_LIMIT - 1)


def _state_worst(catalog: Catalog) -> int:
    """The longest line under an item, over every state, actor and surface."""
    if catalog.locale not in _STATE_WORST:
        from bot.core.lifecycle import Surface  # the surfaces an actor can use

        worst = 0
        for status in Status:
            for surface in [None, *Surface]:
                item = _Worst(status=str(status), last_actor=_WORST_USER, last_surface=surface and str(surface))
                worst = max(worst, block_text_length(state_block(item, catalog, _UTC)))
        _STATE_WORST[catalog.locale] = worst
    return _STATE_WORST[catalog.locale]


def _head_worst(catalog: Catalog, *, first: bool) -> int:
    """The longest head a page can have (a long owner name, late, copied
    managers, many pages)."""
    key = (catalog.locale, first)
    if key not in _HEAD_WORST:
        owner = Owner(name="W" * OWNER_LIMIT, user=_WORST_USER, categories=())
        ctx = PageContext(
            owner=owner, digest_day=date(2026, 12, 31), deadline=datetime(2026, 12, 31, tzinfo=_UTC),
            page=0 if first else 99_998, pages=99_999, late=True, total_items=9_999_999,
            open_items=9_999_999, copied=(_WORST_USER,) * COPIED_SHOWN, undo_minutes=99_999, assumed_years=(9_998, 9_999),
        )
        _HEAD_WORST[key] = block_text_length(_head(ctx, catalog, _UTC)[1])
    return _HEAD_WORST[key]


@dataclass
class _Worst:
    """An item whose state line is as long as it can be (for budgeting)."""

    status: str
    last_actor: str
    last_surface: str | None
    id: int = 999_999_999
    fix_note: str = "W" * (FIX_NOTE_LIMIT * 2)
    updated_at: datetime = datetime(2026, 12, 31, tzinfo=ZoneInfo("UTC"))


_UTC = ZoneInfo("UTC")


# --- rendering ---------------------------------------------------------------


def item_text(item: ItemFacts, catalog: Catalog, *, full: bool = False, note_limit: int = NOTE_LIMIT) -> str:
    """The item's facts, the callback note cut to ``note_limit``. ``full``
    shows the customer and the callback note unmasked: only for messages to
    CS or the owner, never the channel."""
    scenario = catalog.t(f"digest.scenario_{item.scenario}") if item.scenario else ""
    head = " · ".join(
        p
        for p in (
            f"*{esc_cut(item.order_no, FIELD_LIMIT)}*",
            esc_cut(item.branch, FIELD_LIMIT),
            catalog.t(f"digest.category_{item.category}"),
            scenario,
        )
        if p
    )
    lines = [head]
    if item.note and note_limit > 0:
        note = " ".join(item.note.split())  # one quoted line, whatever the export held
        if not full:  # mask only what can show: masking never more than halves a stretch
            note = mask_note(note[: 2 * note_limit + 64], item.customer)
        lines.append("> " + esc_cut(note, note_limit))
    report = getattr(item, "report_shown", None)
    if report and (shown := report_shown_line(report, customer=item.customer, catalog=catalog)):
        lines.append(shown)  # a record someone reported as a legitimate rejection, kept by CS: the report beside it
    customer = item.customer if full else mask_customer(item.customer)
    lines.append(
        catalog.t(
            "digest.item_facts",
            customer=esc_cut(customer, FIELD_LIMIT) or "—",
            agent=esc_cut(item.callback_agent, FIELD_LIMIT) or "—",
            rejected_on=item.rejected_on.isoformat(),
        )
    )
    return "\n".join(lines)


def item_state_text(item: ItemFacts, catalog: Catalog, tz: ZoneInfo) -> str:
    status = Status(item.status)
    text = catalog.t(f"status.{status}")
    if item.last_actor:
        surface = catalog.t(f"surface.{item.last_surface}") if item.last_surface else ""
        text = catalog.t(
            "digest.state_by", state=text, user=mention(cut(item.last_actor, USER_LIMIT)),
            at=fmt_time(item.updated_at, tz), surface=surface,
        )
    return text

def _section_text(item: ItemFacts, catalog: Catalog, note_limit: int) -> str:
    return cut(item_text(item, catalog, note_limit=note_limit), MAX_SECTION_TEXT)


def item_blocks(item: ItemFacts, catalog: Catalog, tz: ZoneInfo, *, note_limit: int = NOTE_LIMIT) -> list[dict]:
    section = {
        "type": "section",
        "block_id": f"item-{item.id}",
        "text": {"type": "mrkdwn", "text": _section_text(item, catalog, note_limit)},
    }
    return [section, state_block(item, catalog, tz)]


def state_block(item: ItemFacts, catalog: Catalog, tz: ZoneInfo) -> dict:
    """The block under an item: its buttons while it awaits an answer, else
    who did what (with a Fix button while a fix is due, the remedy once fixed)."""
    if Status(item.status) is Status.AWAITING:
        second = {
            "type": "actions",
            "block_id": f"act-{item.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ActionId.CONFIRM,
                    "text": {"type": "plain_text", "text": catalog.t("digest.button_confirm")},
                    "style": "primary",
                    "value": str(item.id),
                },
                {
                    "type": "button",
                    "action_id": ActionId.DISPUTE,
                    "text": {"type": "plain_text", "text": catalog.t("digest.button_dispute")},
                    "value": str(item.id),
                },
            ],
        }
    elif Status(item.status) in AWAITING_FIX:
        second = {
            "type": "section",
            "block_id": f"state-{item.id}",
            "text": {"type": "mrkdwn", "text": item_state_text(item, catalog, tz)},
            "accessory": {
                "type": "button",
                "action_id": ActionId.FIX,
                "text": {"type": "plain_text", "text": catalog.t("digest.button_fix")},
                "value": str(item.id),
            },
        }
    else:
        text = item_state_text(item, catalog, tz)
        fix_note = getattr(item, "fix_note", "") if Status(item.status) is Status.FIXED else ""
        if fix_note:  # the owner's words may name the customer: masked like the callback note
            fix_note = mask_note(" ".join(fix_note.split())[: 2 * FIX_NOTE_LIMIT + 64], getattr(item, "customer", ""))
            text += "\n" + catalog.t("digest.fix_shown", note=esc_cut(fix_note, FIX_NOTE_LIMIT))
        second = {
            "type": "context",
            "block_id": f"state-{item.id}",
            "elements": [{"type": "mrkdwn", "text": text}],
        }
    return second


@dataclass(frozen=True, slots=True)
class PageContext:
    """What a digest message says besides its items."""

    owner: Owner
    digest_day: date
    deadline: datetime
    page: int
    pages: int
    late: bool = False
    total_items: int = 0
    open_items: int = 0
    copied: tuple[str, ...] = ()  # escalated managers to mention
    undo_minutes: int = 5
    assumed_years: tuple[int, ...] = ()  # years of the day or deadline run on assumed Monday–Friday: said in the footer


def digest_message(ctx: PageContext, items: Sequence[ItemFacts], catalog: Catalog, tz: ZoneInfo) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of one digest message. Pages from ``paginate``
    fit the text budget whatever their items' state; should the items' facts
    have grown since (a page of other making), notes are cut shorter until
    the page fits."""
    fallback, head = _head(ctx, catalog, tz)
    for note_limit in (NOTE_LIMIT, NOTE_LIMIT // 3, 0):
        blocks = head + [b for item in items for b in item_blocks(item, catalog, tz, note_limit=note_limit)]
        if block_text_length(blocks) <= MESSAGE_TEXT_BUDGET:
            break
    return fallback, blocks


def _head(ctx: PageContext, catalog: Catalog, tz: ZoneInfo) -> tuple[str, list[dict]]:
    """(fallback text, head blocks) of a digest message."""
    deadline = fmt_time(ctx.deadline, tz)
    owner_name = esc_cut(ctx.owner.name, OWNER_LIMIT)
    if ctx.page == 0:
        title = catalog.t(
            "digest.title", day=ctx.digest_day.isoformat(), owner=owner_name,
            mention=mention(cut(ctx.owner.user, USER_LIMIT)), count=ctx.total_items, deadline=deadline,
        )
        if ctx.pages > 1:
            title += "\n" + catalog.t("digest.more_in_thread", pages=ctx.pages)
        if ctx.late:
            title += "\n" + catalog.t("digest.late")
        if ctx.copied:
            managers = " ".join(mention(cut(u, USER_LIMIT)) for u in ctx.copied[:COPIED_SHOWN])
            if len(ctx.copied) > COPIED_SHOWN:
                managers += " …"
            title += "\n" + catalog.t("digest.copied", managers=managers)
        head = [
            {"type": "section", "block_id": "head", "text": {"type": "mrkdwn", "text": title}},
            {"type": "context", "block_id": "howto", "elements": [
                {"type": "mrkdwn", "text": catalog.t("digest.howto", deadline=deadline, minutes=ctx.undo_minutes)}, *_calendar_note(ctx, catalog),
            ]},
        ]
        fallback = catalog.t(
            "digest.fallback", day=ctx.digest_day.isoformat(), owner=owner_name,
            count=ctx.total_items, open=ctx.open_items, deadline=deadline,
        )
    else:
        fallback = catalog.t("digest.continuation", owner=owner_name, page=ctx.page + 1, pages=ctx.pages, deadline=deadline)
        head = [{"type": "context", "block_id": "head", "elements": [{"type": "mrkdwn", "text": fallback}, *_calendar_note(ctx, catalog)]}]
    return fallback, head


def _calendar_note(ctx: PageContext, catalog: Catalog) -> list[dict]:
    """A line of the page's context block (no block of its own: a full page
    has none to spare), only while a year of the page runs on assumed
    Monday–Friday."""
    if not ctx.assumed_years:
        return []
    years = ", ".join(str(y) for y in ctx.assumed_years)
    return [{"type": "mrkdwn", "text": catalog.t("calendar.assumed_footer", years=years)}]


def unrouted_message(items: Sequence[ItemFacts], digest_day: date, catalog: Catalog) -> str:
    """The DM to the CS lead about records no owner covers (plain text,
    within the message budget: the first records, then how many more)."""
    title = catalog.t("digest.unrouted_title", day=digest_day.isoformat(), count=len(items))
    hint = catalog.t("digest.unrouted_hint")
    lines = [
        catalog.t(
            "digest.unrouted_line", order=esc_cut(item.order_no, FIELD_LIMIT),
            category=catalog.t(f"digest.category_{item.category}"), branch=esc_cut(item.branch, FIELD_LIMIT),
        )
        for item in items[:UNROUTED_SHOWN]
    ]
    budget = MESSAGE_TEXT_BUDGET - text_size(title) - text_size(hint) - 2
    body = join_within(
        lines, budget, lambda n: catalog.t("digest.unrouted_more", count=n), hidden=len(items) - len(lines),
    )
    return "\n".join([title, body, hint])


# --- CS re-verifying a dispute -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """A disputed item going back to CS: what the review message says."""

    item: ItemFacts
    owner: str  # the owner's name
    owner_user: str  # their Slack user ("" when the routing file dropped them)
    disputed_by: str
    disputed_at: datetime
    reason: str
    reviewer: str  # who gets the DM: the callback agent's user, or the CS lead
    agent_known: bool  # False: the callback agent has no Slack user, the DM goes to the CS lead
    penalty: int  # yuan, booked against the callback agent when the dispute is upheld


@dataclass(frozen=True, slots=True)
class Resolution:
    """How CS resolved a dispute."""

    action: Action  # UPHOLD or OVERRULE
    actor: str
    at: datetime
    note: str  # the uphold's note or the overrule's evidence
    penalty: int | None = None  # the amount booked by an uphold; None when nothing was booked


def review_message(facts: ReviewFacts, catalog: Catalog, tz: ZoneInfo, *, resolution: Resolution | None = None) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of the DM asking CS to re-verify a dispute: the
    item's full facts (customer unmasked: it goes to CS only), the owner, the
    reason, and Uphold / Overrule buttons — or, once resolved, what was decided."""
    item = facts.item
    agent = esc_cut(item.callback_agent, FIELD_LIMIT) or "—"
    title = catalog.t(
        "review.title", order=esc_cut(item.order_no, FIELD_LIMIT), owner=esc_cut(facts.owner, FIELD_LIMIT),
        mention=mention(cut(facts.owner_user, USER_LIMIT)),
    )
    dispute = catalog.t(
        "review.disputed", user=mention(facts.disputed_by), at=fmt_time(facts.disputed_at, tz),
        reason=_quote(facts.reason),
    )
    blocks: list[dict] = [
        {"type": "section", "block_id": "review-head", "text": {"type": "mrkdwn", "text": title}},
        {"type": "section", "block_id": f"item-{item.id}", "text": {"type": "mrkdwn", "text": cut(item_text(item, catalog, full=True, note_limit=REVIEW_NOTE_LIMIT), MAX_SECTION_TEXT)}},
        {"type": "section", "block_id": f"dispute-{item.id}", "text": {"type": "mrkdwn", "text": cut(dispute, MAX_SECTION_TEXT)}},
    ]
    if resolution is None:
        hint = catalog.t("review.hint", order=esc(item.order_no), amount=facts.penalty, agent=agent)
        if not facts.agent_known:
            hint += "\n" + catalog.t("review.agent_unknown", agent=agent)
        blocks.append({"type": "context", "block_id": "review-hint", "elements": [{"type": "mrkdwn", "text": hint}]})
        blocks.append(
            {
                "type": "actions",
                "block_id": f"review-act-{item.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ActionId.UPHOLD,
                        "text": {"type": "plain_text", "text": catalog.t("review.button_uphold")},
                        "style": "danger",
                        "value": str(item.id),
                        "confirm": {
                            "title": {"type": "plain_text", "text": catalog.t("review.confirm_title")},
                            "text": {"type": "plain_text", "text": catalog.t("review.confirm_text", amount=facts.penalty, agent=cut(item.callback_agent, 60) or "—")},
                            "confirm": {"type": "plain_text", "text": catalog.t("review.button_uphold")},
                            "deny": {"type": "plain_text", "text": catalog.t("review.confirm_deny")},
                        },
                    },
                    {
                        "type": "button",
                        "action_id": ActionId.OVERRULE,
                        "text": {"type": "plain_text", "text": catalog.t("review.button_overrule")},
                        "style": "primary",
                        "value": str(item.id),
                    },
                ],
            }
        )
        fallback = catalog.t("review.fallback", order=esc(item.order_no), owner=esc(facts.owner))
    else:
        blocks.append(
            {
                "type": "context",
                "block_id": f"review-state-{item.id}",
                "elements": [{"type": "mrkdwn", "text": resolution_text(facts, resolution, catalog, tz)}],
            }
        )
        fallback = resolution_text(facts, resolution, catalog, tz)
    return fallback, blocks


def resolution_text(facts: ReviewFacts, resolution: Resolution, catalog: Catalog, tz: ZoneInfo) -> str:
    """One line: who resolved the dispute, when, how, and with what note."""
    agent = esc_cut(facts.item.callback_agent, FIELD_LIMIT) or "—"
    params = {"user": mention(resolution.actor), "at": fmt_time(resolution.at, tz), "agent": agent}
    if resolution.action is Action.OVERRULE:
        return catalog.t("review.resolved_overrule", evidence=_quote(resolution.note), **params)
    text = catalog.t("review.resolved_uphold", **params)
    if resolution.penalty is not None:
        text += " " + catalog.t("review.penalty_booked", amount=resolution.penalty, agent=agent)
    if resolution.note:
        text += "\n" + catalog.t("review.note", note=_quote(resolution.note))
    return text


def review_thread_text(facts: ReviewFacts, catalog: Catalog) -> str:
    """The reply in the owner's digest thread: the dispute went back to CS
    (the reason masked: the thread is in the channel)."""
    return catalog.t(
        "review.thread_disputed", order=esc(facts.item.order_no), user=mention(facts.disputed_by),
        reason=_quote_masked(facts.reason, facts.item.customer), reviewer=mention(facts.reviewer),
    )


def resolved_thread_text(facts: ReviewFacts, resolution: Resolution, catalog: Catalog) -> str:
    """The reply in the owner's digest thread once CS resolved the dispute:
    an overrule names its evidence (masked: the thread is in the channel)."""
    params = {"mention": mention(facts.owner_user), "order": esc(facts.item.order_no), "user": mention(resolution.actor)}
    if resolution.action is Action.OVERRULE:
        return catalog.t("review.thread_overruled", evidence=_quote_masked(resolution.note, facts.item.customer), **params)
    return catalog.t("review.thread_upheld", **params)


def penalty_notice(facts: ReviewFacts, resolution: Resolution, catalog: Catalog) -> str:
    """The DM to the callback agent (or the CS lead) when an uphold booked a penalty."""
    return catalog.t(
        "review.penalty_dm", order=esc(facts.item.order_no), user=mention(resolution.actor),
        amount=format_money(resolution.penalty if resolution.penalty is not None else 0, catalog),
        agent=esc_cut(facts.item.callback_agent, FIELD_LIMIT) or "—",
    )


def _quote(text: str) -> str:
    """A person's free text as one escaped, bounded line."""
    return esc_cut(" ".join((text or "").split()), REASON_LIMIT) or "—"


def _quote_masked(text: str, customer: str) -> str:
    """``_quote`` for the channel: the customer's name and any phone number masked."""
    return _quote(mask_note(" ".join((text or "").split())[: 2 * REASON_LIMIT + 64], customer))
