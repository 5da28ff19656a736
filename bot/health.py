"""What ``/healthz`` says: one ``Health`` per process, told by the ticker
and its jobs what happened, and asking its checks (the database, the worker
pool) when someone looks.

Unhealthy (503, with the reasons) when the last run of a watched job (the
digest, the sweep) that did something failed (a digest tick that is too
early, or on a day off, neither clears nor sets a failure: the day's
digest is done only once it is posted), the ticker has not run for ``STALE_AFTER``, or a
check reports a problem; otherwise 200 with the time of each job's last
success.

Errors: none of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=5)
WATCHED_JOBS = ("digest", "sweep")
DONE_STATES = ("posted", "already_posted")  # a result with a ``state`` (the digest's) is done only in these

Probe = Callable[[], str | None]  # a check's problem, or a note's line; None: nothing to say


@dataclass(frozen=True, slots=True)
class JobRun:
    at: datetime
    problem: str | None  # None: it worked


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)


class Health:
    """Thread-safe: the ticker writes, the HTTP server's threads read."""

    def __init__(self, *, clock: Clock, stale_after: timedelta = STALE_AFTER, watched: tuple[str, ...] = WATCHED_JOBS, ticker: bool = True) -> None:
        self._clock = clock
        self._stale_after = stale_after
        self._watched = watched
        self._ticker = ticker
        self._lock = threading.Lock()
        self._started_at = clock.now()
        self._last_tick: datetime | None = None
        self._last_run: dict[str, JobRun] = {}
        self._last_success: dict[str, datetime] = {}
        self._checks: list[tuple[str, Probe]] = []
        self._notes: list[tuple[str, Probe]] = []

    def add_check(self, name: str, check: Probe) -> None:
        with self._lock:
            self._checks.append((name, check))

    def add_note(self, name: str, note: Probe) -> None:
        """A line for the 200 body (something an operator should see that
        is not a failure, e.g. parked requests); ignored when it raises."""
        with self._lock:
            self._notes.append((name, note))

    def record_tick(self) -> None:
        with self._lock:
            self._last_tick = self._clock.now()

    def record_job(self, name: str, problem: str | None, *, done: bool = True) -> None:
        """A run that failed (``problem``), or worked; one that had nothing
        to do yet (``done`` False: the digest before its time) changes
        nothing, so an earlier failure stands until a run does the work."""
        now = self._clock.now()
        with self._lock:
            if problem is not None:
                self._last_run[name] = JobRun(at=now, problem=problem)
            elif done:
                self._last_run[name] = JobRun(at=now, problem=None)
                self._last_success[name] = now

    def report(self) -> HealthReport:
        now = self._clock.now()
        with self._lock:
            last_tick, started = self._last_tick, self._started_at
            runs, successes, checks, notes = dict(self._last_run), dict(self._last_success), list(self._checks), list(self._notes)
        problems: list[str] = []
        for name in self._watched:
            run = runs.get(name)
            if run is not None and run.problem is not None:
                problems.append(f"{name} failed at {run.at.isoformat(timespec='seconds')}: {run.problem}")
        if self._ticker and now - (last_tick or started) > self._stale_after:
            since = f"since {last_tick.isoformat(timespec='seconds')}" if last_tick else "since start-up"
            problems.append(f"ticker has not run {since}")
        for name, check in checks:
            try:
                problem = check()
            except Exception as exc:  # a check that cannot tell is a problem in itself
                log.exception("health check %s failed", name)
                problem = f"{type(exc).__name__}: {_first_line(exc)}"
            if problem:
                problems.append(f"{name}: {problem}")
        if problems:
            return HealthReport(ok=False, lines=tuple(problems))
        lines = ["ok"] + [f"last {name}: {successes[name].isoformat(timespec='seconds') if name in successes else 'never'}" for name in self._watched]
        for name, note in notes:
            try:
                line = note()
            except Exception:  # a note is not a check: say nothing
                log.exception("health note %s failed", name)
                line = None
            if line:
                lines.append(f"{name}: {line}")
        return HealthReport(ok=True, lines=tuple(lines))


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


def short_reason(exc: BaseException) -> str:
    """An exception in a few words; a Slack API error by its error code."""
    response = getattr(exc, "response", None)
    code = response.get("error") if hasattr(response, "get") else None
    return f"{type(exc).__name__}: {code}" if isinstance(code, str) else f"{type(exc).__name__}: {_first_line(exc)}"


def run_job(name: str, job: Callable[[], object], *, health: Health | None) -> str | None:
    """Run one job on its own: an exception or a result with a truthy
    ``problem`` is a failure, logged and recorded; its short reason, or None."""
    done = True
    try:
        result = job()
    except Exception as exc:
        log.exception("job %s failed", name)
        problem = short_reason(exc)
    else:
        problem = getattr(result, "problem", None) or None
        if problem:
            log.error("job %s: %s", name, problem)
        state = getattr(result, "state", None)
        done = state is None or str(state) in DONE_STATES
    if health is not None:
        health.record_job(name, problem, done=done)
    return problem
