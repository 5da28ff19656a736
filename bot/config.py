"""Configuration: the environment (and ``.env``, loaded by the CLI) and the
routing file.

Both loaders collect every problem they find before they give up, so
``rejectbot check-config`` can name them all at once. A problem is a catalog
key with its parameters (``Problem``), not a sentence: the CLI renders it in
the operator's language (``bot/locales/<locale>/config.toml``).

Errors: ``ConfigError`` (``.problems`` lists each ``Problem``;
``.render(catalog)`` turns them into sentences).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.routing import CATEGORIES, CalendarOverrides, CalendarYear, FollowUpPolicy, ImportLimits, Letters, Owner, Penalties, Privacy, Routing, Timings
from bot.i18n import LOCALES

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///rejectbot.db"
DEFAULT_LOCALE = "zh_CN"
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Texts(Protocol):
    """What rendering needs of a catalog (``bot.i18n.Catalog``)."""

    def t(self, key: str, /, **params: object) -> str: ...


@dataclass(frozen=True, slots=True)
class Problem:
    """One configuration problem: a catalog key and its parameters, and the
    file it was found in (rendered as a ``file: problem`` prefix)."""

    key: str
    params: dict[str, object] = field(default_factory=dict)
    file: str | None = None

    def render(self, catalog: Texts) -> str:
        text = catalog.t(self.key, **self.params)
        return catalog.t("config.in_file", file=self.file, problem=text) if self.file else text

    def __str__(self) -> str:
        """For logs and tracebacks, where no catalog is at hand."""
        params = ", ".join(f"{name}={value!r}" for name, value in self.params.items())
        return f"{self.file + ': ' if self.file else ''}{self.key}({params})"


class ConfigError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems

    def render(self, catalog: Texts) -> list[str]:
        """Each problem as a sentence in the catalog's language."""
        return [problem.render(catalog) for problem in self.problems]


def locale_from_env(env: Mapping[str, str]) -> str:
    """``BOT_LOCALE`` when it names a known locale, else the default, so even
    a bad ``BOT_LOCALE`` can be reported in a language."""
    locale = (env.get("BOT_LOCALE") or "").strip()
    return locale if locale in LOCALES else DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Settings:
    bot_token: str | None
    app_token: str | None
    signing_secret: str | None
    api_url: str
    database_url: str
    routing_file: Path
    timezone: ZoneInfo
    locale: str
    # SLACK_PACING: space our own calls just under Slack's rate limits
    # (``bot.pacing``). "off" only against a fake Slack that enforces none.
    slack_pacing: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_slack: bool = True) -> Settings:
        """Settings from environment variables; ``require_slack=False`` for
        commands that never talk to Slack (import, db upgrade)."""
        problems: list[Problem] = []
        get = lambda name: (env.get(name) or "").strip() or None  # noqa: E731

        bot_token = get("SLACK_BOT_TOKEN")
        app_token = get("SLACK_APP_TOKEN")
        secret = get("SLACK_SIGNING_SECRET")
        if require_slack:
            if not bot_token:
                problems.append(Problem("config.bot_token_missing"))
            elif not bot_token.startswith("xoxb-"):
                problems.append(Problem("config.bot_token_prefix"))
            if app_token and not app_token.startswith("xapp-"):
                problems.append(Problem("config.app_token_prefix"))
            if not app_token and not secret:
                problems.append(Problem("config.no_connection_mode"))

        api_url = get("SLACK_API_URL") or DEFAULT_API_URL
        if not re.match(r"^https?://", api_url):
            problems.append(Problem("config.api_url_not_http", {"value": repr(api_url)}))
        elif not api_url.endswith("/"):
            api_url += "/"

        database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not re.match(r"^(sqlite|postgresql(\+psycopg)?|postgres)://", database_url):
            problems.append(Problem("config.database_url_scheme", {"value": repr(database_url)}))

        tz_name = get("BOT_TIMEZONE") or "Asia/Shanghai"
        timezone = ZoneInfo("Asia/Shanghai")
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a tzdata folder
            problems.append(Problem("config.timezone_unknown", {"value": repr(tz_name)}))

        locale = get("BOT_LOCALE") or DEFAULT_LOCALE
        if locale not in LOCALES:
            problems.append(Problem("config.locale_unknown", {"value": repr(locale), "locales": ", ".join(LOCALES)}))

        pacing = (get("SLACK_PACING") or "on").lower()
        if pacing not in ("on", "off"):
            problems.append(Problem("config.pacing_value", {"value": repr(get("SLACK_PACING"))}))

        if problems:
            raise ConfigError(problems)
        return cls(
            bot_token=bot_token,
            app_token=app_token,
            signing_secret=secret,
            api_url=api_url,
            database_url=database_url,
            routing_file=Path(get("ROUTING_FILE") or "routing.toml"),
            timezone=timezone,
            locale=locale,
            slack_pacing=pacing != "off",
        )


