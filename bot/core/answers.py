"""The answer to someone who acted on items: what happened to each one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.lifecycle import CS, Action, Decision, Refusal, Status, Verdict, who_may
from bot.core.text import fmt_time
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


def answer_summary(action: Action, results: Sequence[ItemResult], catalog: Catalog, tz: ZoneInfo) -> str:
    """One line per kind of outcome, naming the orders and what to do next."""
    lines: list[str] = []
    by_outcome: dict[Outcome, list[ItemResult]] = {}
    for r in results:
        by_outcome.setdefault(r.outcome, []).append(r)
    for outcome in Outcome:
        group = by_outcome.get(outcome)
        if not group:
            continue
        orders = ", ".join(r.order_no for r in group)
        if outcome is Outcome.APPLIED:
            lines.append(catalog.t(f"answers.applied_{action}", count=len(group), orders=orders))
        elif outcome is Outcome.WRONG_STATE:
            key = WRONG_STATE_KEYS.get(action, "answers.wrong_state")
            for r in group:
                lines.append(catalog.t(key, order=r.order_no, status=catalog.t(f"status.{r.status}")))
        elif outcome is Outcome.EXPIRED:
            for r in group:
                lines.append(catalog.t("answers.expired", order=r.order_no, deadline=fmt_time(r.deadline, tz) if r.deadline else "—"))
        elif outcome is Outcome.NOT_YOURS and who_may(action) <= CS:
            lines.append(catalog.t("answers.cs_only", orders=orders))
        elif outcome is Outcome.NOT_YOURS:
            owners = ", ".join(sorted({r.owner or "—" for r in group}))
            lines.append(catalog.t("answers.not_yours", orders=orders, owners=owners))
        elif outcome is Outcome.REPEATED:
            lines.append(catalog.t(f"answers.repeated_{action}", orders=orders))
        elif outcome is Outcome.UNKNOWN:
            lines.append(catalog.t("answers.unknown", orders=orders))
        else:
            lines.append(catalog.t("answers.stale_button"))
    return "\n".join(lines) or catalog.t("answers.nothing")
