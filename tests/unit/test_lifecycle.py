"""The lifecycle table and ``decide``: every (status, action, role), checked
against an expectation written here from docs/lifecycle.md's *Item lifecycle* and
*Roles*, not derived from ``bot.core.lifecycle.TRANSITIONS``."""

from __future__ import annotations

from itertools import product

import pytest

from bot.core.lifecycle import Action, Decision, Refusal, Role, Status, Verdict, decide

S, A, R = Status, Action, Role
LOGISTICS = {R.OWNER, R.DELEGATE, R.MANAGER}
CS = {R.CS_AGENT, R.CS_LEAD}
BOT = {R.SYSTEM}

# docs/lifecycle.md:
#   new --post--> awaiting --confirm--> confirmed --fix--> fixed
#                    |  \--deadline--> deemed_confirmed --fix--> fixed
#                    \--dispute--> disputed --overrule--> confirmed
#                                      \--uphold--> withdrawn
#   new/awaiting --void (CS withdraws its own record)--> voided
#   confirmed/deemed_confirmed --reopen (CS)--> awaiting
#   new --hold (the import found a report of the order)--> held
#   held --keep (CS)--> new (posted by the next digest) ; held --drop (CS)--> voided
#   plus: a ✅ removed within the undo window takes a confirmation back.
EXPECTED_ROWS: dict[tuple[Status, Action], tuple[set[Role], Status]] = {
    (S.NEW, A.POST): (BOT, S.AWAITING),
    (S.AWAITING, A.CONFIRM): (LOGISTICS, S.CONFIRMED),
    (S.AWAITING, A.DISPUTE): (LOGISTICS, S.DISPUTED),
    (S.AWAITING, A.DEEM): (BOT, S.DEEMED_CONFIRMED),
    (S.CONFIRMED, A.UNDO_CONFIRM): (LOGISTICS, S.AWAITING),
    (S.CONFIRMED, A.FIX): (LOGISTICS, S.FIXED),
    (S.DEEMED_CONFIRMED, A.FIX): (LOGISTICS, S.FIXED),
    (S.DISPUTED, A.UPHOLD): (CS, S.WITHDRAWN),
    (S.DISPUTED, A.OVERRULE): (CS, S.CONFIRMED),
    (S.NEW, A.VOID): (CS, S.VOIDED),
    (S.AWAITING, A.VOID): (CS, S.VOIDED),
    (S.CONFIRMED, A.REOPEN): (CS, S.AWAITING),
    (S.DEEMED_CONFIRMED, A.REOPEN): (CS, S.AWAITING),
    (S.NEW, A.HOLD): (BOT, S.HELD),
    (S.HELD, A.KEEP): (CS, S.NEW),
    (S.HELD, A.DROP): (CS, S.VOIDED),
}
# Where each action leads: an item already there is a repeat of it.
EXPECTED_RESULT: dict[Action, Status] = {
    A.POST: S.AWAITING,
    A.CONFIRM: S.CONFIRMED,
    A.DISPUTE: S.DISPUTED,
    A.DEEM: S.DEEMED_CONFIRMED,
    A.UNDO_CONFIRM: S.AWAITING,
    A.FIX: S.FIXED,
    A.UPHOLD: S.WITHDRAWN,
    A.OVERRULE: S.CONFIRMED,
    A.VOID: S.VOIDED,
    A.REOPEN: S.AWAITING,
    A.HOLD: S.HELD,
    A.KEEP: S.NEW,
    A.DROP: S.VOIDED,
}
# Who may ever take each action.
EXPECTED_ACTORS: dict[Action, set[Role]] = {
    A.POST: BOT,
    A.DEEM: BOT,
    A.CONFIRM: LOGISTICS,
    A.DISPUTE: LOGISTICS,
    A.UNDO_CONFIRM: LOGISTICS,
    A.FIX: LOGISTICS,
    A.UPHOLD: CS,
    A.OVERRULE: CS,
    A.VOID: CS,
    A.REOPEN: CS,
    A.HOLD: BOT,
    A.KEEP: CS,
    A.DROP: CS,
}


def expected(status: Status, action: Action, role: Role, *, past_deadline: bool) -> Decision:
    row = EXPECTED_ROWS.get((status, action))
    if row is not None and role in row[0]:
        if action is A.DISPUTE and past_deadline:
            return Decision(Verdict.REFUSED, status, Refusal.EXPIRED)
        return Decision(Verdict.APPLY, row[1])
    if role not in EXPECTED_ACTORS[action]:
        return Decision(Verdict.REFUSED, status, Refusal.NOT_ALLOWED)
    if EXPECTED_RESULT[action] is status:
        return Decision(Verdict.NOOP, status)
    return Decision(Verdict.REFUSED, status, Refusal.WRONG_STATE)