def _user(value: object, where: str, problems: list[Problem]) -> str:
    if isinstance(value, str) and (USER_ID.match(value.strip()) or EMAIL.match(value.strip())):
        return value.strip()
    problems.append(Problem("config.not_a_user", {"where": where, "value": repr(value)}))
    return ""


def _users(value: object, where: str, problems: list[Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(Problem("config.not_a_user_list", {"where": where}))
        return ()
    return tuple(_user(v, f"{where}[{i}]", problems) for i, v in enumerate(value))


def _time(value: object, where: str, default: time, problems: list[Problem]) -> time:
    if value is None:
        return default
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem("config.not_a_time", {"where": where, "value": repr(value)}))
        return default


def _minutes(value: object, where: str, default: int, problems: list[Problem]) -> int:
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    problems.append(Problem("config.not_minutes", {"where": where, "value": repr(value)}))
    return default


def _hours(value: object, where: str, default: timedelta, problems: list[Problem]) -> timedelta:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        problems.append(Problem("config.not_hours", {"where": where, "value": repr(value)}))
        return default
    return timedelta(hours=value)


def _dates(value: object, where: str, problems: list[Problem]) -> frozenset[date]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        problems.append(Problem("config.not_a_date_list", {"where": where}))
        return frozenset()
    days = set()
    for i, v in enumerate(value):
        if isinstance(v, datetime):
            problems.append(Problem("config.date_has_time", {"where": f"{where}[{i}]", "value": repr(v)}))
            continue
        if isinstance(v, date):
            days.add(v)
            continue
        try:
            days.add(date.fromisoformat(str(v)))
        except ValueError:
            problems.append(Problem("config.not_a_date", {"where": f"{where}[{i}]", "value": repr(v)}))
    return frozenset(days)


def _amount(value: object, where: str, problems: list[Problem]) -> int | None:
    """A whole amount in yuan (0 or more); None when absent or wrong."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(Problem("config.not_an_amount", {"where": where, "value": repr(value)}))
        return None
    return value


def _years(value: object, where: str, problems: list[Problem]) -> frozenset[int]:
    """A list of years like [2027]."""
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        problems.append(Problem("config.not_a_year_list", {"where": where}))
        return frozenset()
    years = set()
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int) or v not in YEARS:
            problems.append(Problem("config.not_a_year", {"where": f"{where}[{i}]", "value": repr(v)}))
            continue
        years.add(v)
    return frozenset(years)


def _day_spec(value: object, where: str, year: int, problems: list[Problem]) -> list[date]:
    """The days of one entry of a year's schedule: a date (TOML or
    "2027-01-01") or a range "FIRST..LAST", both ends included, all in ``year``."""
    if isinstance(value, datetime):
        problems.append(Problem("config.date_has_time", {"where": where, "value": repr(value)}))
        return []
    if isinstance(value, date):
        first = last = value
    elif isinstance(value, str):
        ends = value.split("..")
        try:
            if len(ends) > 2:
                raise ValueError(value)
            first, last = date.fromisoformat(ends[0].strip()), date.fromisoformat(ends[-1].strip())
        except ValueError:
            problems.append(Problem("config.not_a_day_spec", {"where": where, "value": repr(value)}))
            return []
    else:
        problems.append(Problem("config.not_a_day_spec", {"where": where, "value": repr(value)}))
        return []
    if last < first:
        problems.append(Problem("config.range_reversed", {"where": where, "value": repr(value)}))
        return []
    if first.year != year or last.year != year:  # checked before the range is spelt out: it may be huge
        problems.append(Problem("config.day_outside_year", {"where": where, "value": repr(value), "year": year}))
        return []
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _calendar_years(value: object, problems: list[Problem]) -> tuple[CalendarYear, ...]:
    """``[calendar.years.<year>]``: each year's holidays and adjusted working days."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append(Problem("config.not_a_table", {"where": "[calendar.years]"}))
        return ()
    years = []
    for key, table in value.items():
        where = f"[calendar.years.{key}]"
        year = int(key) if str(key).isascii() and str(key).isdigit() else None
        if year is None or year not in YEARS:
            problems.append(Problem("config.calendar_year_key", {"where": where, "value": repr(key)}))
            continue
        if not isinstance(table, dict):
            problems.append(Problem("config.not_a_table", {"where": where}))
            continue
        _unknown_keys(table, CALENDAR_YEAR_KEYS, where, problems)
        lists = {}
        for name in CALENDAR_YEAR_KEYS:
            raw = table.get(name, [])
            days: set[date] = set()
            if not isinstance(raw, list):
                problems.append(Problem("config.not_a_day_spec_list", {"where": f"calendar.years.{key}.{name}"}))
            else:
                for i, entry in enumerate(raw):
                    days.update(_day_spec(entry, f"calendar.years.{key}.{name}[{i}]", year, problems))
            lists[name] = frozenset(days)
        both = lists["holidays"] & lists["working_days"]
        if both:
            problems.append(Problem("config.calendar_year_conflict", {"where": where, "days": ", ".join(sorted(map(str, both)))}))
        years.append(CalendarYear(year=year, holidays=lists["holidays"], working_days=lists["working_days"]))
    return tuple(sorted(years, key=lambda y: y.year))


