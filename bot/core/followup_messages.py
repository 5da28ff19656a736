"""What follow-up messages say (Block Kit as plain dicts): the consolidated
escalation DM to a manager, with buttons to remind the owner now or to act
for them, and the ``/reject next`` answer listing the follow-ups ahead.

Pure: the facts come in, text and blocks come out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core.followup import DisputeOutlook, Step, StepKind, ThreadOutlook
from bot.core.text import MESSAGE_TEXT_BUDGET, block_text_length, cut, fmt_time, join_within, mention, text_size
from bot.i18n import Catalog
from bot.ids import ActionId

MAX_SECTION_TEXT = 3000  # Slack: characters per section text
MAX_BLOCKS = 50  # Slack: blocks per message
# A head block, then a section and an actions block per thread, and room for
# one line saying how many more threads the text lists.
ESCALATION_THREADS_WITH_BUTTONS = (MAX_BLOCKS - 2) // 2
THREAD_TEXT_LIMIT = 1000  # one thread's facts in the DM (a long nudge list is cut)

STEP_KEYS = {
    StepKind.NUDGE: "followup.next_step_nudge",
    StepKind.ESCALATE: "followup.next_step_escalate",
    StepKind.DISPUTE_NUDGE: "followup.next_step_dispute_nudge",
    StepKind.DISPUTE_ESCALATE: "followup.next_step_dispute_escalate",
}





# --- the escalation DM ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EscalationThread:
    """One quiet thread in a manager's escalation DM."""

    thread_id: int
    owner: str  # the owner's name
    owner_user: str  # "" when the routing file dropped the owner
    digest_day: date
    awaiting: int
    oldest_unfixed_at: datetime | None
    since: datetime  # the quiet period's start
    level: int
    nudged: tuple[tuple[str, datetime], ...]  # (who, when) reminded in the thread
    link: str  # the thread's permalink, "" when Slack gave none


def escalation_thread_text(thread: EscalationThread, catalog: Catalog, tz: ZoneInfo) -> str:
    """What is open, since when, who was nudged and when, the link."""
    nudged = ", ".join(f"<@{user}> {fmt_time(at, tz)}" for user, at in thread.nudged) or "—"
    unfixed = catalog.t("followup.unfixed_since", since=fmt_time(thread.oldest_unfixed_at, tz)) if thread.oldest_unfixed_at else ""
    return catalog.t(
        "followup.escalation_thread", owner=thread.owner, user=mention(thread.owner_user),
        day=thread.digest_day.isoformat(), awaiting=thread.awaiting, unfixed=unfixed,
        since=fmt_time(thread.since, tz), nudged=nudged, level=thread.level, link=thread.link,
    )