def test_the_expectation_covers_every_action() -> None:
    assert set(EXPECTED_RESULT) == set(Action)
    assert set(EXPECTED_ACTORS) == set(Action)


@pytest.mark.parametrize("past_deadline", [False, True], ids=["in_time", "past_deadline"])
def test_every_status_action_role_combination(past_deadline: bool) -> None:
    wrong = []
    for status, action, role in product(Status, Action, Role):
        got = decide(status, action, role, past_deadline=past_deadline)
        want = expected(status, action, role, past_deadline=past_deadline)
        if got != want:
            wrong.append(f"{status}/{action}/{role}: got {got}, want {want}")
    assert not wrong, "\n".join(wrong)
    assert len(Status) * len(Action) * len(Role) == 9 * 13 * 7


def test_every_combination_has_one_consistent_verdict() -> None:
    for status, action, role in product(Status, Action, Role):
        d = decide(status, action, role)
        assert d.applies is (d.verdict is Verdict.APPLY)
        if d.verdict is Verdict.REFUSED:
            assert d.refusal is not None and d.new_status is status
        else:
            assert d.refusal is None
        if d.verdict is Verdict.NOOP:
            assert d.new_status is status


def test_applying_rows_are_exactly_the_designed_transitions() -> None:
    applied = {
        (status, action): decide(status, action, role).new_status
        for status, action, role in product(Status, Action, Role)
        if decide(status, action, role).applies
    }
    assert applied == {key: new for key, (_, new) in EXPECTED_ROWS.items()}


def test_an_outsider_is_refused_everything() -> None:
    for status, action in product(Status, Action):
        assert decide(status, action, R.OTHER) == Decision(Verdict.REFUSED, status, Refusal.NOT_ALLOWED)


# --- business facts, one at a time -------------------------------------------


def test_the_system_posts_new_items() -> None:
    assert decide(S.NEW, A.POST, R.SYSTEM) == Decision(Verdict.APPLY, S.AWAITING)


@pytest.mark.parametrize("role", [R.OWNER, R.DELEGATE, R.MANAGER, R.CS_LEAD])
def test_only_the_system_posts(role: Role) -> None:
    assert decide(S.NEW, A.POST, role).refusal is Refusal.NOT_ALLOWED


@pytest.mark.parametrize("role", [R.OWNER, R.DELEGATE, R.MANAGER])
def test_logistics_confirms_an_awaiting_item(role: Role) -> None:
    assert decide(S.AWAITING, A.CONFIRM, role) == Decision(Verdict.APPLY, S.CONFIRMED)


@pytest.mark.parametrize("role", [R.CS_AGENT, R.CS_LEAD, R.SYSTEM])
def test_cs_and_the_system_cannot_confirm(role: Role) -> None:
    assert decide(S.AWAITING, A.CONFIRM, role) == Decision(Verdict.REFUSED, S.AWAITING, Refusal.NOT_ALLOWED)


@pytest.mark.parametrize("role", [R.OWNER, R.DELEGATE, R.MANAGER])
def test_logistics_cannot_uphold_or_overrule_its_own_dispute(role: Role) -> None:
    assert decide(S.DISPUTED, A.UPHOLD, role) == Decision(Verdict.REFUSED, S.DISPUTED, Refusal.NOT_ALLOWED)
    assert decide(S.DISPUTED, A.OVERRULE, role) == Decision(Verdict.REFUSED, S.DISPUTED, Refusal.NOT_ALLOWED)


def test_confirm_twice_is_a_noop() -> None:
    first = decide(S.AWAITING, A.CONFIRM, R.OWNER)
    second = decide(first.new_status, A.CONFIRM, R.OWNER)
    assert second == Decision(Verdict.NOOP, S.CONFIRMED)


def test_a_repeat_by_an_outsider_is_still_not_allowed() -> None:
    # Authorisation first: someone with no say learns that, not the state.
    assert decide(S.CONFIRMED, A.CONFIRM, R.CS_AGENT).refusal is Refusal.NOT_ALLOWED


def test_confirm_on_a_disputed_item_is_wrong_state() -> None:
    assert decide(S.DISPUTED, A.CONFIRM, R.OWNER) == Decision(Verdict.REFUSED, S.DISPUTED, Refusal.WRONG_STATE)


def test_dispute_on_a_confirmed_item_is_wrong_state() -> None:
    assert decide(S.CONFIRMED, A.DISPUTE, R.OWNER).refusal is Refusal.WRONG_STATE


@pytest.mark.parametrize("role", [R.CS_AGENT, R.CS_LEAD])
def test_cs_resolves_a_dispute(role: Role) -> None:
    assert decide(S.DISPUTED, A.UPHOLD, role) == Decision(Verdict.APPLY, S.WITHDRAWN)
    assert decide(S.DISPUTED, A.OVERRULE, role) == Decision(Verdict.APPLY, S.CONFIRMED)


