"""The follow-up policy: quiet periods, thread and dispute ladders, due steps
and the daily cap. Pure: fixed instants, China's real calendar, no doubles.

Working hours are 09:00–18:00 Asia/Shanghai; the policy is the default one
(quiet 2h, level 1 after 4h, level 2 after 9h, fix window 18h, dispute nudge
after 4h and escalation after 9h — all working time). Expected instants are
derived by hand in the comments.

National Day 2025: 10-01..10-08 are days off; Sunday 09-28 and Saturday 10-11
are adjusted working days; Sunday 10-12 is an ordinary day off.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.followup import (
    DisputeFacts,
    Step,
    StepKind,
    ThreadFacts,
    dispute_ladder,
    due_steps,
    pending_steps,
    project_thread,
    quiet_since,
    thread_ladder,
    until_cut,
    within_cap,
)
from bot.core.routing import FollowUpPolicy
from bot.core.workcal import WorkCalendar
from bot.core.worktime import WorkingHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(calendar=WorkCalendar(), start=time(9, 0), end=time(18, 0), tz=SHANGHAI)
POLICY = FollowUpPolicy()

OWNER, OPS_HEAD, BOSS = "U0OWNERY", "U0OPSHEAD", "U0LOGIBOSS"
AGENT, CS_LEAD = "U0CS0001", "U0CSLEAD"
NUDGE, ESCALATE = StepKind.NUDGE, StepKind.ESCALATE


def at(text: str) -> datetime:
    """A Shanghai wall-clock time, as storage hands it back: aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def thread(**changes) -> ThreadFacts:
    """Y's thread of the digest posted on the eve of National Day 2025, with
    three items awaiting an answer until 18:00 that day."""
    facts = ThreadFacts(
        thread_id=7, owner_user=OWNER, escalation=(OPS_HEAD, BOSS),
        posted_at=at("2025-09-30 08:30"), deadline=at("2025-09-30 18:00"),
        awaiting=3, oldest_unfixed_at=None,
    )
    return replace(facts, **changes)


def ladder(facts: ThreadFacts, policy: FollowUpPolicy = POLICY) -> list[tuple[StepKind, int, str, datetime]]:
    return [(s.kind, s.level, s.recipient, s.due_at) for s in thread_ladder(facts, policy, HOURS)]


def dispute(**changes) -> DisputeFacts:
    facts = DisputeFacts(item_id=42, disputed_at=at("2026-11-27 10:00"), agent_user=AGENT, cs_lead=CS_LEAD)
    return replace(facts, **changes)


# --- the awaiting ladder across National Day ----------------------------------------


def test_a_digest_posted_before_opening_on_the_eve_is_nudged_that_morning() -> None:
    # The quiet period starts at the post (08:30) and counts from 09:00:
    # nudge 09:00+2h = 11:00, level 1 09:00+4h = 13:00 on 09-30; level 2 needs
    # 9h = the whole of 09-30, exhausted exactly at the close, so it falls on
    # the next opening after the holiday: 10-09 09:00.
    facts = thread()

    assert quiet_since(facts, POLICY, HOURS) == at("2025-09-30 08:30")
    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2025-09-30 11:00")),
        (ESCALATE, 1, OPS_HEAD, at("2025-09-30 13:00")),
        (ESCALATE, 2, BOSS, at("2025-10-09 09:00")),
    ]


def test_a_thread_quiet_from_17_30_on_the_eve_is_nudged_after_the_holiday() -> None:
    # 30 min on 09-30 (17:30-18:00), nothing 10-01..10-08, then 10-09 from 09:00:
    # nudge   2h   = 0h30 + 1h30 -> 10-09 10:30
    # level 1 4h   = 0h30 + 3h30 -> 10-09 12:30
    # level 2 9h   = 0h30 + 8h30 -> 10-09 17:30
    facts = thread(last_activity_at=at("2025-09-30 17:30"))

    assert quiet_since(facts, POLICY, HOURS) == at("2025-09-30 17:30")
    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2025-10-09 10:30")),
        (ESCALATE, 1, OPS_HEAD, at("2025-10-09 12:30")),
        (ESCALATE, 2, BOSS, at("2025-10-09 17:30")),
    ]


