"""A strict routing file (issue 7): an unknown key anywhere is a problem
naming the nearest valid key; and ``[calendar]``'s years and opt-in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.config import ConfigError, load_routing
from bot.core.routing import CalendarYear, Penalties
from bot.i18n import Catalog

EN = Catalog("en")
ZH = Catalog("zh_CN")
EXAMPLE = (Path(__file__).resolve().parents[2] / "routing.example.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, catalog: Catalog = EN) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    return [line.removeprefix(f"{path}: ").removeprefix(f"{path}：") for line in caught.value.render(catalog)]


# --- unknown keys ------------------------------------------------------------------


def test_the_example_file_has_no_unknown_key(tmp_path: Path) -> None:
    load_routing(write(tmp_path, EXAMPLE))


def test_a_misspelt_escalation_in_an_owner_is_refused_naming_the_key_meant(tmp_path: Path) -> None:
    # Observed: `escalaton` was accepted, and the owner had no escalation chain.
    text = EXAMPLE.replace('escalation = ["U0OPSHEAD", "U0LOGIBOSS"]   #', 'escalaton = ["U0OPSHEAD", "U0LOGIBOSS"]   #')
    assert problems(tmp_path, text) == ["owners[0] (大件配送): unknown key 'escalaton'; did you mean 'escalation'?"]
    assert problems(tmp_path, text, ZH) == ["owners[0] (大件配送)：未知的键 'escalaton'；是否想写 'escalation'？"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('channel = "C0LOGISTICS"', 'chanel = "C0X"\nchannel = "C0LOGISTICS"', "Unknown key 'chanel' at the top of the routing file; did you mean 'channel'?"),
        ('[cs]\n', '[cs]\nleed = "U0CSLEAD"\n', "[cs]: unknown key 'leed'; did you mean 'lead'?"),
        ('[timings]\n', '[timings]\ndigest_time = "08:30"\n', "[timings]: unknown key 'digest_time'; did you mean 'digest_at'?"),
        ('[calendar]\n', '[calendar]\nassume_weekday = [2027]\n', "[calendar]: unknown key 'assume_weekday'; did you mean 'assume_weekdays'?"),
        ('[follow_up]\n', '[follow_up]\nlevel_1_hours = 3\n', "[follow_up]: unknown key 'level_1_hours'; did you mean 'level1_hours'?"),
        ('[penalties]\n', '[penalties]\ncs_wrong_callbak = 3\n', "[penalties]: unknown key 'cs_wrong_callbak'; did you mean 'cs_wrong_callback'?"),
        ('[import]\n', '[import]\nmax_row = 3\n', "[import]: unknown key 'max_row'; did you mean 'max_rows'?"),
        ('[privacy]\n', '[privacy]\nretention = 3\n', "[privacy]: unknown key 'retention'; did you mean 'retention_days'?"),
        ('categories = ["small"]', 'categories = ["small"]\nfollow_up = { quiet_hour = 1 }', "owners[1] (小件配送).follow_up: unknown key 'quiet_hour'; did you mean 'quiet_hours'?"),
        ('[privacy]\n', '[calendar.years.2027]\nholyday = ["2027-01-01"]\n\n[privacy]\n', "[calendar.years.2027]: unknown key 'holyday'; did you mean 'holidays'?"),
        ('[privacy]\n', '[penalty]\ncs_wrong_callback = 50\n\n[privacy]\n', "Unknown key 'penalty' at the top of the routing file; did you mean 'penalties'?"),
    ],
)
def test_an_unknown_key_at_every_level_names_the_nearest(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in EXAMPLE
    assert problems(tmp_path, EXAMPLE.replace(old, new, 1)) == [expected]


def test_a_key_like_no_other_lists_the_keys(tmp_path: Path) -> None:
    text = EXAMPLE.replace("[timings]\n", "[timings]\nzzz = 1\n")
    assert problems(tmp_path, text) == ["[timings]: unknown key 'zzz'; the keys are digest_at, work_start, work_end, reaction_undo_minutes, min_window."]


def test_callback_agents_are_names_not_keys(tmp_path: Path) -> None:
    text = EXAMPLE.replace('agents = { "王丽" = "U0CS0001", "李娜" = "U0CS0002" }', 'agents = { "王丽" = "U0CS0001", "lead" = "U0CS0002" }')
    assert load_routing(write(tmp_path, text)).cs_agents["lead"] == "U0CS0002"


def test_the_logistics_penalty_of_issue_8_is_accepted_already(tmp_path: Path) -> None:
    assert load_routing(write(tmp_path, EXAMPLE)).penalties == Penalties(cs_wrong_callback=50, logistics_per_item=None)
    text = EXAMPLE.replace("[penalties]\n", "[penalties]\nlogistics_per_item = 0\n")
    assert load_routing(write(tmp_path, text)).penalties.logistics_per_item == 0
    bad = EXAMPLE.replace("[penalties]\n", "[penalties]\nlogistics_per_item = -5\n")
    assert problems(tmp_path, bad) == ["penalties.logistics_per_item: -5 is not an amount in yuan like 50."]


# --- [calendar.years.<year>] and assume_weekdays -------------------------------------

SCHEDULE_2027 = """
[calendar.years.2027]
holidays = ["2027-01-01", "2027-02-05..2027-02-11", 2027-10-01]
working_days = ["2027-02-14", 2027-10-09]
"""


def test_a_year_s_schedule_is_read_with_dates_ranges_and_toml_dates(tmp_path: Path) -> None:
    routing = load_routing(write(tmp_path, EXAMPLE + SCHEDULE_2027))
    holidays = {date(2027, 1, 1), date(2027, 10, 1)} | {date(2027, 2, d) for d in range(5, 12)}
    assert routing.calendar.years == (CalendarYear(2027, frozenset(holidays), frozenset({date(2027, 2, 14), date(2027, 10, 9)})),)
    assert routing.calendar.assume_weekdays == frozenset()


def test_assume_weekdays_names_years(tmp_path: Path) -> None:
    text = EXAMPLE.replace("assume_weekdays = []", "assume_weekdays = [2027, 2028]")
    assert load_routing(write(tmp_path, text)).calendar.assume_weekdays == frozenset({2027, 2028})


def test_every_bad_schedule_entry_is_reported(tmp_path: Path) -> None:
    text = EXAMPLE.replace("assume_weekdays = []", 'assume_weekdays = [2027, "2028", 27]') + """
