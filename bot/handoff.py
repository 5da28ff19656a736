"""Nothing acknowledged is lost: a durable inbox between the front that
acknowledges Slack's requests and the workers that do the work, all in one
process.

- The **front** (HTTP: ``bot.server``; Socket Mode: ``bot.socket_mode``)
  checks a request (``triage``), stores it in the ``inbox`` table in its own
  short transaction, and only then acknowledges it. A request it cannot store
  is not acknowledged, so Slack retries or the user sees the failure.
- The **pool** (``InboxPool``) dispatches stored rows through the whole Bolt
  app from ``create_app`` in a few worker threads, and marks them done. The
  front hands it row ids through an in-memory queue for speed; a recovery
  loop (at start-up and every few seconds) claims rows that nobody holds — a
  killed process's or another replica's whose lease ran out — and renews the
  leases of the rows this process still holds. A row that fails to dispatch
  ``MAX_ATTEMPTS`` times is parked with its error, never retried forever.

Every use case is idempotent (``decide()`` + compare-and-set, event ids), so
a row dispatched again after a crash does no harm.

Errors: none of its own.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import BoltRequest, BoltResponse

from bot.clock import Clock
from bot.i18n import Catalog
from handlers.views import MODAL_TEXT, blank_text_errors
from storage import inbox as store
from storage.db import SessionFactory, transaction

log = logging.getLogger(__name__)
WORKER_THREADS = 4  # overlap the workers' Slack calls; the CPU is one core anyway
LEASE = timedelta(seconds=15)  # how long a killed process's rows wait before another takes them
RECOVER_EVERY = 3.0  # seconds between recovery passes (claims and lease renewals)
MAX_ATTEMPTS = 5
STUCK_AFTER = timedelta(seconds=60)  # a row waiting this long means the pool is not taking rows
KEEP_DONE = timedelta(days=7)  # finished rows are kept this long (to look into a complaint), then deleted
HTTP, SOCKET = "http", "socket"

Check = Callable[[dict], str | None]  # extra payload validation: a reason to refuse, or None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the front does with a request: ``refuse`` (400, with the reason),
    ``answer`` (acknowledge with this JSON body, store nothing) or store it
    (neither), under ``dedup_key``."""

    refuse: str | None = None
    answer: dict | None = None
    dedup_key: str | None = None


def triage(payload: object, *, catalog: Catalog, check: Check | None = None) -> Verdict:
    """Check a parsed request (an event envelope, an interactivity payload or
    a slash command's fields) before it is stored. Every event, action, view
    and command type gets through unless it is malformed."""
    if not isinstance(payload, dict):
        return Verdict(refuse="the payload is not a JSON object")
    kind = payload.get("type")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return Verdict(refuse="block_actions without actions")
    if kind == "view_submission":
        view = payload.get("view")
        if not isinstance(view, dict):
            return Verdict(refuse="view_submission without a view")
        if view.get("callback_id") in MODAL_TEXT:
            try:
                errors = blank_text_errors(view, catalog)
            except (KeyError, TypeError, AttributeError):
                return Verdict(refuse="view_submission without its input")
            if errors:  # the modal stays open with the error; nothing to store
                return Verdict(answer={"response_action": "errors", "errors": errors})
    if check is not None and (reason := check(payload)):
        return Verdict(refuse=reason)
    dedup = None
    if kind == "event_callback":
        event_id = payload.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            return Verdict(refuse="event_callback without an event_id")
        dedup = f"event:{event_id}"
    return Verdict(dedup_key=dedup)


def socket_headers(retry_attempt: int | None, retry_reason: str | None) -> dict[str, str]:
    """HTTP mode's retry headers for a Socket Mode envelope, as Bolt's own
    Socket Mode adapter builds them."""
    headers: dict[str, str] = {}
    if retry_attempt is not None:
        headers["x-slack-retry-num"] = str(retry_attempt)
    if retry_reason is not None:
        headers["x-slack-retry-reason"] = retry_reason
    return headers


@dataclass(frozen=True, slots=True)
class Job:
    """A row to dispatch, as the front stored it (or as a claim read it)."""

    id: int
    mode: str
    body: str
    headers: str
    attempts: int
    error: str = ""


