"""Configuration: the environment (and ``.env``, loaded by the CLI) and the
routing file.

Both loaders collect every problem they find before they give up, so
``rejectbot check-config`` can name them all at once.

Errors: ``ConfigError`` (``.problems`` lists each problem as a sentence).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.routing import CATEGORIES, CalendarOverrides, Owner, Routing, Timings
from bot.i18n import LOCALES

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///rejectbot.db"
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_slack: bool = True) -> Settings:
        """Settings from environment variables; ``require_slack=False`` for
        commands that never talk to Slack (import, db upgrade)."""
        problems: list[str] = []
        get = lambda name: (env.get(name) or "").strip() or None  # noqa: E731

        bot_token = get("SLACK_BOT_TOKEN")
        app_token = get("SLACK_APP_TOKEN")
        secret = get("SLACK_SIGNING_SECRET")
        if require_slack:
            if not bot_token:
                problems.append("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) from the Slack app's OAuth & Permissions page.")
            elif not bot_token.startswith("xoxb-"):
                problems.append("SLACK_BOT_TOKEN must start with xoxb- (the bot token, not a user or app token).")
            if app_token and not app_token.startswith("xapp-"):
                problems.append("SLACK_APP_TOKEN must start with xapp- (an app-level token with the connections:write scope).")
            if not app_token and not secret:
                problems.append("Set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET for HTTP mode (rejectbot run --http).")

        api_url = get("SLACK_API_URL") or DEFAULT_API_URL
        if not re.match(r"^https?://", api_url):
            problems.append(f"SLACK_API_URL {api_url!r} is not an http(s) URL.")
        elif not api_url.endswith("/"):
            api_url += "/"

        database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not re.match(r"^(sqlite|postgresql(\+psycopg)?|postgres)://", database_url):
            problems.append(f"DATABASE_URL {database_url!r} is neither sqlite:///… nor postgresql://….")

        tz_name = get("BOT_TIMEZONE") or "Asia/Shanghai"
        timezone = ZoneInfo("Asia/Shanghai")
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a tzdata folder
            problems.append(f"BOT_TIMEZONE {tz_name!r} is not an IANA time zone (e.g. Asia/Shanghai).")

        locale = get("BOT_LOCALE") or "zh_CN"
        if locale not in LOCALES:
            problems.append(f"BOT_LOCALE {locale!r} is not one of {', '.join(LOCALES)}.")

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
        )


def _user(value: object, where: str, problems: list[str]) -> str:
    if isinstance(value, str) and (USER_ID.match(value.strip()) or EMAIL.match(value.strip())):
        return value.strip()
    problems.append(f"{where}: {value!r} is neither a Slack user ID (U…) nor an e-mail address.")
    return ""


def _users(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f"{where} must be a list of users.")
        return ()
    return tuple(_user(v, f"{where}[{i}]", problems) for i, v in enumerate(value))


def _time(value: object, where: str, default: time, problems: list[str]) -> time:
    if value is None:
        return default
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a time of day like \"08:30\".")
        return default


def _minutes(value: object, where: str, default: int, problems: list[str]) -> int:
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    problems.append(f"{where}: {value!r} is not a whole number of minutes like 5.")
    return default


def _dates(value: object, where: str, problems: list[str]) -> frozenset[date]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        problems.append(f"{where} must be a list of dates like [2026-12-31].")
        return frozenset()
    days = set()
    for i, v in enumerate(value):
        if isinstance(v, datetime):
            problems.append(f"{where}[{i}]: {v!r} has a time of day; give a plain date like 2026-12-31.")
            continue
        if isinstance(v, date):
            days.add(v)
            continue
        try:
            days.add(date.fromisoformat(str(v)))
        except ValueError:
            problems.append(f"{where}[{i}]: {v!r} is not a date like 2026-12-31.")
    return frozenset(days)


def parse_routing(data: Mapping[str, object]) -> Routing:
    """A ``Routing`` from the routing file's parsed TOML; every problem at once."""
    problems: list[str] = []

    channel = data.get("channel")
    if not isinstance(channel, str) or not CHANNEL_ID.match(channel):
        problems.append(f"channel: {channel!r} is not a Slack channel ID (C…); open the channel's details in Slack and copy its ID.")
        channel = ""

    cs = data.get("cs")
    if not isinstance(cs, dict):
        problems.append("[cs] is missing: it names the CS lead and the callback agents.")
        cs = {}
    lead = _user(cs.get("lead"), "cs.lead", problems) if "lead" in cs else ""
    if "lead" not in cs and isinstance(data.get("cs"), dict):
        problems.append("cs.lead is missing: the CS lead approves letters and receives unrouted records.")
    agents_raw = cs.get("agents", {})
    agents: dict[str, str] = {}
    if not isinstance(agents_raw, dict):
        problems.append("cs.agents must be a table of callback agent name = Slack user.")
    else:
        for name, user in agents_raw.items():
            agents[str(name).strip()] = _user(user, f"cs.agents.{name}", problems)

    owners_raw = data.get("owners")
    owners: list[Owner] = []
    if not isinstance(owners_raw, list) or not owners_raw:
        problems.append("No [[owners]]: add at least one logistics owner with the delivery types they answer for.")
        owners_raw = []
    seen_names: set[str] = set()
    for i, raw in enumerate(owners_raw):
        where = f"owners[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where} must be a table.")
            continue
        name = str(raw.get("name") or "").strip()
        if not name:
            problems.append(f"{where}.name is missing: it is shown in messages.")
        elif name in seen_names:
            problems.append(f"{where}.name {name!r} is used by another owner; names must be unique.")
        seen_names.add(name)
        where = f"owners[{i}] ({name or '?'})"
        user = _user(raw.get("user"), f"{where}.user", problems)
        categories = raw.get("categories")
        if not isinstance(categories, list) or not categories:
            problems.append(f"{where}.categories is missing: list \"large\" and/or \"small\".")
            categories = []
        for c in categories:
            if c not in CATEGORIES:
                problems.append(f"{where}.categories: {c!r} is not \"large\" or \"small\".")
        branches = raw.get("branches", [])
        if not isinstance(branches, list):
            problems.append(f"{where}.branches must be a list of branch names (empty: all branches).")
            branches = []
        owners.append(
            Owner(
                name=name,
                user=user,
                categories=tuple(c for c in categories if c in CATEGORIES),
                branches=tuple(str(b).strip() for b in branches),
                delegates=_users(raw.get("delegates"), f"{where}.delegates", problems),
                escalation=_users(raw.get("escalation"), f"{where}.escalation", problems),
            )
        )

    timings_raw = data.get("timings", {})
    if not isinstance(timings_raw, dict):
        problems.append("[timings] must be a table.")
        timings_raw = {}
    defaults = Timings()
    timings = Timings(
        digest_at=_time(timings_raw.get("digest_at"), "timings.digest_at", defaults.digest_at, problems),
        work_start=_time(timings_raw.get("work_start"), "timings.work_start", defaults.work_start, problems),
        work_end=_time(timings_raw.get("work_end"), "timings.work_end", defaults.work_end, problems),
        reaction_undo_minutes=_minutes(
            timings_raw.get("reaction_undo_minutes"), "timings.reaction_undo_minutes", defaults.reaction_undo_minutes, problems
        ),
    )
    if timings.work_start >= timings.work_end:
        problems.append("timings.work_start must be before timings.work_end.")
    if timings.digest_at >= timings.work_end:
        problems.append("timings.digest_at must be before timings.work_end, or nobody can answer the same day.")

    cal_raw = data.get("calendar", {})
    if not isinstance(cal_raw, dict):
        problems.append("[calendar] must be a table.")
        cal_raw = {}
    overrides = CalendarOverrides(
        days_off=_dates(cal_raw.get("days_off"), "calendar.days_off", problems),
        working_days=_dates(cal_raw.get("working_days"), "calendar.working_days", problems),
    )
    both = overrides.days_off & overrides.working_days
    if both:
        problems.append(f"calendar: {', '.join(sorted(map(str, both)))} listed both as a day off and as a working day.")

    if problems:
        raise ConfigError(problems)
    return Routing(channel=channel, cs_lead=lead, cs_agents=agents, owners=tuple(owners), timings=timings, calendar=overrides)


def load_routing(path: Path) -> Routing:
    if not path.exists():
        raise ConfigError([f"Routing file {str(path)!r} not found: copy routing.example.toml to routing.toml, or set ROUTING_FILE."])
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"Routing file {str(path)!r} is not valid TOML: {exc}."]) from None
    try:
        return parse_routing(data)
    except ConfigError as exc:
        raise ConfigError([f"{path}: {p}" for p in exc.problems]) from None


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