def test_the_adjusted_working_sunday_before_the_holiday_counts() -> None:
    # Digest of Friday 09-26, last answer 17:00: 1h on Friday, Saturday 09-27
    # off, then Sunday 09-28 (worked): nudge 10:00, level 1 12:00, level 2 17:00.
    facts = thread(posted_at=at("2025-09-26 08:30"), deadline=at("2025-09-26 18:00"), last_activity_at=at("2025-09-26 17:00"))

    assert [due for *_, due in ladder(facts)] == [at("2025-09-28 10:00"), at("2025-09-28 12:00"), at("2025-09-28 17:00")]


@pytest.mark.parametrize(
    "now",
    ["2025-09-30 18:00", "2025-10-01 10:30", "2025-10-05 12:00", "2025-10-08 17:59", "2025-10-09 10:29"],
    ids=["eve-close", "holiday-1", "holiday-5", "holiday-last", "just-before"],
)
def test_nothing_is_due_during_the_holiday(now) -> None:
    steps = thread_ladder(thread(last_activity_at=at("2025-09-30 17:30")), POLICY, HOURS)

    assert due_steps(steps, now=at(now), done=set()) == []


def test_the_steps_fall_due_one_by_one_after_the_holiday() -> None:
    steps = thread_ladder(thread(last_activity_at=at("2025-09-30 17:30")), POLICY, HOURS)

    assert [s.kind for s in due_steps(steps, now=at("2025-10-09 10:30"), done=set())] == [NUDGE]
    assert [(s.kind, s.level) for s in due_steps(steps, now=at("2025-10-09 12:30"), done=set())] == [(NUDGE, 0), (ESCALATE, 1)]
    assert [(s.kind, s.level) for s in due_steps(steps, now=at("2025-10-09 17:30"), done=set())] == [(NUDGE, 0), (ESCALATE, 1), (ESCALATE, 2)]


def test_activity_before_the_post_does_not_move_the_start() -> None:
    facts = thread(last_activity_at=at("2025-09-29 16:00"))  # the owner answered yesterday's thread

    assert quiet_since(facts, POLICY, HOURS) == at("2025-09-30 08:30")


def test_a_thread_with_nothing_open_has_no_ladder() -> None:
    facts = thread(awaiting=0, oldest_unfixed_at=None, last_activity_at=at("2025-09-30 10:00"))

    assert quiet_since(facts, POLICY, HOURS) is None
    assert thread_ladder(facts, POLICY, HOURS) == []


# --- the fix window -------------------------------------------------------------------


def test_confirmed_items_without_a_fix_start_a_quiet_period_after_the_fix_window() -> None:
    # One item confirmed at 17:30 on the eve (the owner's last activity), the
    # rest deemed at 18:00: nothing awaits any more, the oldest unfixed item
    # dates from 17:30. Fix window 18h: 0h30 on 09-30, 9h on 10-09, 8h30 on
    # 10-10 -> 10-10 17:30. From there (Saturday 10-11 is worked):
    # nudge   0h30 + 1h30 -> 10-11 10:30
    # level 1 0h30 + 3h30 -> 10-11 12:30
    # level 2 0h30 + 8h30 -> 10-11 17:30
    facts = thread(awaiting=0, oldest_unfixed_at=at("2025-09-30 17:30"), last_activity_at=at("2025-09-30 17:30"))

    assert quiet_since(facts, POLICY, HOURS) == at("2025-10-10 17:30")
    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2025-10-11 10:30")),
        (ESCALATE, 1, OPS_HEAD, at("2025-10-11 12:30")),
        (ESCALATE, 2, BOSS, at("2025-10-11 17:30")),
    ]


