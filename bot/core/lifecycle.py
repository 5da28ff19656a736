"""The item lifecycle: one table of allowed transitions and one pure ``decide``.

Every surface — slash command, button, modal, reaction, scheduler, CLI — asks
``decide(status, action, role)`` before it changes an item. A repeated
identical request (a double click, a Slack retry) lands on a row whose status
is already the action's result and is answered as a no-op, here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    AWAITING = "awaiting"
    CONFIRMED = "confirmed"
    DEEMED_CONFIRMED = "deemed_confirmed"
    DISPUTED = "disputed"
    FIXED = "fixed"
    WITHDRAWN = "withdrawn"  # CS was wrong: a dispute upheld
    VOIDED = "voided"  # CS withdrew its own wrong record before anyone answered: CS's own correction
    HELD = "held"  # imported for an order someone reported as a legitimate rejection: CS keeps or drops it first


class Action(StrEnum):
    POST = "post"  # the digest put the item in front of its owner
    CONFIRM = "confirm"
    DISPUTE = "dispute"
    UNDO_CONFIRM = "undo_confirm"  # a ✅ reaction removed within the undo window
    DEEM = "deem"  # the dispute deadline passed without an answer
    FIX = "fix"
    UPHOLD = "uphold"  # CS accepts the dispute: CS was wrong
    OVERRULE = "overrule"  # CS rejects the dispute, with evidence
    VOID = "void"  # CS withdraws its own record before anyone answered
    REOPEN = "reopen"  # CS takes a confirmation back (usually at the owner's request)
    HOLD = "hold"  # the import found a report of the order (bot.core.reports): held back from the digest
    KEEP = "keep"  # CS still finds the held record mistaken: it goes to the next digest, with the report shown
    DROP = "drop"  # CS withdraws the held record: its own correction, as a void


class Role(StrEnum):
    SYSTEM = "system"  # the scheduler, the digest, the CLI
    OWNER = "owner"
    DELEGATE = "delegate"
    MANAGER = "manager"
    CS_AGENT = "cs_agent"
    CS_LEAD = "cs_lead"
    OTHER = "other"


class Surface(StrEnum):
    COMMAND = "command"
    BUTTON = "button"
    MODAL = "modal"
    REACTION = "reaction"
    SCHEDULER = "scheduler"
    CLI = "cli"


class Verdict(StrEnum):
    APPLY = "apply"  # change the status
    NOOP = "noop"  # already there: a repeat, harmless
    REFUSED = "refused"  # not allowed: explain, change nothing


class Refusal(StrEnum):
    """Why a request was refused; each has a message in the catalogs."""

    NOT_ALLOWED = "not_allowed"  # the role may not take this action
    WRONG_STATE = "wrong_state"  # the item is past the point where the action applies
    EXPIRED = "expired"  # the dispute window has closed


LOGISTICS = frozenset({Role.OWNER, Role.DELEGATE, Role.MANAGER})
CS = frozenset({Role.CS_AGENT, Role.CS_LEAD})
SYSTEM = frozenset({Role.SYSTEM})

# (status, action) -> (who may, new status)
TRANSITIONS: dict[tuple[Status, Action], tuple[frozenset[Role], Status]] = {
    (Status.NEW, Action.POST): (SYSTEM, Status.AWAITING),
    (Status.AWAITING, Action.CONFIRM): (LOGISTICS, Status.CONFIRMED),
    (Status.AWAITING, Action.DISPUTE): (LOGISTICS, Status.DISPUTED),
    (Status.AWAITING, Action.DEEM): (SYSTEM, Status.DEEMED_CONFIRMED),
    (Status.CONFIRMED, Action.UNDO_CONFIRM): (LOGISTICS, Status.AWAITING),
    (Status.CONFIRMED, Action.FIX): (LOGISTICS, Status.FIXED),
    (Status.DEEMED_CONFIRMED, Action.FIX): (LOGISTICS, Status.FIXED),
    (Status.DISPUTED, Action.UPHOLD): (CS, Status.WITHDRAWN),
    (Status.DISPUTED, Action.OVERRULE): (CS, Status.CONFIRMED),
    (Status.NEW, Action.VOID): (CS, Status.VOIDED),
    (Status.AWAITING, Action.VOID): (CS, Status.VOIDED),
    (Status.CONFIRMED, Action.REOPEN): (CS, Status.AWAITING),
    (Status.DEEMED_CONFIRMED, Action.REOPEN): (CS, Status.AWAITING),
    (Status.NEW, Action.HOLD): (SYSTEM, Status.HELD),
    (Status.HELD, Action.KEEP): (CS, Status.NEW),
    (Status.HELD, Action.DROP): (CS, Status.VOIDED),
}

# The status each action leads to, for recognising a repeat of it.
RESULT_OF: dict[Action, Status] = {}
for (_status, _action), (_roles, _new) in TRANSITIONS.items():
    RESULT_OF.setdefault(_action, _new)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    new_status: Status
    refusal: Refusal | None = None

    @property
    def applies(self) -> bool:
        return self.verdict is Verdict.APPLY


def who_may(action: Action) -> frozenset[Role]:
    """Every role that may take ``action`` in some status."""
    return frozenset(r for (_, a), (roles, _) in TRANSITIONS.items() if a is action for r in roles)


def decide(status: Status, action: Action, role: Role, *, past_deadline: bool = False) -> Decision:
    """What ``role`` doing ``action`` to an item in ``status`` amounts to.

    Authorisation is checked before repetition, so someone with no say over an
    item learns that, not the item's state. A dispute after the item's
    deadline is refused as expired; a late confirmation is still welcome.
    """
    allowed = TRANSITIONS.get((status, action))
    if role not in who_may(action):
        return Decision(Verdict.REFUSED, status, Refusal.NOT_ALLOWED)
    if allowed is not None:
        roles, new_status = allowed
        if role in roles:
            if action is Action.DISPUTE and past_deadline:
                return Decision(Verdict.REFUSED, status, Refusal.EXPIRED)
            return Decision(Verdict.APPLY, new_status)
        return Decision(Verdict.REFUSED, status, Refusal.NOT_ALLOWED)
    if RESULT_OF.get(action) is status:
        return Decision(Verdict.NOOP, status)
    return Decision(Verdict.REFUSED, status, Refusal.WRONG_STATE)
