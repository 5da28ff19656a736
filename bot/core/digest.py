"""The daily digest: who gets which items, how they split into messages, and
what each message looks like (Block Kit as plain dicts); and the messages of
a dispute's re-verification by CS (``review_message`` and its replies).

Layout: every item takes two blocks — a section with its facts and, below
it, either its buttons (while it waits for an answer) or a line saying who
did what (with a Fix button while a confirmed item awaits its remedy, and
the remedy once it is fixed). A message holds at most ``MAX_BLOCKS``
blocks, so an owner's first message carries ``ITEMS_FIRST_PAGE`` items
after its two heading blocks and each continuation (in the first message's
thread) ``ITEMS_PER_PAGE`` after its one. With two blocks an item, no layout
sends fewer messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.lifecycle import Action, Status
from bot.core.masking import mask_customer, mask_phone
from bot.core.routing import Owner, Routing
from bot.core.text import cut, esc, esc_cut, fmt_time, mention
from bot.i18n import Catalog
from bot.ids import ActionId

MAX_BLOCKS = 50  # Slack: blocks per message
MAX_SECTION_TEXT = 3000  # Slack: characters per section text
BLOCKS_PER_ITEM = 2
HEAD_BLOCKS_FIRST = 2
HEAD_BLOCKS_CONTINUATION = 1
ITEMS_FIRST_PAGE = (MAX_BLOCKS - HEAD_BLOCKS_FIRST) // BLOCKS_PER_ITEM
ITEMS_PER_PAGE = (MAX_BLOCKS - HEAD_BLOCKS_CONTINUATION) // BLOCKS_PER_ITEM
NOTE_LIMIT = 1200  # a callback note longer than this is cut in the channel
FIELD_LIMIT = 200  # branch, agent, customer
FIX_NOTE_LIMIT = 500  # the remedy, under a fixed item
REASON_LIMIT = 1500  # a dispute's reason or an overrule's evidence, in messages
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


def paginate(items: Sequence) -> list[Sequence]:
    """Split an owner's items into message pages: the fewest the block limit allows."""
    pages = [items[:ITEMS_FIRST_PAGE]]
    rest = items[ITEMS_FIRST_PAGE:]
    while rest:
        pages.append(rest[:ITEMS_PER_PAGE])
        rest = rest[ITEMS_PER_PAGE:]
    return pages


def page_count(n_items: int) -> int:
    if n_items <= ITEMS_FIRST_PAGE:
        return 1
    return 1 + -(-(n_items - ITEMS_FIRST_PAGE) // ITEMS_PER_PAGE)


# --- rendering ---------------------------------------------------------------







def item_text(item: ItemFacts, catalog: Catalog, *, full: bool = False) -> str:
    """The item's facts. ``full`` shows the customer and the callback note
    unmasked: only for messages to CS or the owner, never the channel."""
    scenario = catalog.t(f"digest.scenario_{item.scenario}") if item.scenario else ""
    head = " · ".join(
        p
        for p in (
            f"*{esc(item.order_no)}*",
            esc_cut(item.branch, FIELD_LIMIT),
            catalog.t(f"digest.category_{item.category}"),
            scenario,
        )
        if p
    )
    lines = [head]
    if item.note:
        note = " ".join(item.note.split())  # one quoted line, whatever the export held
        lines.append("> " + esc_cut(note if full else mask_phone(note), NOTE_LIMIT))
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
            "digest.state_by", state=text, user=mention(item.last_actor),
            at=fmt_time(item.updated_at, tz), surface=surface,
        )
    return text



def item_blocks(item: ItemFacts, catalog: Catalog, tz: ZoneInfo) -> list[dict]:
    section = {
        "type": "section",
        "block_id": f"item-{item.id}",
        "text": {"type": "mrkdwn", "text": cut(item_text(item, catalog), MAX_SECTION_TEXT)},
    }
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
        if fix_note:
            text += "\n" + catalog.t("digest.fix_shown", note=esc_cut(" ".join(fix_note.split()), FIX_NOTE_LIMIT))
        second = {
            "type": "context",
            "block_id": f"state-{item.id}",
            "elements": [{"type": "mrkdwn", "text": text}],
        }
    return [section, second]


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