def test_items_deemed_at_the_close_run_their_fix_window_over_the_holiday() -> None:
    # Deemed at 18:00 on 09-30: 9h on 10-09 + 9h on 10-10, exhausted at the
    # close -> the quiet period starts at the next opening, Saturday 10-11 09:00.
    # nudge 11:00, level 1 13:00; level 2 09:00+9h = the close of 10-11 -> next
    # opening: Sunday 10-12 is off, so Monday 10-13 09:00.
    facts = thread(awaiting=0, oldest_unfixed_at=at("2025-09-30 18:00"))

    assert quiet_since(facts, POLICY, HOURS) == at("2025-10-11 09:00")
    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2025-10-11 11:00")),
        (ESCALATE, 1, OPS_HEAD, at("2025-10-11 13:00")),
        (ESCALATE, 2, BOSS, at("2025-10-13 09:00")),
    ]


def test_an_item_confirmed_on_a_friday_morning_needs_its_fix_by_tuesday() -> None:
    # Confirmed Friday 2026-11-27 10:00: 8h on Friday, 9h on Monday 11-30, 1h on
    # Tuesday 12-01 -> 12-01 10:00; nudge 12:00, level 1 14:00, level 2 = 8h
    # on Tuesday + 1h on Wednesday -> 12-02 10:00.
    facts = thread(
        posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"),
        awaiting=0, oldest_unfixed_at=at("2026-11-27 10:00"), last_activity_at=at("2026-11-27 10:00"),
    )

    assert quiet_since(facts, POLICY, HOURS) == at("2026-12-01 10:00")
    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2026-12-01 12:00")),
        (ESCALATE, 1, OPS_HEAD, at("2026-12-01 14:00")),
        (ESCALATE, 2, BOSS, at("2026-12-02 10:00")),
    ]


def test_activity_after_the_fix_window_opened_restarts_the_quiet_period() -> None:
    # The fix window ran out on 12-01 10:00; the owner replied at 13:00 -> nudge 15:00.
    facts = thread(
        posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"),
        awaiting=0, oldest_unfixed_at=at("2026-11-27 10:00"), last_activity_at=at("2026-12-01 13:00"),
    )

    assert quiet_since(facts, POLICY, HOURS) == at("2026-12-01 13:00")
    assert ladder(facts)[0] == (NUDGE, 0, OWNER, at("2026-12-01 15:00"))


