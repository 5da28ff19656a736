"""The work contact letter's pure parts: its facts from the figures and rows
(and back from JSON), the reply deadline in working days, the two triggers,
who may do what (``decide``), the edit modal's checks, and ``[letters]`` in
the routing file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_routing
from bot.core.commands import Command, CommandError, Verb, parse_command
from bot.core.letter_blocks import check_edit, edit_modal, list_text, read_letter_metadata
from bot.core.letters import (
    LetterAction,
    LetterReason,
    LetterStatus,
    UnfixedItem,
    Verdict,
    add_working_days,
    build_facts,
    decide,
    draft_key,
    escalation_days,
    facts_from_json,
    facts_to_json,
    issue,
    letter_number,
    no_improvement,
    reached_escalation_days,
    unfixed_change,
)
from bot.core.monthly import Counts, Escalation, Month, MonthFigures, OwnerFigures, Trend
from bot.core.routing import CalendarOverrides, Letters
from bot.core.workcal import WorkCalendar
from bot.i18n import Catalog
from bot.ids import BlockId

SHANGHAI = ZoneInfo("Asia/Shanghai")
EN, ZH = Catalog("en"), Catalog("zh_CN")
CALENDAR = WorkCalendar(CalendarOverrides())
EXAMPLE = (Path(__file__).resolve().parents[2] / "routing.example.toml").read_text(encoding="utf-8")
NOV = Month(2026, 11)


def weekdays(day: date) -> bool:
    return day.weekday() < 5


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def owner_figures(name: str, *, confirmed: int, deemed: int, overruled: int = 0, previous: int | None) -> OwnerFigures:
    counts = Counts(posted=confirmed + deemed + overruled, confirmed=confirmed, deemed=deemed, overruled=overruled)
    return OwnerFigures(owner=name, counts=counts, branches=(), trend=Trend(previous=previous, current=counts.mistaken), penalty=None)


# --- numbers, keys, deadlines -------------------------------------------------------------


def test_letter_numbers_take_three_digits_and_the_year() -> None:
    assert letter_number("KF", 2026, 7) == "KF-2026-007"
    assert letter_number("XY", 2027, 1234) == "XY-2027-1234"
    assert draft_key("大件配送", NOV) == "letter:大件配送:2026-11"


def test_the_reply_deadline_counts_working_days_after_the_letter_s_date() -> None:
    # Friday 27 November + 5 working days: Mon 30, Tue 1, Wed 2, Thu 3, Fri 4 December.
    assert add_working_days(date(2026, 11, 27), 5, weekdays) == date(2026, 12, 4)
    # The official calendar: the National Day holiday, 1–7 October 2026, is skipped.
    assert add_working_days(date(2026, 9, 30), 1, CALENDAR.is_working_day) == date(2026, 10, 8)


# --- facts ------------------------------------------------------------------------------------


def facts(**changes):
    figures = MonthFigures(
        month=NOV, as_of=at("2026-11-30 10:00").astimezone(UTC), per_item=20,
        owners=(owner_figures("大件配送", confirmed=4, deemed=2, overruled=1, previous=5),), agents=(),
    )
    unfixed = [
        UnfixedItem(f"SO{n}", date(2026, 11, 20 - n), "杭州分公司", "confirmed", at(f"2026-11-{21 - n} 10:00").astimezone(UTC))
        for n in range(7)
    ]
    escalations = [
        Escalation("大件配送", 2, True, "U0LOGIBOSS", at("2026-11-25 15:00").astimezone(UTC)),
        Escalation("小件配送", 2, True, "U0LOGIBOSS", at("2026-11-24 15:00").astimezone(UTC)),  # someone else's
        Escalation("大件配送", 1, False, "U0OPSHEAD", at("2026-11-24 11:00").astimezone(UTC)),
    ]
    values = dict(
        owner="大件配送", month=NOV, reason=LetterReason.ESCALATIONS, figures=figures, unfixed=unfixed, escalations=escalations,
        sender="客服部", recipient="物流中心", agreement="每日核实", improvement="请整改", reply_days=5,
        issued_on=date(2026, 11, 30), is_working_day=weekdays,
    )
    values.update(changes)
    return build_facts(**values)


def test_the_facts_come_from_the_figures_and_rows() -> None:
    built = facts()
    assert built.counts.mistaken == 7 and built.previous_mistaken == 5 and built.per_item == 20
    assert [u.order_no for u in built.unfixed] == ["SO6", "SO5", "SO4", "SO3", "SO2"]  # the five oldest
    assert [(e.level, e.recipient) for e in built.escalations] == [(1, "U0OPSHEAD"), (2, "U0LOGIBOSS")]  # the owner's, oldest first
    assert built.reply_by == date(2026, 12, 7)
    assert built.number == "" and built.as_of == at("2026-11-30 10:00")  # the number is given on approval


def test_each_escalation_carries_its_manager_s_name_when_known() -> None:
    built = facts(names={"U0LOGIBOSS": "赵刚"})
    assert [(e.recipient, e.name) for e in built.escalations] == [("U0OPSHEAD", ""), ("U0LOGIBOSS", "赵刚")]
    assert facts_from_json(facts_to_json(built)) == built
    older = json.loads(facts_to_json(built))  # a letter stored before names were kept
    for e in older["escalations"]:
        del e["name"]
    assert [e.name for e in facts_from_json(json.dumps(older)).escalations] == ["", ""]


def test_an_owner_without_items_that_month_has_zero_figures() -> None:
    built = facts(owner="小件配送")
    assert built.counts == Counts() and built.previous_mistaken is None
    assert [e.recipient for e in built.escalations] == ["U0LOGIBOSS"]


def test_the_facts_survive_json() -> None:
    built = issue(facts(), number="KF-2026-001", issued_on=date(2026, 12, 1), is_working_day=weekdays)
    assert built.reply_by == date(2026, 12, 8)
    assert facts_from_json(facts_to_json(built)) == built
    with_medians = facts(figures=MonthFigures(month=NOV, as_of=at("2026-11-30 10:00"), per_item=None, owners=(
        OwnerFigures("大件配送", Counts(posted=1, confirmed=1, answer_median=timedelta(hours=3, minutes=5)), (), Trend(None, 1), None),
    ), agents=()))
    assert facts_from_json(facts_to_json(with_medians)) == with_medians


def test_approval_lists_the_unfixed_items_as_they_are_then_and_says_what_changed() -> None:
    drafted = facts()
    still = [u for u in drafted.unfixed if u.order_no != "SO5"]  # SO5 fixed since the draft
    newly = UnfixedItem("SO9", date(2026, 11, 1), "杭州分公司", "deemed_confirmed", at("2026-11-30 18:00").astimezone(UTC))

    issued = issue(drafted, number="KF-2026-001", issued_on=date(2026, 12, 1), is_working_day=weekdays, unfixed=[*still, newly])

    assert [u.order_no for u in issued.unfixed] == ["SO9", "SO6", "SO4", "SO3", "SO2"]
    assert unfixed_change(drafted.unfixed, issued.unfixed) == "-SO5 +SO9"
    assert unfixed_change(drafted.unfixed, drafted.unfixed) == ""
    assert issue(drafted, number="KF-2026-001", issued_on=date(2026, 12, 1), is_working_day=weekdays).unfixed == drafted.unfixed


# --- the triggers ------------------------------------------------------------------------------


def top(day: str, owner: str = "大件配送", *, top_level: bool = True) -> Escalation:
    return Escalation(owner, 2 if top_level else 1, top_level, "U0LOGIBOSS", at(day).astimezone(UTC))


def test_k_days_counts_distinct_local_working_days_with_a_top_level_escalation() -> None:
    escalations = [
        top("2026-11-24 10:00"), top("2026-11-24 16:00"),  # one day, twice
        top("2026-11-25 00:30"),  # 24 November 16:30 UTC: the 25th in Shanghai
        top("2026-11-26 11:00", top_level=False),  # not the top of the chain
        top("2026-11-27 11:00", owner="小件配送"),  # another owner
        top("2026-11-28 11:00"),  # a Saturday
        top("2026-10-30 11:00"),  # last month
    ]
    days = escalation_days(escalations, owner="大件配送", month=NOV, tz=SHANGHAI, is_working_day=weekdays)
    assert days == [date(2026, 11, 24), date(2026, 11, 25)]
    assert not reached_escalation_days(escalations, owner="大件配送", month=NOV, k=3, tz=SHANGHAI, is_working_day=weekdays)
    assert reached_escalation_days([*escalations, top("2026-11-30 09:30")], owner="大件配送", month=NOV, k=3, tz=SHANGHAI, is_working_day=weekdays)


@pytest.mark.parametrize(
    ("confirmed", "deemed", "overruled", "previous", "expected"),
    [
        (3, 2, 0, 5, True),  # as many as before: no improvement
        (4, 2, 0, 5, True),  # more
        (2, 2, 0, 5, False),  # fewer: improving
        (0, 0, 0, 0, False),  # none at all
        (1, 0, 0, None, False),  # no month before with items (the first notice after going live): nothing to compare with
        (5, 0, 0, None, False),  # ... however many this month
        (1, 0, 0, 0, True),  # a month before with items but no mistakes: 1 >= 0
        (2, 1, 2, 5, True),  # overruled disputes count as confirmed: 5 >= 5
    ],
)
def test_no_improvement_is_mistaken_above_zero_and_at_least_last_month(confirmed, deemed, overruled, previous, expected) -> None:
    assert no_improvement(owner_figures("x", confirmed=confirmed, deemed=deemed, overruled=overruled, previous=previous)) is expected


# --- who may do what ------------------------------------------------------------------------------


ALL = [
    (s, a, lead, recipient, dm_sent)
    for s in LetterStatus for a in LetterAction for lead in (True, False) for recipient in (True, False) for dm_sent in (True, False)
]


@pytest.mark.parametrize(("status", "action", "lead", "recipient", "dm_sent"), ALL)
def test_every_status_action_and_role(status, action, lead, recipient, dm_sent) -> None:
    verdict = decide(status, action, is_cs_lead=lead, is_recipient=recipient, dm_sent=dm_sent)
    if action is LetterAction.ACKNOWLEDGE:
        expected = (
            Verdict.NOT_ALLOWED if not recipient
            else Verdict.DO if status in (LetterStatus.DELIVERED, LetterStatus.OVERDUE)
            else Verdict.DO if status is LetterStatus.APPROVED and dm_sent  # their DM is out, the rest of the delivery not yet
            else Verdict.ALREADY if status is LetterStatus.ACKNOWLEDGED
            else Verdict.TOO_LATE
        )
    elif not lead:
        expected = Verdict.NOT_ALLOWED  # only the CS lead signs off, whatever the status
    elif status is LetterStatus.DRAFT:
        expected = Verdict.DO
    elif action is LetterAction.APPROVE and status is not LetterStatus.DISCARDED:
        expected = Verdict.ALREADY  # a double click on Approve
    elif action is LetterAction.DISCARD and status is LetterStatus.DISCARDED:
        expected = Verdict.ALREADY
    else:
        expected = Verdict.TOO_LATE
    assert verdict is expected


# --- the edit modal and the list ----------------------------------------------------------------------


def test_the_edit_modal_carries_the_letter_and_its_values() -> None:
    view = edit_modal(letter_id=7, improvement="请整改", reply_days=5, catalog=EN)
    assert read_letter_metadata(view["private_metadata"]) == 7
    assert [b["element"].get("initial_value") for b in view["blocks"]] == ["请整改", "5"]
    assert len(view["title"]["text"]) <= 24 and len(ZH.t("letters.edit_title")) <= 24  # Slack's limit for a modal title
    assert read_letter_metadata("not json") is None and read_letter_metadata('{"letter": "x"}') is None


@pytest.mark.parametrize(
    ("improvement", "days", "errors", "value"),
    [
        ("请每日核实", "5", {}, 5),
        ("  ", "5", {BlockId.LETTER_IMPROVEMENT: "Write the improvement you request; the letter cannot go without it."}, 5),
        ("ok", "0", {BlockId.LETTER_REPLY_DAYS: "A whole number of working days from 1 to 60."}, None),
        ("ok", "five", {BlockId.LETTER_REPLY_DAYS: "A whole number of working days from 1 to 60."}, None),
        ("ok", "61", {BlockId.LETTER_REPLY_DAYS: "A whole number of working days from 1 to 60."}, None),
        ("ok", "５", {BlockId.LETTER_REPLY_DAYS: "A whole number of working days from 1 to 60."}, None),
        ("x" * 2001, "3", {BlockId.LETTER_IMPROVEMENT: "At most 2000 characters, please."}, 3),
    ],
)
def test_the_edit_is_checked_field_by_field(improvement, days, errors, value) -> None:
    assert check_edit(improvement, days, EN) == (errors, value)


def test_no_letters_yet_is_said() -> None:
    assert list_text([], EN, SHANGHAI) == "No work contact letters yet."


# --- the commands -------------------------------------------------------------------------------------


def test_the_letter_commands_parse() -> None:
    assert parse_command("letter 大件配送") == Command(Verb.LETTER, reason="大件配送")
    assert parse_command("联系函 <@U0OWNERY|y>") == Command(Verb.LETTER, reason="<@U0OWNERY|y>")
    assert parse_command("letters") == Command(Verb.LETTERS)
    assert parse_command("联系函列表") == Command(Verb.LETTERS)
    with pytest.raises(CommandError) as caught:
        parse_command("letter")
    assert caught.value.key == "letters.needs_owner"


# --- [letters] in the routing file --------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_sets_the_defaults_and_no_table_means_them_too(tmp_path: Path) -> None:
    assert load_routing(write(tmp_path, EXAMPLE)).letters == Letters()
    without = EXAMPLE.split("[letters]")[0]
    assert load_routing(write(tmp_path, without)).letters == Letters(escalation_days=3, reply_days=5, number_prefix="KF", from_=None, to=None, agreement=None)


def test_every_letters_key_is_read(tmp_path: Path) -> None:
    text = EXAMPLE.replace("[letters]", '[letters]\nfrom = " 客服中心 "\nto = "物流中心"\nagreement = "每日核实"', 1)
    text = text.replace("escalation_days = 3", "escalation_days = 2").replace('number_prefix = "KF"', 'number_prefix = "LX"')
    assert load_routing(write(tmp_path, text)).letters == Letters(2, 5, "LX", "客服中心", "物流中心", "每日核实")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("escalation_days = 3", "escalation_days = 0", "letters.escalation_days: 0 is not a whole number of working days from 1 to 60."),
        ("reply_days = 5", "reply_days = true", "letters.reply_days: True is not a whole number of working days from 1 to 60."),
        ("reply_days = 5", 'reply_days = "5"', "letters.reply_days: '5' is not a whole number of working days from 1 to 60."),
        ('number_prefix = "KF"', 'number_prefix = "  "', "letters.number_prefix: '  ' must be a non-empty text."),
        ('number_prefix = "KF"', 'number_prefix = "KF"\nto = 3', "letters.to: 3 must be a non-empty text."),
        ("reply_days = 5", "reply_day = 5", "[letters]: unknown key 'reply_day'; did you mean 'reply_days'?"),
        ('number_prefix = "KF"', 'number_prefix = "KF"\nfrm = "x"', "[letters]: unknown key 'frm'; did you mean 'from'?"),
    ],
)
def test_a_bad_letters_value_is_refused_with_what_is_wrong(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in EXAMPLE
    path = write(tmp_path, EXAMPLE.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert [line.removeprefix(f"{path}: ") for line in caught.value.render(EN)] == [expected]


def test_a_misspelt_letters_table_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace("[letters]", "[letter]"))
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert [line.removeprefix(f"{path}: ") for line in caught.value.render(EN)] == ["Unknown key 'letter' at the top of the routing file; did you mean 'letters'?"]


def test_the_list_and_the_announcement_read_in_chinese() -> None:
    from bot.core.letter_blocks import LetterView, announcement

    view = LetterView(
        id=1, number="KF-2026-001", subject="关于2026年11月大件配送误拒单情况及整改要求的函", owner="大件配送", month="2026-11", reason="by_hand",
        status=LetterStatus.ACKNOWLEDGED, created_at=at("2026-11-27 09:30"), approved_at=at("2026-11-27 09:40"), approved_by="U0CSLEAD",
        delivered_at=at("2026-11-27 09:41"), acknowledged_at=at("2026-11-30 10:00"), acknowledged_by="U0LOGIBOSS", reply_by=date(2026, 12, 4),
        docx_sha256="a" * 64, pdf_sha256="b" * 64,
    )
    assert list_text([view], ZH, SHANGHAI) == "\n".join([
        "*工作联系函（1）：*",
        "• *KF-2026-001* — 大件配送，2026-11：已阅知（起草于 2026-11-27 09:30）",
        "    2026-11-27 09:40 由 <@U0CSLEAD> 批准；2026-11-27 09:41 送达，回复期限 2026-12-04；2026-11-30 10:00 由 <@U0LOGIBOSS> 确认阅知",
        f"    SHA-256 DOCX `{'a' * 64}` · PDF `{'b' * 64}`",
    ])
    built = issue(facts(), number="KF-2026-001", issued_on=date(2026, 11, 27), is_working_day=weekdays)
    assert announcement(view, built, ["U0OWNERY", "U0LOGIBOSS"], ZH).startswith(
        ":page_facing_up: *工作联系函 KF-2026-001*：关于2026年11月大件配送误拒单情况及整改要求的函。发送给 <@U0OWNERY>, <@U0LOGIBOSS>；回复期限 2026-12-04。"
    )