FOLLOW_UP_HOURS = {  # routing-file key -> FollowUpPolicy field (working hours)
    "quiet_hours": "quiet",
    "level1_hours": "level1",
    "level2_hours": "level2",
    "fix_window_hours": "fix_window",
    "dispute_quiet_hours": "dispute_quiet",
    "dispute_escalate_hours": "dispute_escalate",
}
FOLLOW_UP_KEYS = (*FOLLOW_UP_HOURS, "daily_cap")

# Every key the routing file may have, table by table: anything else is a
# problem naming the nearest of these (a typo such as ``escalaton`` must not
# leave an owner without an escalation chain). ``[cs.agents]`` is a free map
# of callback agent names; ``[import]`` and ``[privacy]`` take their keys from
# their dataclasses' fields.
TOP_KEYS = ("channel", "cs", "owners", "timings", "calendar", "follow_up", "penalties", "import", "privacy", "letters")
CS_KEYS = ("lead", "agents")
OWNER_KEYS = ("name", "user", "delegates", "categories", "branches", "escalation", "follow_up")
TIMINGS_KEYS = ("digest_at", "work_start", "work_end", "reaction_undo_minutes", "min_window")
CALENDAR_KEYS = ("days_off", "working_days", "assume_weekdays", "years")
CALENDAR_YEAR_KEYS = ("holidays", "working_days")
PENALTIES_KEYS = ("cs_wrong_callback", "logistics_per_item")
LETTERS_TABLE = "letters"
LETTERS_COUNTS = ("escalation_days", "reply_days")
LETTERS_TEXTS = {"number_prefix": "number_prefix", "from": "from_", "to": "to", "agreement": "agreement"}  # file key -> field
LETTERS_KEYS = (*LETTERS_COUNTS, *LETTERS_TEXTS)
LETTERS_MAX_DAYS = 60  # a reply deadline or K beyond this is a typo, not a policy
YEARS = range(1900, 2200)  # a year the routing file may name