[calendar.years.2027]
holidays = ["2027-02-30", "2027-02-11..2027-02-05", "2026-12-31..2027-01-03", "2027-10-01T09:00", "2027-05-01", 5]
working_days = ["2027-05-01", "2028-01-01"]

[calendar.years.next]
holidays = []
"""
    assert problems(tmp_path, text) == [
        "[calendar].assume_weekdays[1]: '2028' is not a year like 2027.",
        "[calendar].assume_weekdays[2]: 27 is not a year like 2027.",
        "calendar.years.2027.holidays[0]: '2027-02-30' is neither a date like 2027-01-01 nor a range like \"2027-02-05..2027-02-11\".",
        "calendar.years.2027.holidays[1]: the range '2027-02-11..2027-02-05' ends before it starts.",
        "calendar.years.2027.holidays[2]: '2026-12-31..2027-01-03' is not in 2027; each year's table lists only its own days.",
        "calendar.years.2027.holidays[3]: '2027-10-01T09:00' is neither a date like 2027-01-01 nor a range like \"2027-02-05..2027-02-11\".",
        "calendar.years.2027.holidays[5]: 5 is neither a date like 2027-01-01 nor a range like \"2027-02-05..2027-02-11\".",
        "calendar.years.2027.working_days[1]: '2028-01-01' is not in 2027; each year's table lists only its own days.",
        "[calendar.years.2027]: 2027-05-01 listed both as a holiday and as a working day.",
        "[calendar.years.next]: 'next' is not a year; name the table like [calendar.years.2027].",
    ]


def test_a_range_to_the_end_of_time_is_refused_without_spelling_it_out(tmp_path: Path) -> None:
    text = EXAMPLE + '\n[calendar.years.2027]\nholidays = ["2027-01-01..9999-12-31"]\n'
    assert problems(tmp_path, text) == ["calendar.years.2027.holidays[0]: '2027-01-01..9999-12-31' is not in 2027; each year's table lists only its own days."]