def digest_message(ctx: PageContext, items: Sequence[ItemFacts], catalog: Catalog, tz: ZoneInfo) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of one digest message."""
    deadline = fmt_time(ctx.deadline, tz)
    if ctx.page == 0:
        title = catalog.t(
            "digest.title", day=ctx.digest_day.isoformat(), owner=esc(ctx.owner.name),
            mention=mention(ctx.owner.user), count=ctx.total_items, deadline=deadline,
        )
        if ctx.pages > 1:
            title += "\n" + catalog.t("digest.more_in_thread", pages=ctx.pages)
        if ctx.late:
            title += "\n" + catalog.t("digest.late")
        if ctx.copied:
            title += "\n" + catalog.t("digest.copied", managers=" ".join(map(mention, ctx.copied)))
        head = [
            {"type": "section", "block_id": "head", "text": {"type": "mrkdwn", "text": title}},
            {"type": "context", "block_id": "howto", "elements": [{"type": "mrkdwn", "text": catalog.t("digest.howto", deadline=deadline, minutes=ctx.undo_minutes)}]},
        ]
        fallback = catalog.t(
            "digest.fallback", day=ctx.digest_day.isoformat(), owner=esc(ctx.owner.name),
            count=ctx.total_items, open=ctx.open_items, deadline=deadline,
        )
    else:
        head = [
            {"type": "context", "block_id": "head", "elements": [{"type": "mrkdwn", "text": catalog.t("digest.continuation", owner=esc(ctx.owner.name), page=ctx.page + 1, pages=ctx.pages, deadline=deadline)}]},
        ]
        fallback = catalog.t("digest.continuation", owner=esc(ctx.owner.name), page=ctx.page + 1, pages=ctx.pages, deadline=deadline)
    blocks = head + [b for item in items for b in item_blocks(item, catalog, tz)]
    return fallback, blocks


def unrouted_message(items: Sequence[ItemFacts], digest_day: date, catalog: Catalog) -> str:
    """The DM to the CS lead about records no owner covers (plain text)."""
    lines = [catalog.t("digest.unrouted_title", day=digest_day.isoformat(), count=len(items))]
    shown = items[:100]
    for item in shown:
        lines.append(
            catalog.t(
                "digest.unrouted_line", order=esc_cut(item.order_no, FIELD_LIMIT),
                category=catalog.t(f"digest.category_{item.category}"), branch=esc_cut(item.branch, FIELD_LIMIT),
            )
        )
    if len(items) > len(shown):
        lines.append(catalog.t("digest.unrouted_more", count=len(items) - len(shown)))
    lines.append(catalog.t("digest.unrouted_hint"))
    return "\n".join(lines)


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
        "review.title", order=esc(item.order_no), owner=esc(facts.owner), mention=mention(facts.owner_user),
    )
    dispute = catalog.t(
        "review.disputed", user=mention(facts.disputed_by), at=fmt_time(facts.disputed_at, tz),
        reason=_quote(facts.reason),
    )
    blocks: list[dict] = [
        {"type": "section", "block_id": "review-head", "text": {"type": "mrkdwn", "text": title}},
        {"type": "section", "block_id": f"item-{item.id}", "text": {"type": "mrkdwn", "text": cut(item_text(item, catalog, full=True), MAX_SECTION_TEXT)}},
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
    """The reply in the owner's digest thread: the dispute went back to CS."""
    return catalog.t(
        "review.thread_disputed", order=esc(facts.item.order_no), user=mention(facts.disputed_by),
        reason=_quote(facts.reason), reviewer=mention(facts.reviewer),
    )


def resolved_thread_text(facts: ReviewFacts, resolution: Resolution, catalog: Catalog) -> str:
    """The reply in the owner's digest thread once CS resolved the dispute:
    an overrule names its evidence."""
    params = {"mention": mention(facts.owner_user), "order": esc(facts.item.order_no), "user": mention(resolution.actor)}
    if resolution.action is Action.OVERRULE:
        return catalog.t("review.thread_overruled", evidence=_quote(resolution.note), **params)
    return catalog.t("review.thread_upheld", **params)


def penalty_notice(facts: ReviewFacts, resolution: Resolution, catalog: Catalog) -> str:
    """The DM to the callback agent (or the CS lead) when an uphold booked a penalty."""
    return catalog.t(
        "review.penalty_dm", order=esc(facts.item.order_no), user=mention(resolution.actor),
        amount=resolution.penalty if resolution.penalty is not None else 0,
        agent=esc_cut(facts.item.callback_agent, FIELD_LIMIT) or "—",
    )


def _quote(text: str) -> str:
    """A person's free text as one escaped, bounded line."""
    return esc_cut(" ".join((text or "").split()), REASON_LIMIT) or "—"
