"""The answer to someone who acted on items: what happened to each one,
within the message budget however many orders the request named."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.lifecycle import CS, Action, Decision, Refusal, Status, Verdict, who_may
from bot.core.text import MESSAGE_TEXT_BUDGET, esc_cut, fmt_time, join_within
from bot.i18n import Catalog

# A refused state with a clearer word than "no longer applies" for some actions.
WRONG_STATE_KEYS = {
    Action.FIX: "answers.wrong_state_fix",  # not confirmed yet (or not at all)
    Action.UPHOLD: "answers.wrong_state_review",  # not (or no longer) disputed
    Action.OVERRULE: "answers.wrong_state_review",
}


class Outcome(StrEnum):
    APPLIED = "applied"
    REPEATED = "repeated"  # already so: nothing to do
    NOT_YOURS = "not_yours"
    WRONG_STATE = "wrong_state"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no such order
    STALE = "stale"  # a button or form pointing at an item that no longer exists


@dataclass(frozen=True, slots=True)
class ItemResult:
    order_no: str
    outcome: Outcome
    status: Status | None = None
    owner: str | None = None
    deadline: datetime | None = None


def outcome_of(decision: Decision) -> Outcome:
    if decision.verdict is Verdict.APPLY:
        return Outcome.APPLIED
    if decision.verdict is Verdict.NOOP:
        return Outcome.REPEATED
    return {
        Refusal.NOT_ALLOWED: Outcome.NOT_YOURS,
        Refusal.WRONG_STATE: Outcome.WRONG_STATE,
        Refusal.EXPIRED: Outcome.EXPIRED,
    }[decision.refusal]


ORDERS_SHOWN = 20  # order numbers named per kind of outcome; the rest are counted
LINES_SHOWN = 5  # one-line-per-order outcomes (wrong state, expired) shown; the rest are counted
ORDER_LIMIT = 64  # an order number as typed, in an answer


def answer_summary(action: Action, results: Sequence[ItemResult], catalog: Catalog, tz: ZoneInfo) -> str:
    """One line per kind of outcome, naming the orders and what to do next.
    Long lists name the first orders and count the rest, so the answer stays
    within ``MESSAGE_TEXT_BUDGET`` however many orders it covers."""
    lines: list[str] = []
    by_outcome: dict[Outcome, list[ItemResult]] = {}
    for r in results:
        by_outcome.setdefault(r.outcome, []).append(r)
    for outcome in Outcome:
        group = by_outcome.get(outcome)
        if not group:
            continue
        orders = _orders(group, catalog)
        if outcome is Outcome.APPLIED:
            lines.append(catalog.t(f"answers.applied_{action}", count=len(group), orders=orders))
        elif outcome is Outcome.WRONG_STATE:
            key = WRONG_STATE_KEYS.get(action, "answers.wrong_state")
            lines += _per_order(group, catalog, lambda r: catalog.t(key, order=_order(r), status=catalog.t(f"status.{r.status}")))
        elif outcome is Outcome.EXPIRED:
            lines += _per_order(
                group, catalog,
                lambda r: catalog.t("answers.expired", order=_order(r), deadline=fmt_time(r.deadline, tz) if r.deadline else "—"),
            )
        elif outcome is Outcome.NOT_YOURS and who_may(action) <= CS:
            lines.append(catalog.t("answers.cs_only", orders=orders))
        elif outcome is Outcome.NOT_YOURS:
            owners = ", ".join(esc_cut(o, ORDER_LIMIT) for o in sorted({r.owner or "—" for r in group})[:ORDERS_SHOWN])
            lines.append(catalog.t("answers.not_yours", orders=orders, owners=owners))
        elif outcome is Outcome.REPEATED:
            lines.append(catalog.t(f"answers.repeated_{action}", orders=orders))
        elif outcome is Outcome.UNKNOWN:
            lines.append(catalog.t("answers.unknown", orders=orders))
        else:
            lines.append(catalog.t("answers.stale_button"))
    if not lines:
        return catalog.t("answers.nothing")
    return join_within(lines, MESSAGE_TEXT_BUDGET, lambda n: catalog.t("answers.more_lines", count=n))


def answer_counts(results: Sequence[ItemResult], catalog: Catalog) -> str:
    """How many orders had each outcome, in one short line ("3 applied, 2
    unknown"): what an answer says when its full text could not be shown."""
    counts: dict[Outcome, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return ", ".join(catalog.t(f"answers.count_{outcome}", count=counts[outcome]) for outcome in Outcome if outcome in counts)


def _order(result: ItemResult) -> str:
    return esc_cut(result.order_no, ORDER_LIMIT)


def _orders(group: Sequence[ItemResult], catalog: Catalog) -> str:
    """The first ``ORDERS_SHOWN`` order numbers, and how many more."""
    shown = ", ".join(_order(r) for r in group[:ORDERS_SHOWN])
    if len(group) > ORDERS_SHOWN:
        shown += " " + catalog.t("answers.and_more", count=len(group) - ORDERS_SHOWN)
    return shown


def _per_order(group: Sequence[ItemResult], catalog: Catalog, line) -> list[str]:
    lines = [line(r) for r in group[:LINES_SHOWN]]
    if len(group) > LINES_SHOWN:
        lines.append(catalog.t("answers.more_lines", count=len(group) - LINES_SHOWN))
    return lines
