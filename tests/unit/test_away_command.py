"""``/reject away``: parsing its forms, and the pure checks (dates, rights)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.away import (
    MAX_DAYS_AHEAD,
    AwayKind,
    AwayRequest,
    check_until,
    naming_role,
    owners_of,
    parse_away,
    period_end,
)
from bot.core.commands import Command, CommandError, Verb, parse_command
from bot.core.lifecycle import Role
from bot.core.routing import Owner, Routing

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROUTING = Routing(
    channel="C1", cs_lead="U0CSLEAD", cs_agents={"王丽": "U0CS0001"},
    owners=(
        Owner(name="大件配送", user="U0OWNERY", categories=("large",), delegates=("U0DELEGY",), escalation=("U0OPSHEAD", "U0BOSS")),
        Owner(name="小件配送", user="U0OWNERZ", categories=("small",), escalation=("U0OPSHEAD",)),
    ),
)


def test_away_is_a_verb_whose_text_is_kept_for_its_own_parser() -> None:
    assert parse_command("away <@U1|li> until 2026-12-05") == Command(Verb.AWAY, reason="<@U1|li> until 2026-12-05")
    assert parse_command("请假") == Command(Verb.AWAY, reason="")


def test_nothing_after_away_lists() -> None:
    assert parse_away("") == AwayRequest(AwayKind.LIST)
    assert parse_away("   ") == AwayRequest(AwayKind.LIST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U0LI|li.na> until 2026-12-05", AwayRequest(AwayKind.SET, stand_in="U0LI", until=date(2026, 12, 5))),
        ("<@U0LI> until 2026-12-05", AwayRequest(AwayKind.SET, stand_in="U0LI", until=date(2026, 12, 5))),  # escaped without a name
        ("<@W0LI|li> UNTIL 2026/12/5", AwayRequest(AwayKind.SET, stand_in="W0LI", until=date(2026, 12, 5))),  # an enterprise user, slashes
        ("<@U0LI|李娜> 至 ２０２６－１２－０５", AwayRequest(AwayKind.SET, stand_in="U0LI", until=date(2026, 12, 5))),  # Chinese, full-width
        (
            "<@U0LI|li> until 2026-12-05 for <@U0OWNERY|y>",
            AwayRequest(AwayKind.SET, stand_in="U0LI", until=date(2026, 12, 5), owner_user="U0OWNERY"),
        ),
        ("  <@U0LI|li>\nuntil\t2026-12-05  ", AwayRequest(AwayKind.SET, stand_in="U0LI", until=date(2026, 12, 5))),
        ("off", AwayRequest(AwayKind.OFF)),
        ("OFF", AwayRequest(AwayKind.OFF)),
        ("结束", AwayRequest(AwayKind.OFF)),
        ("off for <@U0OWNERY|y>", AwayRequest(AwayKind.OFF, owner_user="U0OWNERY")),
    ],
)
def test_every_form(text: str, expected: AwayRequest) -> None:
    assert parse_away(text) == expected


def test_the_whole_command_through_parse_command() -> None:
    parsed = parse_command("away <@U0LI|li> until 2026-12-05 for <@U0OWNERZ|z>")
    assert parse_away(parsed.reason) == AwayRequest(AwayKind.SET, stand_in="U0LI", until=date(2026, 12, 5), owner_user="U0OWNERZ")


def error_of(text: str) -> CommandError:
    with pytest.raises(CommandError) as raised:
        parse_away(text)
    return raised.value


@pytest.mark.parametrize(
    ("text", "name"),
    [("@li.na until 2026-12-05", "@li.na"), ("＠李娜 until 2026-12-05", "@李娜"), ("<@U0LI|li> until 2026-12-05 for @owner", "@owner"), ("off for @owner", "@owner")],
)
def test_a_plain_at_name_asks_to_pick_the_person_from_the_autocomplete(text: str, name: str) -> None:
    error = error_of(text)
    assert (error.key, error.params) == ("away.plain_mention", {"name": name})


@pytest.mark.parametrize("text", ["li until 2026-12-05", "<#C123|general> until 2026-12-05", "<@U0LI until 2026-12-05"])
def test_something_that_is_not_a_person_is_refused(text: str) -> None:
    assert error_of(text).key == "away.not_a_person"


@pytest.mark.parametrize("text", ["<@U0LI|li>", "<@U0LI|li> 2026-12-05", "<@U0LI|li> until", "<@U0LI|li> from 2026-12-05"])
def test_without_until_and_a_date_it_says_how(text: str) -> None:
    assert error_of(text).key == "away.needs_until"


@pytest.mark.parametrize("word", ["2026-13-01", "2026-02-30", "tomorrow", "12-05", "2026-12-05T18:00", "20261205"])
def test_a_bad_date_is_named(word: str) -> None:
    error = error_of(f"<@U0LI|li> until {word}")
    assert (error.key, error.params) == ("away.bad_date", {"word": word})


@pytest.mark.parametrize(
    "text",
    ["<@U0LI|li> until 2026-12-05 <@U0OWNERY|y>", "<@U0LI|li> until 2026-12-05 for", "<@U0LI|li> until 2026-12-05 for <@U1> extra", "off now", "off for"],
)
def test_anything_else_gets_the_usage(text: str) -> None:
    assert error_of(text).key == "away.usage"


def test_the_period_runs_through_the_end_of_the_until_day_in_the_bot_s_zone() -> None:
    end = period_end(date(2026, 12, 5), SHANGHAI)
    assert end == datetime(2026, 12, 6, 0, 0, tzinfo=SHANGHAI)
    assert end.astimezone(ZoneInfo("UTC")).isoformat() == "2026-12-05T16:00:00+00:00"


def test_until_today_and_up_to_the_limit_are_fine() -> None:
    today = date(2026, 11, 30)
    check_until(today, today)
    check_until(date(2027, 2, 28), today)  # 90 days


def test_a_past_day_is_refused() -> None:
    with pytest.raises(CommandError) as raised:
        check_until(date(2026, 11, 29), date(2026, 11, 30))
    assert raised.value.key == "away.date_past"
    assert raised.value.params == {"until": "2026-11-29", "today": "2026-11-30"}


def test_a_day_more_than_the_limit_ahead_is_refused() -> None:
    assert MAX_DAYS_AHEAD == 90
    with pytest.raises(CommandError) as raised:
        check_until(date(2027, 3, 1), date(2026, 11, 30))
    assert raised.value.key == "away.date_too_far"
    assert raised.value.params == {"until": "2027-03-01", "days": 90, "latest": "2027-02-28"}


def test_who_may_name_a_stand_in() -> None:
    y = ROUTING.owner_named("大件配送")
    assert naming_role(ROUTING, "U0OWNERY", y) is Role.OWNER
    assert naming_role(ROUTING, "U0OPSHEAD", y) is Role.MANAGER
    assert naming_role(ROUTING, "U0BOSS", y) is Role.MANAGER
    assert naming_role(ROUTING, "U0CSLEAD", y) is Role.CS_LEAD
    for nobody in ("U0DELEGY", "U0CS0001", "U0OWNERZ", "U0STRANGER"):
        assert naming_role(ROUTING, nobody, y) is None
    assert naming_role(ROUTING, "U0BOSS", ROUTING.owner_named("小件配送")) is None  # not in Z's chain
    assert [o.name for o in owners_of(ROUTING, "U0OWNERY")] == ["大件配送"]
    assert owners_of(ROUTING, "U0OPSHEAD") == ()


def test_a_stand_in_acts_like_a_delegate_only_for_the_owner_it_stands_in_for() -> None:
    y, z = ROUTING.owner_named("大件配送"), ROUTING.owner_named("小件配送")
    stand_ins = {"U0OWNERY": "U0LI"}  # keyed by the owner's Slack user
    assert ROUTING.role_for("U0LI", y, stand_ins) is Role.DELEGATE
    assert ROUTING.role_for("U0LI", z, stand_ins) is Role.OTHER
    assert ROUTING.role_for("U0LI", y) is Role.OTHER  # without stand-ins, as before
    assert ROUTING.role_for("U0OWNERY", y, stand_ins) is Role.OWNER  # the owner keeps their role
    assert [o.name for o in ROUTING.owners_acting_for("U0LI", stand_ins)] == ["大件配送"]
    assert ROUTING.owners_acting_for("U0LI") == ()
