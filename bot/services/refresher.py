"""Coalescing the ``chat.update`` calls of digest messages, per process.

After an answer is committed, the digest messages that show its items are
*marked*; sender threads update each marked message at most once per
``interval`` (one second), rendering it from the database when they send, so
a burst of answers on one message costs one ``chat.update`` per second and
the last one shows the latest state. Why one a second: ``chat.update`` is
Tier 3, about 50 calls a minute for the whole workspace
(docs.slack.dev/reference/methods/chat.update, docs.slack.dev/apis/web-api/rate-limits);
sent inline (about two calls an answer: the message and the owner's first
page), a burst of 50 clicks made about 70 calls, and the clicks beyond the
limit queued behind 429s for a minute (bench_clicks).

The message a person clicked is shown at once by another route, the click's
``response_url`` with ``replace_original`` (``answers``, through
``convergence.show_current_state``): that is Slack's documented way to update
the message an interaction came from, and it does not count against
``chat.update``'s tier (each URL works 5 times within 30 minutes:
docs.slack.dev/interactivity/handling-user-interaction). Both routes send
under the message's refresh lease (``storage.queries.claim_message_refresh``)
and render once they hold it, so whatever lands last in Slack was rendered
last: a stale render never overwrites a newer one, across threads and
replicas.

Nothing is lost with the process: a marked message is behind in the
database (``shown_version < version``), and ``convergence.refresh_stale_messages``
catches it up at a tick (here or in another replica).

Without ``start`` (tests, one-shot commands) nothing is coalesced: the
services update inline, as before.

Errors: none; ``send`` is expected not to raise (a raise is logged and the
message left to convergence).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds between two chat.update calls of one message, at least
BUSY_RETRY = 0.25  # seconds before trying again a message another refresher holds
SENDERS = 2  # threads sending: a 429's Retry-After wait holds one, not every message


class Shown(enum.Enum):
    """What one attempt to show a message's current state did."""

    UPDATED = "updated"  # sent; Slack shows the database's state
    BEHIND = "behind"  # sent, but the database moved on meanwhile
    ALREADY = "already"  # nothing to send: Slack already shows it
    BUSY = "busy"  # another refresher holds the message
    FAILED = "failed"  # a passing failure: left to convergence

    @property
    def sent(self) -> bool:
        return self in (Shown.UPDATED, Shown.BEHIND, Shown.FAILED)


class DigestRefresher:
    """The per-process set of marked messages and the threads sending them."""

    def __init__(self, *, interval: float = INTERVAL, senders: int = SENDERS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._senders = senders
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._due: dict[int, float] = {}  # message id -> when it may be sent (monotonic)
        self._last: dict[int, float] = {}  # message id -> when its last chat.update returned
        self._sending: set[int] = set()
        self._send: Callable[[int], Shown] | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = False

    @property
    def running(self) -> bool:
        """Started, not stopped, and a sender still alive: else the services
        update inline and convergence catches up, as without a refresher."""
        return self._send is not None and not self._stopping and any(t.is_alive() for t in self._threads)

    def start(self, send: Callable[[int], Shown]) -> None:
        """Send marked messages with ``send(message_id)`` (a chat.update of
        the state it renders) from now on."""
        with self._cond:
            self._send, self._stopping = send, False
        for n in range(self._senders):
            thread = threading.Thread(target=self._run, name=f"digest-refresher-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop sending; marks left are caught up by convergence."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        with self._cond:
            self._send = None

    def mark(self, message_ids: Iterable[int]) -> None:
        """These messages show an older state than the database: send each
        as soon as its interval allows."""
        now = self._monotonic()
        with self._cond:
            for message_id in message_ids:
                if message_id not in self._due:
                    self._due[message_id] = max(now, self._last.get(message_id, float("-inf")) + self.interval)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is marked or being sent; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._sending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def _take(self) -> int | None:
        """The next message due (waiting for it), or None once stopping."""
        with self._cond:
            while not self._stopping:
                ready = [(due, m) for m, due in self._due.items() if m not in self._sending]
                if ready:
                    due, message_id = min(ready)
                    wait = due - self._monotonic()
                    if wait <= 0:
                        del self._due[message_id]
                        self._sending.add(message_id)
                        return message_id
                else:
                    wait = 1.0
                self._cond.wait(min(wait, 1.0))
            return None

    def _run(self) -> None:
        while (message_id := self._take()) is not None:
            send = self._send
            result = Shown.FAILED
            try:
                if send is not None:
                    result = send(message_id)
            except Exception:  # noqa: BLE001 - one message failing must not stop the others; convergence catches up
                log.exception("could not refresh digest message %s; the tick will", message_id)
            except BaseException:  # this thread ends: the message goes back to the others, not stuck as being sent
                with self._cond:
                    self._sending.discard(message_id)
                    self._due.setdefault(message_id, self._monotonic())
                    self._cond.notify_all()
                raise
            now = self._monotonic()
            with self._cond:
                self._sending.discard(message_id)
                if result.sent:
                    self._last[message_id] = now
                    self._forget_old(now)
                if message_id in self._due or result in (Shown.BEHIND, Shown.BUSY):  # marked again meanwhile, or still owed
                    earliest = now + (self.interval if result.sent else BUSY_RETRY if result is Shown.BUSY else 0.0)
                    self._due[message_id] = max(self._due.get(message_id, now), earliest)
                self._cond.notify_all()

    def _forget_old(self, now: float) -> None:
        if len(self._last) > 1000:
            for message_id, at in list(self._last.items()):
                if at < now - self.interval:
                    del self._last[message_id]
