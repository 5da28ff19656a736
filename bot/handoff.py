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
  leases of the rows this process still holds. A row whose dispatch fails
  (Bolt raises, or the app's error handler answers 5xx: a listener failed,
  say the database dropped its connection) is retried with back-off; after
  ``MAX_ATTEMPTS`` it is parked with its error, never retried forever, and
  the person who sent it is told (``on_parked``).
- Each dispatch carries ``ATTEMPT_HEADER`` and ``MAX_ATTEMPTS_HEADER``, so
  the error handler tells the user about a failure only on the last attempt.

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
from urllib.parse import parse_qs

from slack_bolt import BoltRequest, BoltResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import Clock
from bot.core.slack_import import log_view_errors
from bot.i18n import Catalog
from bot.ids import ViewId
from handlers.context import ATTEMPT_HEADER, MAX_ATTEMPTS_HEADER, describe_request, user_id_of
from handlers.validate import malformed_reason
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
PARKED_NOTICE_WINDOW = timedelta(hours=24)  # health counts rows parked this recently

PayloadCheck = Callable[[dict], str | None]  # extra payload validation: a reason to refuse, or None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the front does with a request: ``refuse`` (400, with the reason),
    ``answer`` (acknowledge with this JSON body, store nothing) or store it
    (neither), under ``dedup_key``."""

    refuse: str | None = None
    answer: dict | None = None
    dedup_key: str | None = None


def triage(payload: object, *, catalog: Catalog, check: PayloadCheck | None = None) -> Verdict:
    """Check a parsed request (an event envelope, an interactivity payload or
    a slash command's fields) before it is stored. Every event, action, view
    and command type gets through unless it is malformed
    (``handlers.validate.malformed_reason``, or the caller's ``check``)."""
    if not isinstance(payload, dict):
        return Verdict(refuse="the payload is not a JSON object")
    kind = payload.get("type")
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
        if view.get("callback_id") == ViewId.LOG and (errors := log_view_errors(view, catalog)):
            return Verdict(answer={"response_action": "errors", "errors": errors})  # a duplicate is told by DM later
    # The same rules as the app's own middleware (handlers.validate), then the caller's
    if (reason := malformed_reason(payload)) or (check is not None and (reason := check(payload))):
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
        on_parked: Callable[[Job], None] | None = None, probe: Engine | None = None,
    ) -> None:
        """``on_parked`` is told of each row parked (to tell its sender);
        ``probe``, an engine for health's plain reads that never waits on a
        writer (``storage.db.make_probe_engine``)."""
        self.session_factory = session_factory
        self._on_parked = on_parked
        self._probe = probe
        self.instance = instance or f"rejectbot-{uuid.uuid4().hex[:12]}"
        self._dispatch = dispatch
        self._clock = clock
        self._threads_wanted = threads
        self._lease = lease
        self._recover_every = recover_every
        self._max_attempts = max_attempts
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._held: set[int] = set()  # queued or in progress here: their leases are renewed
        self._started: set[int] = set()  # in progress here (their attempt is spent)
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
            started = sorted(self._started & self._held)
        self._give_back(left, started=started)

    def _give_back(self, left: list[int], *, started: list[int]) -> None:
        if not left:
            return
        log.info("stopping: %s request(s) left in the inbox for the next start", len(left))
        try:
            with transaction(self.session_factory) as session:
                store.release(session=session, entry_ids=started, instance=self.instance, started=True)
                store.release(session=session, entry_ids=[i for i in left if i not in started], instance=self.instance, started=False)
        except Exception:  # their leases run out instead
            log.exception("could not give back %s inbox row(s)", len(left))

    def problem(self) -> str | None:
        """For health: is the pool taking rows?"""
        dead = [t.name for t in self._threads if not t.is_alive()]
        if not self._threads or dead:
            return f"worker threads not running ({', '.join(dead) or 'not started'})"
        if self._recovery is None or not self._recovery.is_alive():
            return "inbox recovery not running"
        now = self._clock.now()
        with self._reading() as session:
            oldest = store.find_oldest_waiting(session=session, instance=self.instance, now=now)
        if oldest is not None and now - oldest > STUCK_AFTER:
            return f"inbox rows waiting since {oldest.isoformat(timespec='seconds')}"
        return None

    def parked_note(self) -> str | None:
        """For health's 200 body (a note, not a failure: a 503 that never
        clears by itself helps nobody): rows parked in the last day."""
        with self._reading() as session:
            count = store.count_parked_since(session=session, since=self._clock.now() - PARKED_NOTICE_WINDOW)
        return f"{count} request(s) parked in the last 24 h (their senders were told)" if count else None

    def _reading(self):
        # A plain read on the probe engine takes no write lock (SQLite) and
        # gives up in seconds; without one, a transaction as anywhere else.
        return Session(self._probe) if self._probe is not None else transaction(self.session_factory)

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
        with self._held_lock:
            self._started.add(job.id)
        try:
            self.run_job(job)
        except Exception:  # the database failed around the dispatch: the lease brings the row back
            log.exception("inbox row %s: could not record its outcome", job.id)
        finally:
            with self._held_lock:
                self._held.discard(job.id)
                self._started.discard(job.id)

    def run_job(self, job: Job) -> None:
        """Dispatch one row this process holds, and record the outcome."""
        if job.attempts > self._max_attempts:
            self._fail(job, job.error or "the process died while dispatching it", park=True, attempts=job.attempts - 1)
            return
        try:
            response = self._dispatch(_bolt_request(job.mode, job.body, job.headers, attempt=job.attempts, max_attempts=self._max_attempts))
        except Exception as exc:  # Bolt itself failed (listener errors go to the app's error handler)
            log.exception("inbox row %s: dispatch failed (attempt %s)", job.id, job.attempts)
            error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
            self._fail(job, error, park=job.attempts >= self._max_attempts, attempts=job.attempts)
            return
        if response.status >= 500:  # a listener failed; use cases are idempotent, so try it again
            log.warning("inbox row %s: the app answered %s (attempt %s of %s)", job.id, response.status, job.attempts, self._max_attempts)
            self._fail(job, f"the app answered {response.status}", park=job.attempts >= self._max_attempts, attempts=job.attempts)
            return
        with transaction(self.session_factory) as session:
            store.mark_done(session=session, entry_id=job.id, at=self._clock.now())

    def _fail(self, job: Job, error: str, *, park: bool, attempts: int) -> None:
        now = self._clock.now()
        retry_at = None if park else now + timedelta(seconds=2 * attempts)
        with transaction(self.session_factory) as session:
            ours = store.mark_failed(session=session, entry_id=job.id, instance=self.instance, error=error, retry_at=retry_at, at=now)
        if not ours:
            log.warning("inbox row %s: its lease had run out; its new holder decides", job.id)
            return
        if not park:
            return
        log.error("inbox row %s parked after %s attempts: %s", job.id, attempts, error)
        if self._on_parked is not None:
            try:
                self._on_parked(job)
            except Exception:  # the log above is what is left
                log.exception("inbox row %s: could not tell its sender it was parked", job.id)

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
        late: list[int] = []
        for entry in claimed:
            if self._stopping.is_set():  # claimed while stopping: give it back, attempt and all
                late.append(entry.id)
            else:
                self._hold(Job(id=entry.id, mode=entry.mode, body=entry.body, headers=entry.headers, attempts=entry.attempts, error=entry.error))
        self._give_back(late, started=[])
        return [entry.id for entry in claimed]


def payload_of(job: Job) -> dict:
    """A stored request's payload: an envelope, an interactivity payload or a
    slash command's fields ({} when it cannot be read)."""
    try:
        if job.mode == SOCKET:
            payload = json.loads(job.body)
        elif job.body.lstrip().startswith("{"):
            payload = json.loads(job.body)
        else:
            fields = {name: values[0] for name, values in parse_qs(job.body, keep_blank_values=True).items()}
            payload = json.loads(fields["payload"]) if "payload" in fields else fields
    except (ValueError, KeyError):
        return {}
    return payload if isinstance(payload, dict) else {}


def tell_sender(tell: Callable[..., object]) -> Callable[[Job], None]:
    """An ``on_parked`` that calls ``tell(user=, request=, reference=)``
    (``bot.services.inbox_notice.tell_parked`` with its services bound)
    with who sent the row and what they asked for."""
    def on_parked(job: Job) -> None:
        payload = payload_of(job)
        tell(user=user_id_of(payload), request=describe_request(payload), reference=str(job.id))

    return on_parked


def _bolt_request(mode: str, body: str, headers: str, *, attempt: int, max_attempts: int) -> BoltRequest:
    parsed = json.loads(headers or "{}")
    parsed[ATTEMPT_HEADER], parsed[MAX_ATTEMPTS_HEADER] = str(attempt), str(max_attempts)
    if mode == SOCKET:
        return BoltRequest(mode="socket_mode", body=json.loads(body), headers=parsed)
    return BoltRequest(body=body, headers=parsed)