def test_awaiting_items_and_an_unfixed_item_together_count_from_the_earlier_start() -> None:
    # Posted 08:30; one item confirmed the same morning (its fix window ends on
    # Tuesday) while the others still await: the awaiting items rule.
    facts = thread(posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"), oldest_unfixed_at=at("2026-11-27 08:45"))

    assert quiet_since(facts, POLICY, HOURS) == at("2026-11-27 08:30")
    assert ladder(facts)[0] == (NUDGE, 0, OWNER, at("2026-11-27 11:00"))


def test_a_per_thread_policy_changes_the_ladder() -> None:
    # quiet 1h, level 1 2h, level 2 3h from Friday 08:30 (counted from 09:00).
    policy = FollowUpPolicy(quiet=timedelta(hours=1), level1=timedelta(hours=2), level2=timedelta(hours=3))
    facts = thread(posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"))

    assert [due for *_, due in ladder(facts, policy)] == [at("2026-11-27 10:00"), at("2026-11-27 11:00"), at("2026-11-27 12:00")]


@pytest.mark.parametrize(
    ("chain", "expected"),
    [((), [(NUDGE, 0, OWNER)]), ((OPS_HEAD,), [(NUDGE, 0, OWNER), (ESCALATE, 1, OPS_HEAD)])],
    ids=["no-chain", "one-manager"],
)
def test_the_ladder_climbs_only_as_far_as_the_owner_s_chain(chain, expected) -> None:
    assert [(k, lvl, who) for k, lvl, who, _ in ladder(thread(escalation=chain))] == expected


# --- 👀 acknowledgement -------------------------------------------------------------


def test_an_acknowledged_thread_is_quiet_until_its_deadline() -> None:
    # 👀 at 09:30 on Friday 2026-11-27 (it also counts as activity). Reminders
    # pause until the deadline, 18:00: the ladder restarts from there — nudge
    # Monday 11-30 11:00, level 1 13:00, level 2 = all of Monday -> Tuesday 09:00.
    facts = thread(
        posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"),
        last_activity_at=at("2026-11-27 09:30"), acknowledged_at=at("2026-11-27 09:30"),
    )

    assert quiet_since(facts, POLICY, HOURS) == at("2026-11-27 18:00")
    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2026-11-30 11:00")),
        (ESCALATE, 1, OPS_HEAD, at("2026-11-30 13:00")),
        (ESCALATE, 2, BOSS, at("2026-12-01 09:00")),
    ]
    steps = thread_ladder(facts, POLICY, HOURS)
    for now in ("2026-11-27 11:00", "2026-11-27 13:00", "2026-11-27 17:59"):
        assert due_steps(steps, now=at(now), done=set()) == []


def test_an_acknowledgement_stays_in_force_when_the_owner_also_answers_before_the_deadline() -> None:
    # 👀 at 09:30, then a reply in the thread at 11:00: the owner is still
    # looking at it, and 👀 pauses nudges until the deadline.
    facts = thread(
        posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"),
        last_activity_at=at("2026-11-27 11:00"), acknowledged_at=at("2026-11-27 09:30"),
    )

    steps = thread_ladder(facts, POLICY, HOURS)

    assert due_steps(steps, now=at("2026-11-27 13:00"), done=set()) == []
    assert quiet_since(facts, POLICY, HOURS) == at("2026-11-27 18:00")


def test_an_acknowledgement_does_not_hold_off_the_fix_window_ladder() -> None:
    # After the deadline nothing awaits; the deemed items' fix window ends on
    # Wednesday 12-02 09:00 (Monday and Tuesday in full), and the ladder runs from there.
    facts = thread(
        posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"), awaiting=0,
        oldest_unfixed_at=at("2026-11-27 18:00"),
        last_activity_at=at("2026-11-27 09:30"), acknowledged_at=at("2026-11-27 09:30"),
    )

    assert quiet_since(facts, POLICY, HOURS) == at("2026-12-02 09:00")
    assert ladder(facts)[0] == (NUDGE, 0, OWNER, at("2026-12-02 11:00"))


# --- keys, activity and due steps ------------------------------------------------------


def test_keys_name_the_kind_the_thread_the_level_and_the_quiet_period() -> None:
    # 2025-09-30 08:30 Shanghai is 00:30 UTC.
    keys = [s.key for s in thread_ladder(thread(), POLICY, HOURS)]

    assert keys == ["nudge:7:0:20250930T003000", "escalate:7:1:20250930T003000", "escalate:7:2:20250930T003000"]
    assert keys == [s.key for s in thread_ladder(thread(), POLICY, HOURS)]  # recomputed: the same strings


def test_a_key_does_not_depend_on_the_time_zone_the_instant_is_given_in() -> None:
    in_utc = thread(posted_at=at("2025-09-30 08:30"))
    in_shanghai = thread(posted_at=at("2025-09-30 08:30").astimezone(SHANGHAI))

    assert [s.key for s in thread_ladder(in_shanghai, POLICY, HOURS)] == [s.key for s in thread_ladder(in_utc, POLICY, HOURS)]


def test_activity_starts_a_new_quiet_period_with_new_keys() -> None:
    # Friday 2026-11-27: posted 08:30 -> nudge 11:00; the owner confirms one item
    # at 10:00 -> nudge 12:00, level 1 14:00, level 2 = 8h Friday + 1h Monday.
    quiet = thread(posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"))
    answered = replace(quiet, last_activity_at=at("2026-11-27 10:00"))

    before, after = thread_ladder(quiet, POLICY, HOURS), thread_ladder(answered, POLICY, HOURS)

    assert [s.due_at for s in after] == [at("2026-11-27 12:00"), at("2026-11-27 14:00"), at("2026-11-30 10:00")]
    assert {s.since for s in after} == {at("2026-11-27 10:00")}
    assert not {s.key for s in before} & {s.key for s in after}
    assert [s.key for s in after][0] == "nudge:7:0:20261127T020000"


def test_the_nudge_already_sent_in_a_quiet_period_is_not_due_again() -> None:
    steps = thread_ladder(thread(), POLICY, HOURS)
    nudge, level1, level2 = steps

    assert due_steps(steps, now=at("2025-09-30 13:00"), done={nudge.key}) == [level1]
    assert due_steps(steps, now=at("2025-10-09 09:00"), done={nudge.key, level1.key}) == [level2]
    assert due_steps(steps, now=at("2025-10-09 09:00"), done={s.key for s in steps}) == []


def test_due_steps_are_those_due_by_now_in_due_order() -> None:
    steps = thread_ladder(thread(), POLICY, HOURS)

    assert due_steps(steps, now=at("2025-09-30 10:59"), done=set()) == []
    assert [s.level for s in due_steps(steps, now=at("2025-09-30 11:00"), done=set())] == [0]
    assert [s.level for s in due_steps(list(reversed(steps)), now=at("2025-10-09 09:00"), done=set())] == [0, 1, 2]


def test_due_steps_of_several_threads_are_ordered_by_due_time() -> None:
    early = thread_ladder(thread(thread_id=1, posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00")), POLICY, HOURS)
    late = thread_ladder(thread(thread_id=2, posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"), last_activity_at=at("2026-11-27 09:30")), POLICY, HOURS)

    due = due_steps([*late, *early], now=at("2026-11-27 13:30"), done=set())

    # thread 1: nudge 11:00, level 1 13:00; thread 2: nudge 11:30, level 1 13:30
    assert [(s.subject, s.kind, s.due_at) for s in due] == [
        (1, NUDGE, at("2026-11-27 11:00")),
        (2, NUDGE, at("2026-11-27 11:30")),
        (1, ESCALATE, at("2026-11-27 13:00")),
        (2, ESCALATE, at("2026-11-27 13:30")),
    ]


# --- disputes ---------------------------------------------------------------------------


def test_an_unresolved_dispute_is_nudged_and_escalated_on_its_own_clock() -> None:
    # Disputed Friday 10:00: agent nudged at 14:00 (4h); CS lead at 10:00 + 9h =
    # 8h on Friday + 1h on Monday -> 11-30 10:00.
    steps = dispute_ladder(dispute(), POLICY, HOURS)

    assert [(s.kind, s.level, s.recipient, s.due_at, s.subject) for s in steps] == [
        (StepKind.DISPUTE_NUDGE, 0, AGENT, at("2026-11-27 14:00"), 42),
        (StepKind.DISPUTE_ESCALATE, 1, CS_LEAD, at("2026-11-30 10:00"), 42),
    ]
    assert [s.key for s in steps] == ["dispute_nudge:42:0:20261127T020000", "dispute_escalate:42:1:20261127T020000"]


def test_a_dispute_on_the_eve_of_national_day_waits_for_the_holiday_to_end() -> None:
    # Disputed 09-30 15:00: 3h left that day; nudge 3h + 1h -> 10-09 10:00;
    # escalation 3h + 6h -> 10-09 15:00.
    steps = dispute_ladder(dispute(disputed_at=at("2025-09-30 15:00")), POLICY, HOURS)

    assert [s.due_at for s in steps] == [at("2025-10-09 10:00"), at("2025-10-09 15:00")]


def test_a_dispute_whose_agent_is_the_cs_lead_is_not_escalated_to_the_same_person() -> None:
    steps = dispute_ladder(dispute(agent_user=CS_LEAD), POLICY, HOURS)

    assert [(s.kind, s.recipient) for s in steps] == [(StepKind.DISPUTE_NUDGE, CS_LEAD)]


# --- the daily cap ------------------------------------------------------------------------


def step(kind: StepKind, recipient: str, subject: int, level: int = 0) -> Step:
    return Step(kind, level, recipient, at("2026-11-27 13:00"), subject, at("2026-11-27 08:30"))


def test_the_cap_holds_back_what_exceeds_it_per_recipient() -> None:
    steps = [step(NUDGE, OWNER, 1), step(NUDGE, OWNER, 2), step(NUDGE, "U0OWNERZ", 3)]

    send, held = within_cap(steps, sent_today={}, cap=1)

    assert send == [steps[0], steps[2]]
    assert held == [steps[1]]


def test_messages_already_sent_today_count_against_the_cap() -> None:
    steps = [step(NUDGE, OWNER, 1), step(NUDGE, "U0OWNERZ", 3)]

    send, held = within_cap(steps, sent_today={OWNER: 2, "U0OWNERZ": 1}, cap=2)

    assert send == [steps[1]]
    assert held == [steps[0]]


def test_escalations_to_one_manager_in_one_sweep_count_once() -> None:
    steps = [step(ESCALATE, OPS_HEAD, 1, 1), step(ESCALATE, OPS_HEAD, 2, 1), step(ESCALATE, OPS_HEAD, 3, 1)]

    assert within_cap(steps, sent_today={}, cap=1) == (steps, [])
    assert within_cap(steps, sent_today={OPS_HEAD: 1}, cap=1) == ([], steps)


def test_dispute_reminders_to_one_person_share_one_message() -> None:
    steps = [step(StepKind.DISPUTE_NUDGE, AGENT, 41), step(StepKind.DISPUTE_NUDGE, AGENT, 42)]

    assert within_cap(steps, sent_today={}, cap=1) == (steps, [])


def test_different_kinds_of_message_to_one_person_are_separate_messages() -> None:
    # The CS lead gets a reminder as an agent and an escalation as the lead:
    # two DMs, so with a cap of one the second waits.
    steps = [step(StepKind.DISPUTE_NUDGE, CS_LEAD, 41), step(StepKind.DISPUTE_ESCALATE, CS_LEAD, 42, 1)]

    assert within_cap(steps, sent_today={}, cap=1) == ([steps[0]], [steps[1]])


def test_a_cap_of_ten_lets_ten_through() -> None:
    steps = [step(NUDGE, OWNER, i) for i in range(12)]

    send, held = within_cap(steps, sent_today={}, cap=POLICY.daily_cap)

    assert (len(send), len(held)) == (10, 2)
    assert send == steps[:10]


# --- what lies ahead if nobody acts (/reject next) ---------------------------------------


def plan(steps) -> list[tuple[StepKind, int, str, datetime]]:
    return [(s.kind, s.level, s.recipient, s.due_at) for s in steps]


FRIDAY = dict(posted_at=at("2026-11-27 08:30"), deadline=at("2026-11-27 18:00"))


def test_the_projection_of_a_quiet_thread_climbs_on_across_the_deadline() -> None:
    # Friday 2026-11-27: nudge 11:00, level 1 13:00 come before the 18:00
    # deadline, which deems the items confirmed; the silence goes on, so does
    # the ladder: level 2 at 08:30 + 9h = Monday 09:00. It never starts again
    # from the bottom (no nudge when the fix window ends on Wednesday).
    projection = project_thread(thread(**FRIDAY), POLICY, HOURS)

    assert plan(projection.current) == [
        (NUDGE, 0, OWNER, at("2026-11-27 11:00")),
        (ESCALATE, 1, OPS_HEAD, at("2026-11-27 13:00")),
    ]
    assert plan(projection.after_deadline) == [(ESCALATE, 2, BOSS, at("2026-11-30 09:00"))]
    assert projection.missing_year is None
    # the after-deadline steps are the ones the sweep computes once the items are deemed, with the same keys
    deemed = thread(**FRIDAY, awaiting=0, deemed_unfixed=3, oldest_unfixed_at=at("2026-11-27 18:00"))
    assert projection.current + projection.after_deadline == thread_ladder(deemed, POLICY, HOURS)
    assert [s.key for s in thread_ladder(thread(**FRIDAY), POLICY, HOURS)] == [s.key for s in thread_ladder(deemed, POLICY, HOURS)]


def test_owner_activity_after_the_deadline_ends_the_silence_and_the_fix_phase_starts_at_the_fix_window() -> None:
    # Deemed Friday 18:00; the owner records a fix for one item on Monday 10:00,
    # leaving the others: the quiet period now starts when the fix window ends
    # (Wednesday 12-02 09:00), from the bottom, as for items the owner confirmed.
    facts = thread(**FRIDAY, awaiting=0, deemed_unfixed=2, oldest_unfixed_at=at("2026-11-27 18:00"), last_activity_at=at("2026-11-30 10:00"))

    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2026-12-02 11:00")),
        (ESCALATE, 1, OPS_HEAD, at("2026-12-02 13:00")),
        (ESCALATE, 2, BOSS, at("2026-12-03 09:00")),
    ]


def test_a_silence_that_began_after_an_answer_before_the_deadline_goes_on_after_it() -> None:
    # The owner answered one item at 10:00 and left the rest to the deadline.
    facts = thread(**FRIDAY, awaiting=0, deemed_unfixed=2, oldest_unfixed_at=at("2026-11-27 10:00"), last_activity_at=at("2026-11-27 10:00"))

    assert ladder(facts) == [
        (NUDGE, 0, OWNER, at("2026-11-27 12:00")),
        (ESCALATE, 1, OPS_HEAD, at("2026-11-27 14:00")),
        (ESCALATE, 2, BOSS, at("2026-11-30 10:00")),
    ]


def test_the_projection_of_an_acknowledged_thread_has_nothing_before_the_deadline() -> None:
    facts = thread(**FRIDAY, last_activity_at=at("2026-11-27 09:30"), acknowledged_at=at("2026-11-27 09:30"))

    projection = project_thread(facts, POLICY, HOURS)

    assert projection.current == []
    # 👀 paused the ladder until the deadline; from there the silence climbs
    assert plan(projection.after_deadline) == [
        (NUDGE, 0, OWNER, at("2026-11-30 11:00")),
        (ESCALATE, 1, OPS_HEAD, at("2026-11-30 13:00")),
        (ESCALATE, 2, BOSS, at("2026-12-01 09:00")),
    ]


def test_the_projection_counts_the_silence_from_an_earlier_confirmation() -> None:
    # One item confirmed at 10:00 (its fix due Tuesday 12-01 10:00), the rest await.
    facts = thread(**FRIDAY, oldest_unfixed_at=at("2026-11-27 10:00"), last_activity_at=at("2026-11-27 10:00"))

    projection = project_thread(facts, POLICY, HOURS)

    assert plan(projection.current) == [(NUDGE, 0, OWNER, at("2026-11-27 12:00")), (ESCALATE, 1, OPS_HEAD, at("2026-11-27 14:00"))]
    assert plan(projection.after_deadline) == [(ESCALATE, 2, BOSS, at("2026-11-30 10:00"))]


def test_the_projection_of_a_thread_with_nothing_awaiting_is_its_ladder() -> None:
    facts = thread(**FRIDAY, awaiting=0, oldest_unfixed_at=at("2026-11-27 10:00"), last_activity_at=at("2026-11-27 10:00"))

    projection = project_thread(facts, POLICY, HOURS)

    assert projection.current == thread_ladder(facts, POLICY, HOURS)
    assert projection.after_deadline == []


def test_the_projection_says_which_year_has_no_calendar_data() -> None:
    # Thursday 2026-12-31: nudge 11:00 and level 1 13:00 are in 2026; level 2,
    # after the deadline (09:00 + 9h = the close -> the next working day), needs 2027, which has no data.
    facts = thread(posted_at=at("2026-12-31 08:30"), deadline=at("2026-12-31 18:00"))

    projection = project_thread(facts, POLICY, HOURS)

    assert plan(projection.current) == [(NUDGE, 0, OWNER, at("2026-12-31 11:00")), (ESCALATE, 1, OPS_HEAD, at("2026-12-31 13:00"))]
    assert projection.after_deadline == []
    assert projection.missing_year == 2027


def test_until_cut_keeps_the_steps_before_a_year_without_data() -> None:
    facts = thread(posted_at=at("2026-12-31 08:30"), deadline=at("2026-12-31 18:00"))

    steps, year = until_cut(thread_ladder, facts, POLICY, HOURS)

    assert ([s.level for s in steps], year) == ([0, 1], 2027)
    assert until_cut(thread_ladder, thread(), POLICY, HOURS) == (thread_ladder(thread(), POLICY, HOURS), None)


def test_pending_steps_leave_out_those_taken_and_keep_due_order() -> None:
    steps = thread_ladder(thread(), POLICY, HOURS)

    assert pending_steps(reversed(steps), done={steps[0].key}) == tuple(steps[1:])