def _unknown_keys(table: Mapping[str, object], known: tuple[str, ...], where: str | None, problems: list[Problem]) -> None:
    """A problem for each key of ``table`` not in ``known``, naming the
    nearest known key when one is close (``where`` None: the top level)."""
    for key in table:
        if key in known:
            continue
        nearest = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if where is None and nearest:
            problems.append(Problem("config.unknown_top_key_near", {"key": key, "nearest": nearest[0]}))
        elif where is None:
            problems.append(Problem("config.unknown_top_key", {"key": key, "known": ", ".join(known)}))
        elif nearest:
            problems.append(Problem("config.unknown_key_near", {"where": where, "key": key, "nearest": nearest[0]}))
        else:
            problems.append(Problem("config.unknown_key", {"where": where, "key": key, "known": ", ".join(known)}))


def _follow_up(value: object, where: str, base: FollowUpPolicy, problems: list[Problem]) -> FollowUpPolicy:
    """A follow-up policy from a TOML table, over ``base`` (the defaults, or
    the file's ``[follow_up]`` for an owner's override)."""
    if value is None:
        return base
    if not isinstance(value, dict):
        problems.append(Problem("config.not_a_table", {"where": where}))
        return base
    changes: dict[str, object] = {}
    _unknown_keys(value, FOLLOW_UP_KEYS, where, problems)
    for key, raw in value.items():
        if key in FOLLOW_UP_HOURS:
            if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
                problems.append(Problem("config.not_hours", {"where": f"{where}.{key}", "value": repr(raw)}))
                continue
            changes[FOLLOW_UP_HOURS[key]] = timedelta(hours=raw)
        elif key == "daily_cap":
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                problems.append(Problem("config.not_a_count", {"where": f"{where}.{key}", "value": repr(raw)}))
                continue
            changes["daily_cap"] = raw
    policy = replace(base, **changes)
    if not policy.quiet < policy.level1 < policy.level2:
        problems.append(Problem("config.ladder_order", {"where": where}))
    if policy.dispute_quiet >= policy.dispute_escalate:
        problems.append(Problem("config.dispute_ladder_order", {"where": where}))
    return policy


