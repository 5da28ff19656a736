"""The daily digest: who gets which items, how they split into messages, and
what each message looks like (Block Kit as plain dicts).

Layout: every item takes two blocks — a section with its facts and, below
it, either its buttons (while it waits for an answer) or a line saying who
did what. A message holds at most ``MAX_BLOCKS`` blocks, so an owner's first
message carries ``ITEMS_FIRST_PAGE`` items after its two heading blocks and
each continuation (in the first message's thread) ``ITEMS_PER_PAGE`` after
its one. With two blocks an item, no layout sends fewer messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.lifecycle import Status
from bot.core.masking import mask_customer, mask_phone
from bot.core.routing import Owner, Routing
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


def _cut(text: str, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _esc_cut(text: str, limit: int) -> str:
    """Escape ``text`` and cut it to ``limit`` characters *after* escaping,
    never inside an escape sequence."""
    text = (text or "").strip()
    escaped = _esc(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _ESCAPED.get(ch, ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


def fmt_time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%m-%d %H:%M")


def item_text(item: ItemFacts, catalog: Catalog) -> str:
    scenario = catalog.t(f"digest.scenario_{item.scenario}") if item.scenario else ""
    head = " · ".join(
        p
        for p in (
            f"*{_esc(item.order_no)}*",
            _esc_cut(item.branch, FIELD_LIMIT),
            catalog.t(f"digest.category_{item.category}"),
            scenario,
        )
        if p
    )
    lines = [head]
    if item.note:
        note = " ".join(item.note.split())  # one quoted line, whatever the export held
        lines.append("> " + _esc_cut(mask_phone(note), NOTE_LIMIT))
    lines.append(
        catalog.t(
            "digest.item_facts",
            customer=_esc_cut(mask_customer(item.customer), FIELD_LIMIT) or "—",
            agent=_esc_cut(item.callback_agent, FIELD_LIMIT) or "—",
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
            "digest.state_by", state=text, user=_mention(item.last_actor),
            at=fmt_time(item.updated_at, tz), surface=surface,
        )
    return text


def _mention(user: str) -> str:
    return f"<@{user}>" if user and user[0] in "UW" else user


def item_blocks(item: ItemFacts, catalog: Catalog, tz: ZoneInfo) -> list[dict]:
    section = {
        "type": "section",
        "block_id": f"item-{item.id}",
        "text": {"type": "mrkdwn", "text": _cut(item_text(item, catalog), MAX_SECTION_TEXT)},
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
    else:
        second = {
            "type": "context",
            "block_id": f"state-{item.id}",
            "elements": [{"type": "mrkdwn", "text": item_state_text(item, catalog, tz)}],
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
            "digest.title", day=ctx.digest_day.isoformat(), owner=_esc(ctx.owner.name),
            mention=_mention(ctx.owner.user), count=ctx.total_items, deadline=deadline,
        )
        if ctx.pages > 1:
            title += "\n" + catalog.t("digest.more_in_thread", pages=ctx.pages)
        if ctx.late:
            title += "\n" + catalog.t("digest.late")
        if ctx.copied:
            title += "\n" + catalog.t("digest.copied", managers=" ".join(map(_mention, ctx.copied)))
        head = [
            {"type": "section", "block_id": "head", "text": {"type": "mrkdwn", "text": title}},
            {"type": "context", "block_id": "howto", "elements": [{"type": "mrkdwn", "text": catalog.t("digest.howto", deadline=deadline, minutes=ctx.undo_minutes)}]},
        ]
        fallback = catalog.t(
            "digest.fallback", day=ctx.digest_day.isoformat(), owner=_esc(ctx.owner.name),
            count=ctx.total_items, open=ctx.open_items, deadline=deadline,
        )
    else:
        head = [
            {"type": "context", "block_id": "head", "elements": [{"type": "mrkdwn", "text": catalog.t("digest.continuation", owner=_esc(ctx.owner.name), page=ctx.page + 1, pages=ctx.pages, deadline=deadline)}]},
        ]
        fallback = catalog.t("digest.continuation", owner=_esc(ctx.owner.name), page=ctx.page + 1, pages=ctx.pages, deadline=deadline)
    blocks = head + [b for item in items for b in item_blocks(item, catalog, tz)]
    return fallback, blocks


def unrouted_message(items: Sequence[ItemFacts], digest_day: date, catalog: Catalog) -> str:
    """The DM to the CS lead about records no owner covers (plain text)."""
    lines = [catalog.t("digest.unrouted_title", day=digest_day.isoformat(), count=len(items))]
    shown = items[:100]
    for item in shown:
        lines.append(
            catalog.t(
                "digest.unrouted_line", order=_esc_cut(item.order_no, FIELD_LIMIT),
                category=catalog.t(f"digest.category_{item.category}"), branch=_esc_cut(item.branch, FIELD_LIMIT),
            )
        )
    if len(items) > len(shown):
        lines.append(catalog.t("digest.unrouted_more", count=len(items) - len(shown)))
    lines.append(catalog.t("digest.unrouted_hint"))
    return "\n".join(lines)
