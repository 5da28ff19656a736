"""Changes to the routing file without a restart.

On every tick the file is looked at (its size and modification time; when
either changed, its content's SHA-256). A changed content is parsed and
checked as at start-up, its e-mail addresses resolved to Slack users
(``users.lookupByEmail``), and then it replaces the routing in the one
``RoutingHolder`` everything reads: every handler, job and service sees it
from that moment.

A bad edit (not TOML, an unknown key, a bad value, an unknown e-mail
address, the file gone) changes nothing: the last good routing stays in
force, the problems are logged, ``/healthz`` notes them, and the CS lead of
that routing gets one DM per distinct bad content, in working time (a bad
edit made at night is told at the next tick in working hours). Slack failing
while e-mail addresses are resolved is not a bad edit: the next tick tries
again.

Errors: none; everything is reported as above.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import ConfigError, Problem, resolve_emails, routing_emails, routing_from_bytes
from bot.core.routing import Routing
from bot.core.workcal import CalendarDataMissing
from bot.core.worktime import WorkingHours
from bot.gateway import UserNotFound
from bot.services.deps import Deps
from bot.services.notices import is_done, post_once

log = logging.getLogger(__name__)
PROBLEMS_SHOWN = 20  # in the CS lead's DM; the log has them all


@dataclass
class BadEdit:
    digest: str  # the content's SHA-256
    problems: list[str]  # rendered in the bot's language
    since: datetime
    told: bool = False


@dataclass
class ReloadResult:
    """What a tick's look at the file did: "unchanged", "reloaded", "refused"
    or "retry". No ``problem``: a refused edit is a /healthz note, not a failing job."""

    change: str


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class RoutingReloader:
    """Watches one routing file for one process."""

    def __init__(self, path: Path, *, lookup: Callable[[str], str], loaded: bytes | None) -> None:
        """``loaded``: the content the routing in force was read from."""
        self.path = path
        self._lookup = lookup
        self._stat: tuple[int, int] | None = self._stat_now()
        self._good = _digest(loaded) if loaded is not None else None
        self.bad: BadEdit | None = None

    def _stat_now(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def check(self, deps: Deps) -> ReloadResult:
        """Reload the file if it changed; tell the CS lead of a bad edit."""
        now = deps.clock.now()
        result = self._reload(deps, now)
        if self.bad is not None and not self.bad.told and _working_time(deps, now):
            self.bad.told = self._tell(deps, now)
        return result

    def _reload(self, deps: Deps, now: datetime) -> ReloadResult:
        stat = self._stat_now()
        if stat is not None and stat == self._stat:
            return ReloadResult("unchanged")
        if stat is None:  # gone, or unreadable: keep what is in force
            if self._stat is None and self.bad is not None:
                return ReloadResult("unchanged")
            self._stat = None
            problem = Problem("config.routing_not_found", {"path": repr(str(self.path))})
            return self._refuse(deps, now, _digest(b"\0missing"), [problem])
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            log.warning("routing file %s could not be read (%s); trying again at the next tick", self.path, exc)
            return ReloadResult("retry")
        digest = _digest(content)
        if digest == self._good or (self.bad is not None and digest == self.bad.digest):
            self._stat = stat
            if digest == self._good and self.bad is not None:
                log.info("routing file %s is back to the routing in force", self.path)
                self.bad = None
            return ReloadResult("unchanged")
        try:
            routing = routing_from_bytes(content, self.path)
            routing = self._resolve(routing)
        except ConfigError as exc:
            self._stat = stat
            return self._refuse(deps, now, digest, exc.problems)
        except Exception as exc:  # noqa: BLE001 - Slack failing to resolve addresses: not the file's fault
            log.warning("routing file %s changed, but its e-mail addresses could not be resolved (%s); trying again at the next tick", self.path, exc)
            return ReloadResult("retry")
        deps.holder.replace(routing)
        self._stat, self._good, self.bad = stat, digest, None
        log.info("routing file %s reloaded: %d owners, channel %s", self.path, len(routing.owners), routing.channel)
        return ReloadResult("reloaded")

    def _resolve(self, routing: Routing) -> Routing:
        if not routing_emails(routing):
            return routing
        unknown: list[Problem] = []

        def lookup(email: str) -> str:
            try:
                return self._lookup(email)
            except UserNotFound:
                unknown.append(Problem("cli.email_unknown", {"email": email}, file=str(self.path)))
                return email

        resolved = resolve_emails(routing, lookup)
        if unknown:
            raise ConfigError(unknown)
        return resolved

    def _refuse(self, deps: Deps, now: datetime, digest: str, problems: list[Problem]) -> ReloadResult:
        rendered = [p.render(deps.catalog) for p in problems]
        log.error("routing file %s refused; the last good routing stays in force:\n%s", self.path, "\n".join(rendered))
        self.bad = BadEdit(digest=digest, problems=rendered, since=now.astimezone(deps.timezone))
        self.bad.told = is_done(deps, _key(digest))  # told already (by another process, or before a restart)
        return ReloadResult("refused")

    def _tell(self, deps: Deps, now: datetime) -> bool:
        bad = self.bad
        lines = [deps.catalog.t("calendar.routing_refused", path=str(self.path), count=len(bad.problems))]
        lines += [f"• {p}" for p in bad.problems[:PROBLEMS_SHOWN]]
        if len(bad.problems) > PROBLEMS_SHOWN:
            lines.append("…")
        return post_once(deps, _key(bad.digest), user=deps.routing.cs_lead, text="\n".join(lines), now=now)

    def note(self, catalog) -> str | None:
        """``/healthz``'s line while an edit is refused, else None."""
        if self.bad is None:
            return None
        first = self.bad.problems[0] if self.bad.problems else ""
        return catalog.t("calendar.routing_refused_note", since=self.bad.since.isoformat(timespec="seconds"), count=len(self.bad.problems), first=first)


def _key(digest: str) -> str:
    return f"routing-refused:{digest[:32]}"


def _working_time(deps: Deps, now: datetime) -> bool:
    """On a working day between work_start and work_end; on a day whose year
    has no calendar, Monday to Friday in those hours (a bad edit while the
    calendar is being fixed must still be told)."""
    timings = deps.routing.timings
    try:
        return WorkingHours(deps.calendar, timings.work_start, timings.work_end, deps.timezone).is_working_time(now)
    except CalendarDataMissing:
        local = now.astimezone(deps.timezone)
        return local.weekday() < 5 and timings.work_start <= local.time().replace(tzinfo=None) < timings.work_end


