"""Configuration: the environment and the routing file, and the routing
model's questions (``bot.core.routing``)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import (
    DEFAULT_API_URL,
    DEFAULT_DATABASE_URL,
    ConfigError,
    Problem,
    Settings,
    load_routing,
    locale_from_env,
    parse_routing,
    resolve_emails,
    routing_emails,
)
from bot.core.lifecycle import Role
from bot.core.routing import Owner, Routing, Timings
from bot.i18n import Catalog

EN = Catalog("en")
ZH = Catalog("zh_CN")

# --- Settings.from_env -------------------------------------------------------

SOCKET_MODE = {"SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_APP_TOKEN": "xapp-1-A-2"}


def problems_of(env: dict[str, str], **kwargs) -> list[str]:
    """The problems, rendered through the en catalog."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env, **kwargs)
    assert str(caught.value) == "\n".join(map(str, caught.value.problems))
    return caught.value.render(EN)


def test_defaults() -> None:
    s = Settings.from_env(SOCKET_MODE)
    assert s.bot_token == "xoxb-1-2-3"
    assert s.app_token == "xapp-1-A-2"
    assert s.signing_secret is None
    assert s.api_url == DEFAULT_API_URL == "https://slack.com/api/"
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.routing_file == Path("routing.toml")
    assert s.timezone == ZoneInfo("Asia/Shanghai")
    assert s.locale == "zh_CN"


def test_every_variable_is_read() -> None:
    s = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": " xoxb-9 ",
            "SLACK_SIGNING_SECRET": "s3cret",
            "SLACK_API_URL": "http://127.0.0.1:8123/api",
            "DATABASE_URL": "postgresql+psycopg://bot@db/rejects",
            "ROUTING_FILE": "/etc/rejectbot/routing.toml",
            "BOT_TIMEZONE": "Europe/Berlin",
            "BOT_LOCALE": "en",
        }
    )
    assert s.bot_token == "xoxb-9"
    assert s.app_token is None
    assert s.signing_secret == "s3cret"
    assert s.api_url == "http://127.0.0.1:8123/api/"  # trailing slash added
    assert s.database_url == "postgresql+psycopg://bot@db/rejects"
    assert s.routing_file == Path("/etc/rejectbot/routing.toml")
    assert s.timezone == ZoneInfo("Europe/Berlin")
    assert s.locale == "en"


def test_blank_values_count_as_unset() -> None:
    s = Settings.from_env({**SOCKET_MODE, "SLACK_API_URL": "  ", "BOT_LOCALE": "", "DATABASE_URL": " "})
    assert s.api_url == DEFAULT_API_URL
    assert s.locale == "zh_CN"
    assert s.database_url == DEFAULT_DATABASE_URL


def test_pacing_is_on_unless_turned_off() -> None:
    assert Settings.from_env(SOCKET_MODE).slack_pacing is True
    assert Settings.from_env({**SOCKET_MODE, "SLACK_PACING": "on"}).slack_pacing is True
    assert Settings.from_env({**SOCKET_MODE, "SLACK_PACING": " OFF "}).slack_pacing is False