def parse_routing(data: Mapping[str, object]) -> Routing:
    """A ``Routing`` from the routing file's parsed TOML; every problem at once."""
    problems: list[Problem] = []
    _unknown_keys(data, TOP_KEYS, None, problems)

    channel = data.get("channel")
    if not isinstance(channel, str) or not CHANNEL_ID.match(channel):
        problems.append(Problem("config.channel_not_id", {"value": repr(channel)}))
        channel = ""

    cs = data.get("cs")
    if not isinstance(cs, dict):
        problems.append(Problem("config.cs_missing"))
        cs = {}
    _unknown_keys(cs, CS_KEYS, "[cs]", problems)
    lead = _user(cs.get("lead"), "cs.lead", problems) if "lead" in cs else ""
    if "lead" not in cs and isinstance(data.get("cs"), dict):
        problems.append(Problem("config.cs_lead_missing"))
    agents_raw = cs.get("agents", {})
    agents: dict[str, str] = {}
    if not isinstance(agents_raw, dict):
        problems.append(Problem("config.cs_agents_not_table"))
    else:
        for name, user in agents_raw.items():
            agents[str(name).strip()] = _user(user, f"cs.agents.{name}", problems)

    follow_up = _follow_up(data.get("follow_up"), "[follow_up]", FollowUpPolicy(), problems)
    penalties_raw = data.get("penalties", {})
    if not isinstance(penalties_raw, dict):
        problems.append(Problem("config.not_a_table", {"where": "[penalties]"}))
        penalties_raw = {}
    _unknown_keys(penalties_raw, PENALTIES_KEYS, "[penalties]", problems)
    cs_penalty = _amount(penalties_raw.get("cs_wrong_callback"), "penalties.cs_wrong_callback", problems)
    logistics_penalty = _amount(penalties_raw.get("logistics_per_item"), "penalties.logistics_per_item", problems)
    penalties = Penalties(
        cs_wrong_callback=Penalties().cs_wrong_callback if cs_penalty is None else cs_penalty,
        logistics_per_item=logistics_penalty,
    )

    owners_raw = data.get("owners")
    owners: list[Owner] = []
    if not isinstance(owners_raw, list) or not owners_raw:
        problems.append(Problem("config.no_owners"))
        owners_raw = []
    seen_names: set[str] = set()
    for i, raw in enumerate(owners_raw):
        where = f"owners[{i}]"
        if not isinstance(raw, dict):
            problems.append(Problem("config.not_a_table", {"where": where}))
            continue
        name = str(raw.get("name") or "").strip()
        if not name:
            problems.append(Problem("config.owner_name_missing", {"where": where}))
        elif name in seen_names:
            problems.append(Problem("config.owner_name_taken", {"where": where, "name": repr(name)}))
        seen_names.add(name)
        where = f"owners[{i}] ({name or '?'})"
        _unknown_keys(raw, OWNER_KEYS, where, problems)
        user = _user(raw.get("user"), f"{where}.user", problems)
        categories = raw.get("categories")
        if not isinstance(categories, list) or not categories:
            problems.append(Problem("config.categories_missing", {"where": where}))
            categories = []
        for c in categories:
            if c not in CATEGORIES:
                problems.append(Problem("config.category_unknown", {"where": where, "value": repr(c)}))
        branches = raw.get("branches", [])
        if not isinstance(branches, list):
            problems.append(Problem("config.branches_not_list", {"where": where}))
            branches = []
        owners.append(
            Owner(
                name=name,
                user=user,
                categories=tuple(c for c in categories if c in CATEGORIES),
                branches=tuple(str(b).strip() for b in branches),
                delegates=_users(raw.get("delegates"), f"{where}.delegates", problems),
                escalation=_users(raw.get("escalation"), f"{where}.escalation", problems),
                follow_up=_follow_up(raw.get("follow_up"), f"{where}.follow_up", follow_up, problems) if "follow_up" in raw else None,
            )
        )

    timings_raw = data.get("timings", {})
    if not isinstance(timings_raw, dict):
        problems.append(Problem("config.not_a_table", {"where": "[timings]"}))
        timings_raw = {}
    _unknown_keys(timings_raw, TIMINGS_KEYS, "[timings]", problems)
    defaults = Timings()
    timings = Timings(
        digest_at=_time(timings_raw.get("digest_at"), "timings.digest_at", defaults.digest_at, problems),
        work_start=_time(timings_raw.get("work_start"), "timings.work_start", defaults.work_start, problems),
        work_end=_time(timings_raw.get("work_end"), "timings.work_end", defaults.work_end, problems),
        reaction_undo_minutes=_minutes(
            timings_raw.get("reaction_undo_minutes"), "timings.reaction_undo_minutes", defaults.reaction_undo_minutes, problems
        ),
        min_window=_hours(timings_raw.get("min_window"), "timings.min_window", defaults.min_window, problems),
    )
    if timings.work_start >= timings.work_end:
        problems.append(Problem("config.work_hours_order"))
    if timings.digest_at >= timings.work_end:
        problems.append(Problem("config.digest_after_work"))

    cal_raw = data.get("calendar", {})
    if not isinstance(cal_raw, dict):
        problems.append(Problem("config.not_a_table", {"where": "[calendar]"}))
        cal_raw = {}
    _unknown_keys(cal_raw, CALENDAR_KEYS, "[calendar]", problems)
    overrides = CalendarOverrides(
        days_off=_dates(cal_raw.get("days_off"), "[calendar].days_off", problems),
        working_days=_dates(cal_raw.get("working_days"), "[calendar].working_days", problems),
        assume_weekdays=_years(cal_raw.get("assume_weekdays"), "[calendar].assume_weekdays", problems),
        years=_calendar_years(cal_raw.get("years"), problems),
    )
    both = overrides.days_off & overrides.working_days
    if both:
        problems.append(Problem("config.calendar_conflict", {"days": ", ".join(sorted(map(str, both)))}))

    limits = _counts(ImportLimits(), data, "import", problems)
    privacy = _counts(Privacy(), data, "privacy", problems)
    letters = _letters(data.get("letters", {}), problems)

    if problems:
        raise ConfigError(problems)
    return Routing(
        channel=channel, cs_lead=lead, cs_agents=agents, owners=tuple(owners), timings=timings, calendar=overrides,
        follow_up=follow_up, penalties=penalties, imports=limits, privacy=privacy, letters=letters,
    )


