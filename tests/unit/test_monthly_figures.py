"""The monthly notice's figures on a hand-built month (November 2025,
Shanghai, working hours 09:00–18:00, China's official calendar: no holiday in
November). Every expected number is worked out by hand below, item by item;
none is computed by the code under test."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from bot.core.monthly import (
    AuditRow,
    BookedPenalty,
    Counts,
    Escalation,
    Month,
    MonthFigures,
    MonthItem,
    ReportedRejection,
    compute_figures,
)
from bot.core.workcal import WorkCalendar
from bot.core.worktime import WorkingHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(calendar=WorkCalendar(), start=time(9), end=time(18), tz=SHANGHAI)
NOV = Month(2025, 11)
AS_OF = datetime(2025, 12, 1, 9, 30, tzinfo=SHANGHAI)  # Monday, the first working day of December
LARGE, SMALL = "大件配送", "小件配送"
NJ, SZ = "南京分公司", "苏州分公司"
WANG, LI = "王丽", "李娜"
WINDOWS = {LARGE: timedelta(hours=18), SMALL: timedelta(hours=9)}
_ids = count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2025-{text}").replace(tzinfo=SHANGHAI)


def row(when: str, action: str, frm: str, to: str, *, actor: str = "U0OWNER", role: str = "owner", surface: str = "button", note: str = "") -> AuditRow:
    return AuditRow(next(_ids), at(when), actor, role, surface, action, frm, to, note)


def post(when: str) -> AuditRow:
    return row(when, "post", "new", "awaiting", actor="bot", role="system", surface="scheduler")


def deem(when: str) -> AuditRow:
    return row(when, "deem", "awaiting", "deemed_confirmed", actor="bot", role="system", surface="scheduler")


def cs(when: str, action: str, frm: str, to: str, note: str = "") -> AuditRow:
    return row(when, action, frm, to, actor="U0LEAD", role="cs_lead", surface="command", note=note)


def item(order: str, owner: str, branch: str, agent: str, day: str, *rows: AuditRow) -> MonthItem:
    return MonthItem(
        id=next(_ids), order_no=order, rejected_on=date.fromisoformat(f"2025-{day}") - timedelta(days=1), branch=branch,
        category="large" if owner == LARGE else "small", customer="张三 13800000000", callback_agent=agent, note="",
        owner=owner, digest_day=date.fromisoformat(f"2025-{day}"), history=rows,
    )


# --- 大件配送 (fix window 18 working hours) ----------------------------------
# L1: confirmed Mon 10:00 (answer 09:00→10:00 = 1h); fixed Tue 11:00
#     (fix 10:00→18:00 8h + 09:00→11:00 2h = 10h <= 18h: in the window). CONFIRMED.
L1 = item("L1", LARGE, NJ, WANG, "11-03", post("11-03 08:30"), row("11-03 10:00", "confirm", "awaiting", "confirmed"),
          row("11-04 11:00", "fix", "confirmed", "fixed", note="已重新派送"))
# L2: nobody answers; deemed Mon 18:00; fixed Thu 12:00 (Tue 9h + Wed 9h + Thu 3h
#     = 21h > 18h: outside the window). DEEMED, no answer time.
L2 = item("L2", LARGE, NJ, WANG, "11-03", post("11-03 08:30"), deem("11-03 18:00"),
          row("11-06 12:00", "fix", "deemed_confirmed", "fixed", note="已恢复订单"))
# L3: disputed Tue 11:00 (answer 2h), upheld by CS: UPHELD; 李娜's penalty ¥50.
L3 = item("L3", LARGE, SZ, LI, "11-04", post("11-04 08:30"), row("11-04 11:00", "dispute", "awaiting", "disputed", note="客户改约"),
          cs("11-04 15:00", "uphold", "disputed", "withdrawn"))
# L4: disputed Tue 09:30 (answer 30 min), overruled Wed: OVERRULED (counts as confirmed), no fix.
L4 = item("L4", LARGE, SZ, WANG, "11-04", post("11-04 08:30"), row("11-04 09:30", "dispute", "awaiting", "disputed", note="x"),
          cs("11-05 10:00", "overrule", "disputed", "confirmed", note="录音"))
# L5: disputed Mon 13:00 (answer 4h); CS upholds only on 1 December 10:00,
#     after as_of: still a dispute awaiting CS. OPEN (and disputed).
L5 = item("L5", LARGE, NJ, LI, "11-10", post("11-10 08:30"), row("11-10 13:00", "dispute", "awaiting", "disputed", note="x"),
          cs("12-01 10:00", "uphold", "disputed", "withdrawn"))
# L6: ✅ at 09:10 (first answer: 10 min), removed at 09:12 (undo), then deemed at
#     18:00. DEEMED; its answer time is the first confirmation's.
L6 = item("L6", LARGE, NJ, WANG, "11-10", post("11-10 08:30"), row("11-10 09:10", "confirm", "awaiting", "confirmed", surface="reaction"),
          row("11-10 09:12", "undo_confirm", "confirmed", "awaiting", surface="reaction"), deem("11-10 18:00"))
# L7: confirmed Tue 10:00 (answer 1h), reopened by CS Wed, unanswered since: OPEN.
L7 = item("L7", LARGE, SZ, WANG, "11-11", post("11-11 08:30"), row("11-11 10:00", "confirm", "awaiting", "confirmed"),
          cs("11-12 10:00", "reopen", "confirmed", "awaiting", note="误确认"))
# L8: voided by CS before any answer: not posted, CS's own correction (李娜's record).
L8 = item("L8", LARGE, NJ, LI, "11-12", post("11-12 08:30"), cs("11-12 09:30", "void", "awaiting", "voided", note="录入错误，张三 13800000000 已签收"))
# L9: the digest of Friday 28 November, posted late at 17:00, confirmed on Monday
#     1 December 09:15 (before as_of): counts in November, CONFIRMED; answer
#     17:00→18:00 1h + 09:00→09:15 = 1h15.
L9 = item("L9", LARGE, NJ, WANG, "11-28", post("11-28 17:00"), row("12-01 09:15", "confirm", "awaiting", "confirmed"))
# L10: the digest of 1 December: December's, not counted at all.
L10 = item("L10", LARGE, NJ, WANG, "12-01", post("12-01 08:30"), row("12-01 09:00", "confirm", "awaiting", "confirmed"))
# L11: confirmed Thu 14:00 (answer 09:00→14:00 = 5h); its fix on 1 December
#     10:00 is after as_of: CONFIRMED, not fixed.
L11 = item("L11", LARGE, SZ, WANG, "11-20", post("11-20 08:30"), row("11-20 14:00", "confirm", "awaiting", "confirmed"),
           row("12-01 10:00", "fix", "confirmed", "fixed", note="late"))

# --- 小件配送 (fix window 9 working hours) -----------------------------------
# S1: confirmed Wed 09:45 (45 min), fixed 17:45 (8h <= 9h: in). CONFIRMED.
S1 = item("S1", SMALL, NJ, WANG, "11-05", post("11-05 08:30"), row("11-05 09:45", "confirm", "awaiting", "confirmed"),
          row("11-05 17:45", "fix", "confirmed", "fixed", note="ok"))
# S2: confirmed Thu 09:00 (answer: all of Wednesday, 9h); fixed Fri 10:00
#     (9h + 1h = 10h > 9h: outside). CONFIRMED.
S2 = item("S2", SMALL, NJ, LI, "11-05", post("11-05 08:30"), row("11-06 09:00", "confirm", "awaiting", "confirmed"),
          row("11-07 10:00", "fix", "confirmed", "fixed", note="ok"))
# S3: disputed 10:00 (1h), upheld next day: UPHELD; 李娜's penalty ¥50.
S3 = item("S3", SMALL, NJ, LI, "11-17", post("11-17 08:30"), row("11-17 10:00", "dispute", "awaiting", "disputed", note="x"),
          cs("11-18 09:00", "uphold", "disputed", "withdrawn"))
# S4: deemed Mon 18:00, reopened Tue 10:00, confirmed Tue 11:00 (first answer:
#     Mon 9h + Tue 2h = 11h): CONFIRMED (the deem was taken back), not fixed.
S4 = item("S4", SMALL, NJ, WANG, "11-24", post("11-24 08:30"), deem("11-24 18:00"),
          cs("11-25 10:00", "reopen", "deemed_confirmed", "awaiting", note="漏看"), row("11-25 11:00", "confirm", "awaiting", "confirmed"))

# --- October, for the trend ---------------------------------------------------
# 大件配送: P1 confirmed, P2 deemed (mistaken: 2); P3 voided and P4 upheld are
# not mistaken; P5's confirmation came after as_of: still awaiting. 小件配送: none.
P1 = item("P1", LARGE, NJ, WANG, "10-20", post("10-20 08:30"), row("10-20 10:00", "confirm", "awaiting", "confirmed"))
P2 = item("P2", LARGE, NJ, WANG, "10-21", post("10-21 08:30"), deem("10-21 18:00"))
P3 = item("P3", LARGE, NJ, LI, "10-21", post("10-21 08:30"), cs("10-21 09:00", "void", "awaiting", "voided", note="x"))
P4 = item("P4", LARGE, SZ, LI, "10-22", post("10-22 08:30"), row("10-22 10:00", "dispute", "awaiting", "disputed", note="x"),
          cs("10-22 12:00", "uphold", "disputed", "withdrawn"))
P5 = item("P5", LARGE, SZ, WANG, "10-31", post("10-31 08:30"), row("12-02 10:00", "confirm", "awaiting", "confirmed"))

ESCALATIONS = [
    Escalation(LARGE, 1, False, "U0HEAD", at("11-03 13:00")),  # in November
    Escalation(LARGE, 2, True, "U0BOSS", at("11-04 09:00")),  # in November
    Escalation(LARGE, 1, False, "U0HEAD", at("10-31 13:00")),  # October's
    Escalation(LARGE, 1, False, "U0HEAD", at("12-01 09:00")),  # December's, though before as_of
]
PENALTIES = [
    BookedPenalty(L3.id, "cs_accuracy", LI, 50, at("11-04 15:00")),
    BookedPenalty(S3.id, "cs_accuracy", LI, 50, at("11-18 09:00")),
    BookedPenalty(P4.id, "cs_accuracy", LI, 50, at("10-22 12:00")),  # an October item's
    BookedPenalty(L5.id, "cs_accuracy", LI, 50, at("12-01 10:00")),  # after as_of
]
ITEMS = [L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, S1, S2, S3, S4]
PREVIOUS = [P1, P2, P3, P4, P5]


def figures(per_item: int | None = 100, as_of: datetime = AS_OF) -> MonthFigures:
    return compute_figures(
        month=NOV, as_of=as_of, items=ITEMS, previous_items=PREVIOUS, escalations=ESCALATIONS, penalties=PENALTIES,
        hours=HOURS, fix_window=WINDOWS.__getitem__, per_item=per_item,
    )


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def test_the_large_owner_figures_by_hand() -> None:
    large = figures().owner(LARGE)
    # posted: L1–L7, L9, L11 = 9 (L8 voided, L10 December's)
    # answers: L6 10m, L4 30m, L1 60m, L7 60m, L9 75m, L3 120m, L5 240m, L11 300m → median (60+75)/2
    # fixes: L1 10h (in), L2 21h (out) → median 15h30
    assert large.counts == Counts(
        posted=9, confirmed=3, deemed=2, disputed=3, upheld=1, overruled=1, open=2, fixed=2, fixed_in_window=1,
        answer_median=minutes(67.5), fix_median=timedelta(hours=15, minutes=30), escalations=2,
    )
    assert large.counts.mistaken == 6
    assert large.penalty == 600  # 6 × ¥100
    assert (large.trend.previous, large.trend.current, large.trend.arrow, large.trend.percent) == (2, 6, "↑", 200)


def test_the_large_owner_per_branch() -> None:
    nanjing, suzhou = figures().owner(LARGE).branches
    # 南京: L1 confirmed+fixed in, L2 deemed+fixed out, L5 open dispute, L6 deemed, L9 confirmed
    # answers 10, 60, 75, 240 → (60+75)/2; escalations belong to the owner, not a branch
    assert nanjing.branch == NJ
    assert nanjing.counts == Counts(
        posted=5, confirmed=2, deemed=2, disputed=1, upheld=0, overruled=0, open=1, fixed=2, fixed_in_window=1,
        answer_median=minutes(67.5), fix_median=timedelta(hours=15, minutes=30), escalations=0,
    )
    # 苏州: L3 upheld, L4 overruled, L7 open, L11 confirmed; answers 30, 60, 120, 300 → (60+120)/2
    assert suzhou.branch == SZ
    assert suzhou.counts == Counts(
        posted=4, confirmed=1, deemed=0, disputed=2, upheld=1, overruled=1, open=1, fixed=0, fixed_in_window=0,
        answer_median=minutes(90), fix_median=None, escalations=0,
    )


def test_the_small_owner_figures_by_hand() -> None:
    small = figures().owner(SMALL)
    # S1, S2, S4 confirmed, S3 upheld; answers 45m, 60m, 540m, 660m → (60+540)/2 = 5h
    # fixes S1 8h (in), S2 10h (out) → 9h
    assert small.counts == Counts(
        posted=4, confirmed=3, deemed=0, disputed=1, upheld=1, overruled=0, open=0, fixed=2, fixed_in_window=1,
        answer_median=timedelta(hours=5), fix_median=timedelta(hours=9), escalations=0,
    )
    assert [b.branch for b in small.branches] == [NJ]
    assert small.penalty == 300
    assert (small.trend.previous, small.trend.arrow, small.trend.percent) == (None, "→", None)  # no October items


def test_totals_agents_and_corrections_by_hand() -> None:
    f = figures()
    # 12 answer times: 10,30,45,60,60,60,75,120,240,300,540,660 → (60+75)/2; fixes 8h,10h,10h,21h → 10h
    assert f.totals == Counts(
        posted=13, confirmed=6, deemed=2, disputed=4, upheld=2, overruled=1, open=2, fixed=4, fixed_in_window=2,
        answer_median=minutes(67.5), fix_median=timedelta(hours=10), escalations=2,
    )
    assert [o.owner for o in f.owners] == sorted([LARGE, SMALL])
    agents = {a.agent: a for a in f.agents}
    # 王丽: L1 L2 L4 L6 L7 L9 L11 S1 S4 = 9 posted, one dispute (L4, overruled)
    assert (agents[WANG].posted, agents[WANG].disputed, agents[WANG].upheld, agents[WANG].penalty, agents[WANG].voided) == (9, 1, 0, 0, 0)
    # 李娜: L3 L5 S2 S3 = 4 posted; disputes L3 L5 S3; upheld L3 S3: ¥100 (October's and
    # the one after as_of not counted); L8 voided
    assert (agents[LI].posted, agents[LI].disputed, agents[LI].upheld, agents[LI].penalty, agents[LI].voided) == (4, 3, 2, 100, 1)
    assert f.logistics_penalty == 900
    assert f.cs_penalty == 100
    (correction,) = f.corrections
    assert (correction.order_no, correction.agent, correction.owner, correction.actor, correction.note) == ("L8", LI, LARGE, "U0LEAD", "录入错误，张* 138****0000 已签收")  # masked as the channel shows it
    assert correction.at == at("11-12 09:30")


def test_no_money_without_an_amount_per_item() -> None:
    f = figures(per_item=None)
    assert f.owner(LARGE).penalty is None
    assert f.logistics_penalty is None
    assert f.cs_penalty == 100  # CS's penalties are booked, always money


def test_an_earlier_as_of_sees_the_month_as_it_was_then() -> None:
    # As of Friday 28 November 12:00: L9 not posted yet (17:00), so not counted;
    # everything else of the month happened before.
    f = figures(as_of=at("11-28 12:00"))
    assert f.owner(LARGE).counts.posted == 8
    assert f.owner(LARGE).counts.confirmed == 2  # L1, L11
    # P5's confirmation (2 December) is not seen either way: October's mistaken stays 2
    assert f.owner(LARGE).trend.previous == 2


def test_a_rerun_with_the_same_as_of_gives_identical_figures() -> None:
    assert figures() == figures()


def test_the_figures_round_trip_through_json() -> None:
    f = figures()
    text = f.to_json()
    json.loads(text)
    assert MonthFigures.from_json(text) == f


# --- legitimate-rejection reports (bot.core.reports): reported properly -------------------

NEWCOMER = "新负责人"
REPORTED = [
    # kept: counts for the small owner
    ReportedRejection(SMALL, "R1", date(2025, 11, 20), at("11-20 15:00"), at("11-21 08:00"), WANG, decision="keep", decided_at=at("11-21 09:30"), decided_by="U0CS1"),
    # dropped: counts for the large owner, and is CS's correction (李娜's record)
    ReportedRejection(LARGE, "R2", date(2025, 11, 25), at("11-25 16:00"), at("11-26 08:00"), LI, decision="drop", decided_at=at("11-26 10:00"), decided_by="U0LEAD"),
    # rejected in October: October's
    ReportedRejection(LARGE, "R3", date(2025, 10, 30), at("10-30 16:00"), at("11-03 08:00"), LI),
    # CS's record came after as_of (1 December 09:30): not seen yet
    ReportedRejection(SMALL, "R4", date(2025, 11, 28), at("11-28 16:00"), datetime(2025, 12, 1, 10, 0, tzinfo=SHANGHAI), WANG),
    # an owner with no posted item this month: shown for the good behaviour alone
    ReportedRejection(NEWCOMER, "R5", date(2025, 11, 3), at("11-03 11:00"), at("11-04 08:00"), WANG, decision="keep", decided_at=at("11-04 09:10"), decided_by="U0CS1"),
]


def reported_figures() -> MonthFigures:
    return compute_figures(
        month=NOV, as_of=AS_OF, items=ITEMS, previous_items=PREVIOUS, escalations=ESCALATIONS, penalties=PENALTIES,
        hours=HOURS, fix_window=WINDOWS.__getitem__, per_item=100, reported=REPORTED,
    )


def test_reported_properly_counts_per_owner_by_hand() -> None:
    f = reported_figures()
    assert f.owner(SMALL).counts == Counts(  # as without reports, plus R1 (R4 after as_of)
        posted=4, confirmed=3, deemed=0, disputed=1, upheld=1, overruled=0, open=0, fixed=2, fixed_in_window=1,
        answer_median=timedelta(hours=5), fix_median=timedelta(hours=9), escalations=0, reported=1,
    )
    assert f.owner(LARGE).counts.reported == 1  # R2 (R3 is October's)
    assert f.owner(LARGE).counts.posted == 9  # R2 was dropped: never posted
    assert f.owner(NEWCOMER).counts == Counts(reported=1)
    assert f.owner(NEWCOMER).penalty == 0
    assert f.totals.reported == 3
    assert f.totals.posted == 13 and f.logistics_penalty == 900  # reports change no other figure


def test_a_dropped_reported_record_is_a_cs_correction_by_hand() -> None:
    f = reported_figures()
    assert [(c.order_no, c.agent, c.owner, c.actor, c.at) for c in f.corrections] == [
        ("L8", LI, LARGE, "U0LEAD", at("11-12 09:30")), ("R2", LI, LARGE, "U0LEAD", at("11-26 10:00")),
    ]
    agents = {a.agent: a for a in f.agents}
    assert (agents[LI].posted, agents[LI].voided) == (4, 2)  # L8 voided, R2 dropped
    assert agents[WANG].voided == 0


def test_figures_with_reports_round_trip_through_json() -> None:
    f = reported_figures()
    assert MonthFigures.from_json(f.to_json()) == f