def test_commands_without_slack_need_no_tokens() -> None:
    s = Settings.from_env({}, require_slack=False)
    assert s.bot_token is None and s.app_token is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({**SOCKET_MODE, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({**SOCKET_MODE, "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({**SOCKET_MODE, "BOT_TIMEZONE": "Mars/Olympus"}, "BOT_TIMEZONE"),
        ({**SOCKET_MODE, "BOT_TIMEZONE": "../etc/passwd"}, "BOT_TIMEZONE"),
        ({**SOCKET_MODE, "BOT_TIMEZONE": "Asia"}, "BOT_TIMEZONE"),  # a tzdata folder, not a zone
        ({**SOCKET_MODE, "BOT_LOCALE": "fr"}, "BOT_LOCALE"),
        ({**SOCKET_MODE, "SLACK_PACING": "slow"}, "SLACK_PACING"),
    ],
)
def test_each_bad_value_is_named(env: dict[str, str], named: str) -> None:
    problems = problems_of(env)
    assert len(problems) == 1, problems
    assert named in problems[0]


def test_all_problems_are_reported_together() -> None:
    problems = problems_of(
        {
            "SLACK_BOT_TOKEN": "xoxp-user",
            "SLACK_APP_TOKEN": "xoxb-bot",
            "SLACK_API_URL": "ftp://slack",
            "DATABASE_URL": "oracle://db",
            "BOT_TIMEZONE": "Nowhere/Town",
            "BOT_LOCALE": "de",
        }
    )
    named = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL", "BOT_TIMEZONE", "BOT_LOCALE"]
    assert len(problems) == len(named)
    for name, problem in zip(named, problems, strict=True):
        assert name in problem


def test_a_missing_token_and_a_missing_mode_are_both_reported() -> None:
    problems = problems_of({})
    assert len(problems) == 2
    assert "SLACK_BOT_TOKEN" in problems[0]
    assert "SLACK_APP_TOKEN" in problems[1] and "SLACK_SIGNING_SECRET" in problems[1]


# --- the routing file --------------------------------------------------------

DESIGN_EXAMPLE = """\
channel = "C0LOGISTICS"            # the shared channel

[cs]
lead = "U0CSLEAD"                  # approves letters; escalation target for CS
agents = { "王丽" = "U0CS0001", "李娜" = "U0CS0002" }   # callback agent name -> Slack user

[[owners]]
name = "大件配送"                   # shown in messages
user = "U0OWNERY"
delegates = []
categories = ["large"]            # large / small
branches = []                     # empty: all branches
escalation = ["U0OPSHEAD", "U0LOGIBOSS"]   # level 1, level 2, ...

[[owners]]
name = "小件配送"
user = "U0OWNERZ"
categories = ["small"]
escalation = ["U0OPSHEAD", "U0LOGIBOSS"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def routing_problems(tmp_path: Path, text: str) -> list[str]:
    """The problems, rendered through the en catalog."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert all(problem.file == str(path) for problem in caught.value.problems)
    rendered = caught.value.render(EN)
    for problem in rendered:
        assert problem.startswith(f"{path}: "), problem
    return rendered


def test_the_design_example_parses(tmp_path: Path) -> None:
    routing = load_routing(write(tmp_path, DESIGN_EXAMPLE))
    assert routing.channel == "C0LOGISTICS"
    assert routing.cs_lead == "U0CSLEAD"
    assert routing.cs_agents == {"王丽": "U0CS0001", "李娜": "U0CS0002"}
    assert routing.owners == (
        Owner(name="大件配送", user="U0OWNERY", categories=("large",), escalation=("U0OPSHEAD", "U0LOGIBOSS")),
        Owner(name="小件配送", user="U0OWNERZ", categories=("small",), escalation=("U0OPSHEAD", "U0LOGIBOSS")),
    )
    assert routing.timings == Timings()
    assert routing.timings.digest_at == time(8, 30) and routing.timings.work_end == time(18, 0)
    assert not routing.calendar.days_off and not routing.calendar.working_days


def test_timings_calendar_and_emails_parse(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace('lead = "U0CSLEAD"', 'lead = "lead@example.com"') + """
[timings]
digest_at = "08:00"
work_start = 08:30:00
work_end = "17:30"
reaction_undo_minutes = 10
min_window = 2.5

[calendar]
days_off = [2026-12-31, "2026-12-30"]
working_days = [2027-01-02]
"""
    routing = load_routing(write(tmp_path, text))
    assert routing.cs_lead == "lead@example.com"
    assert routing.timings == Timings(
        digest_at=time(8, 0), work_start=time(8, 30), work_end=time(17, 30), reaction_undo_minutes=10,
        min_window=timedelta(hours=2.5),
    )
    assert routing.calendar.days_off == {date(2026, 12, 31), date(2026, 12, 30)}
    assert routing.calendar.working_days == {date(2027, 1, 2)}


def test_branches_and_delegates_are_kept(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace(
        'categories = ["small"]',
        'categories = ["small", "large"]\nbranches = [" 杭州分公司 ", "南京分公司"]\ndelegates = ["U0DELEGZ", "z.deputy@example.com"]',
    )
    owner = load_routing(write(tmp_path, text)).owners[1]
    assert owner.categories == ("small", "large")
    assert owner.branches == ("杭州分公司", "南京分公司")
    assert owner.delegates == ("U0DELEGZ", "z.deputy@example.com")


def test_every_routing_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
channel = "#logistics"

[cs]
agents = { "王丽" = "wang li" }

[[owners]]
name = "大件配送"
user = "U0OWNERY"
categories = ["large", "huge"]
escalation = ["boss"]

[[owners]]
name = "大件配送"
user = "nobody"
categories = ["small"]
delegates = ["U0OK", 42]

[timings]
digest_at = "25:00"
work_end = "six pm"

[calendar]
days_off = [2026-10-01, 2026-10-02]
working_days = [2026-10-02]
"""
    problems = routing_problems(tmp_path, text)
    expected = [
        r"channel: '#logistics' is not a Slack channel ID",
        r"cs\.lead is missing",
        r"cs\.agents\.王丽: 'wang li' is neither a Slack user ID",
        r"owners\[0\] \(大件配送\)\.categories: 'huge' is not",
        r"owners\[0\] \(大件配送\)\.escalation\[0\]: 'boss'",
        r"owners\[1\]\.name '大件配送' is used by another owner",
        r"owners\[1\] \(大件配送\)\.user: 'nobody'",
        r"owners\[1\] \(大件配送\)\.delegates\[1\]: 42",
        r"timings\.digest_at: '25:00' is not a time of day",
        r"timings\.work_end: 'six pm' is not a time of day",
        r"calendar: 2026-10-02 listed both as a day off and as a working day",
    ]
    for pattern in expected:
        assert any(re.search(pattern, p) for p in problems), f"{pattern!r} not in {problems}"
    assert len(problems) == len(expected), problems


def test_a_bad_number_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace('channel = "C0LOGISTICS"', 'channel = "nope"') + """
[timings]
reaction_undo_minutes = "five"
"""
    problems = routing_problems(tmp_path, text)
    assert any("channel" in p for p in problems)
    assert any("timings.reaction_undo_minutes" in p and "'five'" in p for p in problems), problems


@pytest.mark.parametrize("value", ['"four"', "0", "-1", "true"])
def test_a_min_window_that_is_not_a_positive_number_of_hours_is_reported(tmp_path: Path, value: str) -> None:
    problems = routing_problems(tmp_path, DESIGN_EXAMPLE + f"\n[timings]\nmin_window = {value}\n")
    assert [p for p in problems if "timings.min_window" in p and "positive number of working hours" in p], problems


def test_the_min_window_defaults_to_four_working_hours(tmp_path: Path) -> None:
    assert load_routing(write(tmp_path, DESIGN_EXAMPLE)).timings.min_window == timedelta(hours=4)


def test_times_in_the_wrong_order_are_reported(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE + '\n[timings]\nwork_start = "18:00"\nwork_end = "09:00"\ndigest_at = "19:00"\n'
    problems = routing_problems(tmp_path, text)
    assert any("work_start must be before timings.work_end" in p for p in problems)
    assert any("digest_at must be before timings.work_end" in p for p in problems)


def test_missing_sections_are_reported(tmp_path: Path) -> None:
    problems = routing_problems(tmp_path, 'channel = "C0LOGISTICS"\n')
    assert any("[cs] is missing" in p for p in problems)
    assert any("No [[owners]]" in p for p in problems)
    assert not any("cs.lead" in p for p in problems)  # one problem for the missing table, not two


def test_an_owner_without_categories_is_reported(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace('categories = ["small"]\n', "")
    problems = routing_problems(tmp_path, text)
    assert problems == [f"{tmp_path / 'routing.toml'}: owners[1] (小件配送).categories is missing: list \"large\" and/or \"small\"."]


def test_a_missing_routing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_routing(tmp_path / "nowhere.toml")
    [problem] = caught.value.render(EN)
    assert "nowhere.toml" in problem and "not found" in problem


def test_invalid_toml_is_reported_not_raised_raw(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_routing(write(tmp_path, 'channel = "C0LOGISTICS\n'))
    [problem] = caught.value.render(EN)
    assert "not valid TOML" in problem


# --- problems are catalog keys, rendered in either language ------------------


def test_problems_are_keys_and_params(tmp_path: Path) -> None:
    path = write(tmp_path, DESIGN_EXAMPLE.replace('categories = ["large"]', 'categories = ["huge"]'))
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert caught.value.problems == [
        Problem("config.category_unknown", {"where": "owners[0] (大件配送)", "value": "'huge'"}, file=str(path)),
    ]
    # Without a catalog (a traceback, a log line) a problem still says what it is.
    assert "config.category_unknown" in str(caught.value) and "'huge'" in str(caught.value)


def test_problems_render_in_chinese(tmp_path: Path) -> None:
    path = write(tmp_path, DESIGN_EXAMPLE.replace('channel = "C0LOGISTICS"', 'channel = "general"'))
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert caught.value.render(ZH) == [f"{path}：channel：'general' 不是 Slack 频道 ID（C…）；请在 Slack 中打开该频道的详情，复制其 ID。"]
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SLACK_APP_TOKEN": "xapp-1"})
    [problem] = caught.value.render(ZH)
    assert problem.startswith("未设置 SLACK_BOT_TOKEN")


@pytest.mark.parametrize(
    ("value", "locale"),
    [(None, "zh_CN"), ("en", "en"), (" en ", "en"), ("zh_CN", "zh_CN"), ("fr", "zh_CN"), ("", "zh_CN")],
)
def test_locale_from_env_falls_back_to_the_default(value: str | None, locale: str) -> None:
    env = {} if value is None else {"BOT_LOCALE": value}
    assert locale_from_env(env) == locale


def test_parse_routing_takes_plain_data() -> None:
    routing = parse_routing(
        {"channel": "G0PRIVATE", "cs": {"lead": "W0LEAD"}, "owners": [{"name": "X", "user": "U0X", "categories": ["small"]}]}
    )
    assert routing.channel == "G0PRIVATE"
    assert routing.cs_lead == "W0LEAD"
    assert routing.cs_agents == {}


# --- resolve_emails ----------------------------------------------------------


def test_resolve_emails_replaces_every_address_once() -> None:
    routing = Routing(
        channel="C0LOGISTICS",
        cs_lead="lead@example.com",
        cs_agents={"王丽": "wang@example.com", "李娜": "U0CS0002"},
        owners=(
            Owner(
                name="大件配送", user="y@example.com", categories=("large",),
                delegates=("dy@example.com",), escalation=("ops@example.com", "U0LOGIBOSS"),
            ),
            Owner(name="小件配送", user="U0OWNERZ", categories=("small",), escalation=("ops@example.com",)),
        ),
    )
    looked_up: list[str] = []

    def lookup(email: str) -> str:
        looked_up.append(email)
        return "U" + email.split("@")[0].upper().replace(".", "")

    assert routing_emails(routing) == {
        "lead@example.com", "wang@example.com", "y@example.com", "dy@example.com", "ops@example.com",
    }
    resolved = resolve_emails(routing, lookup)
    assert resolved.cs_lead == "ULEAD"
    assert resolved.cs_agents == {"王丽": "UWANG", "李娜": "U0CS0002"}
    assert resolved.owners[0].user == "UY"
    assert resolved.owners[0].delegates == ("UDY",)
    assert resolved.owners[0].escalation == ("UOPS", "U0LOGIBOSS")
    assert resolved.owners[1].escalation == ("UOPS",)
    assert sorted(looked_up) == sorted(set(looked_up))  # ops@ is asked once
    assert len(looked_up) == 5
    assert routing_emails(resolved) == set()
    assert routing.cs_lead == "lead@example.com"  # the original is untouched


# --- the routing model's questions -------------------------------------------

HZ_LARGE = Owner(name="杭州大件", user="U0HZ", categories=("large",), branches=("杭州分公司",))
LARGE = Owner(name="大件配送", user="U0OWNERY", categories=("large",), delegates=("U0DELEGY",), escalation=("U0OPSHEAD", "U0BOSS"))
SMALL = Owner(name="小件配送", user="U0OWNERZ", categories=("small",), branches=("南京分公司",), escalation=("U0OPSHEAD",))
ROUTING = Routing(
    channel="C0LOGISTICS", cs_lead="U0CSLEAD", cs_agents={"王丽": "U0CS0001"}, owners=(HZ_LARGE, LARGE, SMALL)
)


@pytest.mark.parametrize(
    ("category", "branch", "owner"),
    [
        ("large", "杭州分公司", HZ_LARGE),  # first match in file order
        ("large", "南京分公司", LARGE),
        ("small", "南京分公司", SMALL),
        ("small", "杭州分公司", None),  # no owner covers it
        ("huge", "南京分公司", None),
    ],
)
def test_owner_for(category: str, branch: str, owner: Owner | None) -> None:
    assert ROUTING.owner_for(category, branch) == owner


def test_owner_for_follows_file_order() -> None:
    reordered = Routing(channel="C0X", cs_lead="U0L", cs_agents={}, owners=(LARGE, HZ_LARGE))
    assert reordered.owner_for("large", "杭州分公司") == LARGE


@pytest.mark.parametrize(
    ("user", "owner", "role"),
    [
        ("U0OWNERY", LARGE, Role.OWNER),
        ("U0DELEGY", LARGE, Role.DELEGATE),
        ("U0OPSHEAD", LARGE, Role.MANAGER),
        ("U0BOSS", LARGE, Role.MANAGER),
        ("U0OWNERZ", LARGE, Role.OTHER),  # another owner has no say
        ("U0DELEGY", SMALL, Role.OTHER),
        ("U0CSLEAD", LARGE, Role.CS_LEAD),
        ("U0CS0001", LARGE, Role.CS_AGENT),
        ("U0CSLEAD", None, Role.CS_LEAD),
        ("U0OWNERY", None, Role.OTHER),
        ("U0STRANGER", LARGE, Role.OTHER),
    ],
)
def test_role_for(user: str, owner: Owner | None, role: Role) -> None:
    assert ROUTING.role_for(user, owner) is role


def test_owners_acting_for() -> None:
    assert ROUTING.owners_acting_for("U0OPSHEAD") == (LARGE, SMALL)
    assert ROUTING.owners_acting_for("U0DELEGY") == (LARGE,)
    assert ROUTING.owners_acting_for("U0HZ") == (HZ_LARGE,)
    assert ROUTING.owners_acting_for("U0CSLEAD") == ()


def test_is_cs_and_owner_named() -> None:
    assert ROUTING.is_cs("U0CSLEAD") and ROUTING.is_cs("U0CS0001")
    assert not ROUTING.is_cs("U0OWNERY")
    assert ROUTING.owner_named("小件配送") == SMALL
    assert ROUTING.owner_named("nobody") is None


# --- [follow_up] and [penalties] ---------------------------------------------


def test_the_example_routing_file_parses_with_the_documented_defaults() -> None:
    from bot.core.routing import FollowUpPolicy, Penalties

    routing = load_routing(Path(__file__).resolve().parents[2] / "routing.example.toml")
    assert routing.follow_up == FollowUpPolicy()
    assert routing.penalties == Penalties(cs_wrong_callback=50)


def test_follow_up_defaults_and_an_owner_override(tmp_path: Path) -> None:
    from datetime import timedelta

    text = DESIGN_EXAMPLE.replace(
        'categories = ["small"]', 'categories = ["small"]\nfollow_up = { quiet_hours = 1, daily_cap = 3 }'
    ) + "\n[follow_up]\nquiet_hours = 1.5\nlevel1_hours = 3\n\n[penalties]\ncs_wrong_callback = 80\n"
    routing = load_routing(write(tmp_path, text))
    assert routing.follow_up.quiet == timedelta(hours=1.5) and routing.follow_up.level1 == timedelta(hours=3)
    large, small = routing.owners
    assert large.follow_up is None and routing.policy_for(large) == routing.follow_up
    small_policy = routing.policy_for(small)
    assert small_policy.quiet == timedelta(hours=1) and small_policy.daily_cap == 3
    assert small_policy.level1 == timedelta(hours=3)  # inherited from the file's [follow_up]
    assert routing.penalties.cs_wrong_callback == 80


def test_bad_follow_up_values_are_all_reported(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE + "\n[follow_up]\nquiet_hours = -1\ndaily_cap = 0\nsnooze = 3\nlevel1_hours = 20\n\n[penalties]\ncs_wrong_callback = \"fifty\"\n"
    problems = "\n".join(routing_problems(tmp_path, text))
    for fragment in ("[follow_up].quiet_hours", "[follow_up].daily_cap", "'snooze'", "level1_hours < level2_hours", "penalties.cs_wrong_callback"):
        assert fragment in problems, fragment