def _letters(raw: object, problems: list[Problem]) -> Letters:
    """``[letters]``: two whole numbers of working days (1 to
    ``LETTERS_MAX_DAYS``) and non-empty texts, over the defaults."""
    if not isinstance(raw, dict):
        problems.append(Problem("config.not_a_table", {"where": "[letters]"}))
        return Letters()
    _unknown_keys(raw, LETTERS_KEYS, "[letters]", problems)
    changes: dict[str, object] = {}
    for key in LETTERS_COUNTS:
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LETTERS_MAX_DAYS:
            problems.append(Problem("letters.config_days", {"where": f"{LETTERS_TABLE}.{key}", "value": repr(value), "most": LETTERS_MAX_DAYS}))
            continue
        changes[key] = value
    for key, name in LETTERS_TEXTS.items():
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem("letters.config_text", {"where": f"{LETTERS_TABLE}.{key}", "value": repr(value)}))
            continue
        changes[name] = value.strip()
    return replace(Letters(), **changes)


def _counts(defaults, data: Mapping[str, object], name: str, problems: list[Problem]):
    """A dataclass of whole numbers (each at least 1) from the file's
    ``[name]`` table, over ``defaults``."""
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        problems.append(Problem("config.not_a_table", {"where": f"[{name}]"}))
        return defaults
    _unknown_keys(raw, tuple(f.name for f in fields(defaults)), f"[{name}]", problems)
    changes = {}
    for f in fields(defaults):
        value = raw.get(f.name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(Problem("config.not_a_count", {"where": f"{name}.{f.name}", "value": repr(value)}))
            continue
        changes[f.name] = value
    return replace(defaults, **changes)


def load_routing(path: Path) -> Routing:
    return read_routing(path)[0]


def read_routing(path: Path) -> tuple[Routing, bytes]:
    """The routing file's ``Routing`` and the content it was parsed from (what
    a reload compares with), read once."""
    if not path.exists():
        raise ConfigError([Problem("config.routing_not_found", {"path": repr(str(path))})])
    content = path.read_bytes()
    return routing_from_bytes(content, path), content


def routing_from_bytes(content: bytes, path: Path) -> Routing:
    """A ``Routing`` from the routing file's content (read from ``path``)."""
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem("config.routing_not_toml", {"path": repr(str(path)), "detail": str(exc)})]) from None
    try:
        return parse_routing(data)
    except ConfigError as exc:
        raise ConfigError([replace(p, file=str(path)) for p in exc.problems]) from None


def resolve_emails(routing: Routing, lookup: Callable[[str], str]) -> Routing:
    """Replace e-mail addresses in the routing by Slack user IDs via ``lookup``."""
    cache: dict[str, str] = {}

    def one(user: str) -> str:
        if not EMAIL.match(user):
            return user
        if user not in cache:
            cache[user] = lookup(user)
        return cache[user]

    def many(users: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(one(u) for u in users)

    return replace(
        routing,
        cs_lead=one(routing.cs_lead),
        cs_agents={name: one(u) for name, u in routing.cs_agents.items()},
        owners=tuple(
            replace(o, user=one(o.user), delegates=many(o.delegates), escalation=many(o.escalation))
            for o in routing.owners
        ),
    )


def routing_emails(routing: Routing) -> set[str]:
    users = [routing.cs_lead, *routing.cs_agents.values()]
    for o in routing.owners:
        users += [o.user, *o.delegates, *o.escalation]
    return {u for u in users if EMAIL.match(u)}