class InboxPool:
    """The worker threads, the recovery loop, and what the fronts call."""

    def __init__(
        self, *, session_factory: SessionFactory, dispatch: Callable[[BoltRequest], BoltResponse], clock: Clock,
        threads: int = WORKER_THREADS, lease: timedelta = LEASE, recover_every: float = RECOVER_EVERY,
        max_attempts: int = MAX_ATTEMPTS, instance: str | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.instance = instance or f"rejectbot-{uuid.uuid4().hex[:12]}"
        self._dispatch = dispatch
        self._clock = clock
        self._threads_wanted = threads
        self._lease = lease
        self._recover_every = recover_every
        self._max_attempts = max_attempts
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._held: set[int] = set()  # queued or in progress here: their leases are renewed
        self._held_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._recovery: threading.Thread | None = None

    # --- the front's side ---------------------------------------------------
    def accept(self, *, mode: str, body: str, headers: Mapping[str, str], dedup_key: str | None) -> int | None:
        """Store a request (its own transaction) and queue it here; its row id,
        or None when it was already stored (a retried event). Raises when the
        database does: then the request must not be acknowledged."""
        now = self._clock.now()
        stored_headers = json.dumps(dict(headers))
        with transaction(self.session_factory) as session:
            entry_id = store.add_entry(
                session=session, mode=mode, body=body, headers=stored_headers, received_at=now,
                dedup_key=dedup_key, claimed_by=self.instance, claimed_until=now + self._lease,
            )
        if entry_id is not None:  # stored claimed: the first attempt is ours, no need to read it back
            self._hold(Job(id=entry_id, mode=mode, body=body, headers=stored_headers, attempts=1))
        return entry_id

    # --- life cycle ---------------------------------------------------------
    def start(self) -> None:
        for n in range(self._threads_wanted):
            thread = threading.Thread(target=self._work, name=f"inbox-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._recovery = threading.Thread(target=self._recover_loop, name="inbox-recovery", daemon=True)
        self._recovery.start()

    def stop(self, *, timeout: float = 5.0) -> None:
        """Take no more rows, let those in progress finish for up to
        ``timeout`` seconds in all; give back the rest, which stay in the
        inbox for the next start or another replica."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._threads:
            self._queue.put(None)
        for thread in [*self._threads, *([self._recovery] if self._recovery else [])]:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._held_lock:
            left = sorted(self._held)
        if left:
            log.info("stopping: %s request(s) left in the inbox for the next start", len(left))
            try:
                with transaction(self.session_factory) as session:
                    store.release(session=session, entry_ids=left, instance=self.instance)
            except Exception:  # their leases run out instead
                log.exception("could not give back %s inbox row(s)", len(left))

    def problem(self) -> str | None:
        """For health: is the pool taking rows?"""
        dead = [t.name for t in self._threads if not t.is_alive()]
        if not self._threads or dead:
            return f"worker threads not running ({', '.join(dead) or 'not started'})"
        if self._recovery is None or not self._recovery.is_alive():
            return "inbox recovery not running"
        with transaction(self.session_factory) as session:
            oldest = store.find_oldest_waiting(session=session)
        if oldest is not None and self._clock.now() - oldest > STUCK_AFTER:
            return f"inbox rows waiting since {oldest.isoformat(timespec='seconds')}"
        return None

    def run_queued(self) -> int:
        """Dispatch what is queued here in the calling thread (a pool that was
        not started: tests); how many rows."""
        count = 0
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return count
            if job is not None:
                self._run_held(job)
                count += 1

    # --- the workers --------------------------------------------------------
    def _hold(self, job: Job) -> None:
        with self._held_lock:
            if job.id in self._held:
                return
            self._held.add(job.id)
        self._queue.put(job)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            self._run_held(job)

    def _run_held(self, job: Job) -> None:
        try:
            self.run_job(job)
        except Exception:  # the database failed around the dispatch: the lease brings the row back
            log.exception("inbox row %s: could not record its outcome", job.id)
        finally:
            with self._held_lock:
                self._held.discard(job.id)

    def run_job(self, job: Job) -> None:
        """Dispatch one row this process holds, and record the outcome."""
        if job.attempts > self._max_attempts:
            self._fail(job.id, job.error or "the process died while dispatching it", park=True, attempts=job.attempts - 1)
            return
        try:
            response = self._dispatch(_bolt_request(job.mode, job.body, job.headers))
        except Exception as exc:  # Bolt itself failed (listener errors go to the app's error handler)
            log.exception("inbox row %s: dispatch failed (attempt %s)", job.id, job.attempts)
            error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
            self._fail(job.id, error, park=job.attempts >= self._max_attempts, attempts=job.attempts)
            return
        if response.status >= 500:
            log.warning("inbox row %s: the app answered %s (its error handler told the user)", job.id, response.status)
        with transaction(self.session_factory) as session:
            store.mark_done(session=session, entry_id=job.id, at=self._clock.now())

    def _fail(self, entry_id: int, error: str, *, park: bool, attempts: int) -> None:
        now = self._clock.now()
        retry_at = None if park else now + timedelta(seconds=2 * attempts)
        if park:
            log.error("inbox row %s parked after %s attempts: %s", entry_id, attempts, error)
        with transaction(self.session_factory) as session:
            store.mark_failed(session=session, entry_id=entry_id, error=error, retry_at=retry_at, at=now)

    # --- recovery -----------------------------------------------------------
    def _recover_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.recover()
            except Exception:  # the database is away: try again next time (health says so)
                log.exception("inbox recovery failed")
            self._stopping.wait(self._recover_every)

    def recover(self) -> list[int]:
        """Renew the leases of rows held here, claim free rows, and forget rows
        done over ``KEEP_DONE`` ago; the ids claimed."""
        now = self._clock.now()
        with self._held_lock:
            held = sorted(self._held)
        with transaction(self.session_factory) as session:
            store.renew_leases(session=session, entry_ids=held, instance=self.instance, until=now + self._lease)
            claimed = store.claim_free(session=session, instance=self.instance, now=now, until=now + self._lease)
            store.delete_done(session=session, before=now - KEEP_DONE)  # bounded: at most a batch per pass
        if claimed:
            log.info("inbox: took over %s waiting row(s)", len(claimed))
        for entry in claimed:
            if not self._stopping.is_set():
                self._hold(Job(id=entry.id, mode=entry.mode, body=entry.body, headers=entry.headers, attempts=entry.attempts, error=entry.error))
        return [entry.id for entry in claimed]


def _bolt_request(mode: str, body: str, headers: str) -> BoltRequest:
    parsed = json.loads(headers or "{}")
    if mode == SOCKET:
        return BoltRequest(mode="socket_mode", body=json.loads(body), headers=parsed or None)
    return BoltRequest(body=body, headers=parsed)