def test_cs_voids_only_before_anyone_answered() -> None:
    assert decide(S.NEW, A.VOID, R.CS_AGENT).applies
    assert decide(S.AWAITING, A.VOID, R.CS_AGENT).applies
    assert decide(S.CONFIRMED, A.VOID, R.CS_AGENT).refusal is Refusal.WRONG_STATE
    assert decide(S.DISPUTED, A.VOID, R.CS_LEAD).refusal is Refusal.WRONG_STATE
    assert decide(S.WITHDRAWN, A.VOID, R.CS_AGENT).refusal is Refusal.WRONG_STATE  # an upheld dispute is not CS's own correction
    assert decide(S.VOIDED, A.VOID, R.CS_AGENT).verdict is Verdict.NOOP
    assert decide(S.AWAITING, A.VOID, R.OWNER).refusal is Refusal.NOT_ALLOWED


def test_cs_reopens_only_a_confirmation() -> None:
    assert decide(S.CONFIRMED, A.REOPEN, R.CS_LEAD) == Decision(Verdict.APPLY, S.AWAITING)
    assert decide(S.DEEMED_CONFIRMED, A.REOPEN, R.CS_AGENT) == Decision(Verdict.APPLY, S.AWAITING)
    assert decide(S.FIXED, A.REOPEN, R.CS_LEAD).refusal is Refusal.WRONG_STATE
    assert decide(S.DISPUTED, A.REOPEN, R.CS_LEAD).refusal is Refusal.WRONG_STATE
    assert decide(S.CONFIRMED, A.REOPEN, R.OWNER).refusal is Refusal.NOT_ALLOWED


def test_only_the_system_deems_and_only_awaiting_items() -> None:
    assert decide(S.AWAITING, A.DEEM, R.SYSTEM) == Decision(Verdict.APPLY, S.DEEMED_CONFIRMED)
    assert decide(S.AWAITING, A.DEEM, R.OWNER).refusal is Refusal.NOT_ALLOWED
    assert decide(S.DISPUTED, A.DEEM, R.SYSTEM).refusal is Refusal.WRONG_STATE
    assert decide(S.DEEMED_CONFIRMED, A.DEEM, R.SYSTEM).verdict is Verdict.NOOP


def test_fix_follows_a_confirmation_or_a_deemed_one() -> None:
    assert decide(S.CONFIRMED, A.FIX, R.OWNER) == Decision(Verdict.APPLY, S.FIXED)
    assert decide(S.DEEMED_CONFIRMED, A.FIX, R.DELEGATE) == Decision(Verdict.APPLY, S.FIXED)
    assert decide(S.AWAITING, A.FIX, R.OWNER).refusal is Refusal.WRONG_STATE
    assert decide(S.FIXED, A.FIX, R.OWNER).verdict is Verdict.NOOP


def test_undo_confirm_puts_the_item_back_and_repeats_harmlessly() -> None:
    assert decide(S.CONFIRMED, A.UNDO_CONFIRM, R.OWNER) == Decision(Verdict.APPLY, S.AWAITING)
    assert decide(S.AWAITING, A.UNDO_CONFIRM, R.OWNER) == Decision(Verdict.NOOP, S.AWAITING)
    assert decide(S.FIXED, A.UNDO_CONFIRM, R.OWNER).refusal is Refusal.WRONG_STATE


# --- the dispute deadline ------------------------------------------------------


@pytest.mark.parametrize("role", [R.OWNER, R.DELEGATE, R.MANAGER])
def test_a_dispute_past_the_deadline_is_expired(role: Role) -> None:
    assert decide(S.AWAITING, A.DISPUTE, role, past_deadline=True) == Decision(
        Verdict.REFUSED, S.AWAITING, Refusal.EXPIRED
    )
    assert decide(S.AWAITING, A.DISPUTE, role, past_deadline=False) == Decision(Verdict.APPLY, S.DISPUTED)


def test_a_confirmation_past_the_deadline_still_applies() -> None:
    assert decide(S.AWAITING, A.CONFIRM, R.OWNER, past_deadline=True) == Decision(Verdict.APPLY, S.CONFIRMED)


def test_past_deadline_does_not_hide_an_authorisation_problem() -> None:
    assert decide(S.AWAITING, A.DISPUTE, R.CS_AGENT, past_deadline=True).refusal is Refusal.NOT_ALLOWED


def test_a_repeated_dispute_past_the_deadline_is_still_a_noop() -> None:
    assert decide(S.DISPUTED, A.DISPUTE, R.OWNER, past_deadline=True) == Decision(Verdict.NOOP, S.DISPUTED)