def escalation_message(
    threads: Sequence[EscalationThread], catalog: Catalog, tz: ZoneInfo, *, total: int | None = None,
) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of the consolidated escalation DM: per thread
    its facts, then Remind owner now, Confirm all for them and, when there is
    a permalink, a button opening the thread. As many threads as the block
    limit and the text budget allow are shown; a last line counts the rest.
    The fallback text lists the same threads. ``total``: the threads
    escalated in all, when ``threads`` holds only the first of them (the
    caller reads the facts of no more than it can show); the head gives it."""
    unique = max(len({t.thread_id for t in threads}), total or 0)
    head = cut(catalog.t("followup.escalation_head", count=len(threads) if total is None else unique), MAX_SECTION_TEXT)
    blocks: list[dict] = [{"type": "section", "block_id": "escalation-head", "text": {"type": "mrkdwn", "text": head}}]
    reserve = text_size(catalog.t("followup.escalation_more", count=unique))  # the last line, at its longest
    size = block_text_length(blocks)
    parts: list[str] = [head]
    shown: set[int] = set()
    for thread in threads:
        part = cut(escalation_thread_text(thread, catalog, tz), THREAD_TEXT_LIMIT)
        text_full = sum(map(text_size, parts)) + 2 * len(parts) + text_size(part) + reserve > MESSAGE_TEXT_BUDGET
        if thread.thread_id in shown:  # two levels of one thread in one DM: both in the text, one set of buttons
            if not text_full:
                parts.append(part)
            continue
        if len(shown) == ESCALATION_THREADS_WITH_BUTTONS:
            break
        pair = [
            {"type": "section", "block_id": f"escalation-{thread.thread_id}", "text": {"type": "mrkdwn", "text": part}},
            {"type": "actions", "block_id": f"escalation-act-{thread.thread_id}", "elements": escalation_buttons(thread, catalog)},
        ]
        grown = size + block_text_length(pair)
        # the fallback text repeats the facts: keep it within the budget too
        if grown + reserve > MESSAGE_TEXT_BUDGET or text_full:
            break
        shown.add(thread.thread_id)
        blocks += pair
        parts.append(part)
        size = grown
    more = unique - len(shown)
    if more:
        line = catalog.t("followup.escalation_more", count=more)
        blocks.append({"type": "context", "block_id": "escalation-more", "elements": [{"type": "mrkdwn", "text": line}]})
        parts.append(line)
    return "\n\n".join(parts), blocks


def escalation_buttons(thread: EscalationThread, catalog: Catalog) -> list[dict]:
    value = str(thread.thread_id)
    buttons: list[dict] = [
        {
            "type": "button",
            "action_id": ActionId.REMIND_OWNER,
            "text": {"type": "plain_text", "text": catalog.t("followup.button_remind")},
            "value": value,
        },
        {
            "type": "button",
            "action_id": ActionId.CONFIRM_FOR_OWNER,
            "text": {"type": "plain_text", "text": catalog.t("followup.button_confirm_all")},
            "style": "primary",
            "value": value,
            "confirm": {
                "title": {"type": "plain_text", "text": cut(catalog.t("followup.confirm_all_title"), 100)},
                "text": {"type": "plain_text", "text": cut(catalog.t("followup.confirm_all_text", owner=thread.owner, day=thread.digest_day.isoformat()), 300)},
                "confirm": {"type": "plain_text", "text": catalog.t("followup.button_confirm_all")},
                "deny": {"type": "plain_text", "text": catalog.t("followup.confirm_all_deny")},
            },
        },
    ]
    if thread.link:
        buttons.append(
            {
                "type": "button",
                "action_id": ActionId.OPEN_THREAD,
                "text": {"type": "plain_text", "text": catalog.t("followup.button_open_thread")},
                "url": thread.link,
            }
        )
    return buttons


# --- /reject next ----------------------------------------------------------------------------


def outlook_text(entries: Sequence[ThreadOutlook | DisputeOutlook], catalog: Catalog, tz: ZoneInfo, *, now: datetime) -> str:
    """The follow-ups ahead, per thread and dispute: each step's time (in
    ``tz``), what it is and to whom; or that nothing is planned. Within the
    message budget: the first threads and disputes, then how many more."""
    if not entries:
        return catalog.t("followup.next_none")
    head = catalog.t("followup.next_head", tz=str(tz))
    chunks = [
        "\n".join(_thread_lines(e, catalog, tz, now) if isinstance(e, ThreadOutlook) else _dispute_lines(e, catalog, tz, now))
        for e in entries
    ]
    body = join_within(
        [cut(c, MESSAGE_TEXT_BUDGET // 4) for c in chunks], MESSAGE_TEXT_BUDGET - text_size(head) - 2,
        lambda n: catalog.t("followup.next_more", count=n), sep="\n\n",
    )
    return head + "\n\n" + body


def _thread_lines(entry: ThreadOutlook, catalog: Catalog, tz: ZoneInfo, now: datetime) -> list[str]:
    deadline = fmt_time(entry.deadline, tz)
    lines = [catalog.t("followup.next_thread", owner=entry.owner, user=mention(entry.owner_user), day=entry.digest_day.isoformat())]
    if entry.awaiting:
        lines.append(catalog.t("followup.next_awaiting", count=entry.awaiting, deadline=deadline))
        if entry.acknowledged_at is not None:
            lines.append(catalog.t("followup.next_acknowledged", user=mention(entry.acknowledged_by) or "—", at=fmt_time(entry.acknowledged_at, tz), deadline=deadline))
    if entry.oldest_unfixed_at is not None:
        lines.append(catalog.t("followup.next_unfixed", since=fmt_time(entry.oldest_unfixed_at, tz)))
    lines += [_step_line(s, catalog, tz, now) for s in entry.steps]
    if entry.after_deadline:
        lines.append(catalog.t("followup.next_after_deadline", deadline=deadline))
        lines += [_step_line(s, catalog, tz, now) for s in entry.after_deadline]
    if not entry.steps and not entry.after_deadline:
        lines.append(catalog.t("followup.next_no_steps"))
    if entry.missing_year is not None:
        lines.append(catalog.t("followup.next_missing_year", year=entry.missing_year))
    return lines


def _dispute_lines(entry: DisputeOutlook, catalog: Catalog, tz: ZoneInfo, now: datetime) -> list[str]:
    lines = [catalog.t("followup.next_dispute", order=entry.order_no, owner=entry.owner or "—", agent=entry.agent or "—", since=fmt_time(entry.disputed_at, tz))]
    lines += [_step_line(s, catalog, tz, now) for s in entry.steps]
    if not entry.steps:
        lines.append(catalog.t("followup.next_no_steps"))
    if entry.missing_year is not None:
        lines.append(catalog.t("followup.next_missing_year", year=entry.missing_year))
    return lines


def _step_line(step: Step, catalog: Catalog, tz: ZoneInfo, now: datetime) -> str:
    line = catalog.t(STEP_KEYS[step.kind], at=fmt_time(step.due_at, tz), user=mention(step.recipient), level=step.level)
    if step.due_at <= now:
        line += catalog.t("followup.next_overdue")
    return line
