"""Pacing: the bot keeps itself just under Slack's rate limits instead of
bouncing off them.

Past a limit Slack refuses the call with HTTP 429 and ``Retry-After``
(https://docs.slack.dev/apis/web-api/rate-limits); slack_sdk then sleeps
``Retry-After`` plus up to a second of jitter and tries again. A digest that
posts as fast as it can is refused on almost every message and ends up
~1.5x slower than one that waits its turn. So the gateway asks a ``Pacer``
for its turn at each call of a paced method, whichever thread calls. Two
rules per key:

- **the rate**: calls start at least ``interval`` seconds apart, in the
  order they asked;
- **the window**: at most ``burst`` calls within any ``window`` seconds,
  counting each earlier call until its answer came back. Slack counts a call
  when it reaches Slack, somewhere between our start and the answer; a call
  that took long (a slow network, a loaded machine, slack_sdk waiting out a
  429 and trying again) would otherwise leave the next calls bunched up
  behind it as Slack sees them, and refused in turn.

The paces (``SLACK_PACES``), each a little slower than Slack's figure so that
our clock and Slack's never disagree about which second a call falls in:

- ``chat.postMessage``, per channel (thread replies count against their
  channel; each DM is a channel of its own): Slack "generally allows posting
  one message per second per channel" (rate-limits page, "Special Tier";
  "Posting messages: 1 per second, short bursts >1 allowed"). Paced at one
  per 1.05 s, and never 3 within 3 s (the strict reading of "short bursts",
  which the fake Slack enforces): a digest of N messages in one channel
  takes about (N - 1) x 1.05 s.
- ``conversations.history`` / ``conversations.replies`` (the lookups of a
  keyed message after an ambiguous failure, up to 5 pages each): Tier 3,
  "50+ per minute", per method for the whole workspace. Paced at one per
  1.26 s (60 s / 50, + 5 %) and never 50 within 60 s, so a run of failures
  cannot burst into a 429.

Not paced here: everything else (Tier 3 ``chat.update`` is kept down by the
callers that coalesce updates; Tier 4 methods have room to spare). A 429
still happens when something outside this process posts into the same
channel (another replica, ``rejectbot digest`` run by hand beside the bot,
Slack's own scheduled messages): the gateway waits it out as Slack says.

The clock and the sleeper are injectable: tests check the spacing with a
fake clock and never sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

MARGIN = 1.05  # 5 % slower than Slack's figure


@dataclass(frozen=True, slots=True)
class Pace:
    """Calls under one key (the method, or the method in one channel when
    ``per_channel``) start at least ``interval`` seconds apart, and at most
    ``burst`` fall within any ``window`` seconds counted from their answers
    (``window`` 0: no such rule)."""

    interval: float
    per_channel: bool = False
    burst: int = 1
    window: float = 0.0


SLACK_PACES: Mapping[str, Pace] = {
    "chat.postMessage": Pace(1.0 * MARGIN, per_channel=True, burst=3, window=3.0),  # 1 per second per channel
    "conversations.history": Pace(60 / 50 * MARGIN, burst=50, window=60.0),  # Tier 3: 50+ per minute
    "conversations.replies": Pace(60 / 50 * MARGIN, burst=50, window=60.0),  # Tier 3: 50+ per minute
}
_PRUNE_AT = 512  # keys remembered before the idle ones are forgotten


@dataclass
class _Call:
    ended: float | None = None  # when its answer came back


@dataclass
class _Key:
    next_start: float = float("-inf")
    recent: list[_Call] = field(default_factory=list)  # the last ``burst`` calls, oldest first


class Pacer:
    """Spaces the calls of paced methods; thread-safe, shared by every caller
    of one gateway (one per process: ``bot.app.create_app`` builds it)."""

    def __init__(
        self,
        paces: Mapping[str, Pace] = SLACK_PACES,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._paces = dict(paces)
        self._clock = clock
        self._sleep = sleep
        self._changed = threading.Condition()
        self._keys: dict[tuple[str, str | None], _Key] = {}

    def turn(self, method: str, channel: str | None = None) -> AbstractContextManager[None]:
        """``with pacer.turn(method, channel): <the call>`` — waits for the
        call's turn on entry and notes when its answer came back on exit.
        Turns are handed out in the order callers ask. A method that is not
        paced never waits."""
        pace = self._paces.get(method)
        if pace is None:
            return nullcontext()
        return self._turn((method, channel if pace.per_channel else None), pace)

    @contextmanager
    def _turn(self, key: tuple[str, str | None], pace: Pace) -> Iterator[None]:
        call = _Call()
        with self._changed:
            now = self._clock()
            state = self._keys.get(key)
            if state is None:
                if len(self._keys) >= _PRUNE_AT:
                    self._forget_idle(now)
                state = self._keys[key] = _Key()
            start = max(now, state.next_start)
            state.next_start = start + pace.interval
            back = state.recent[-pace.burst] if pace.window and len(state.recent) >= pace.burst else None
            state.recent = [*state.recent[-(pace.burst - 1):], call] if pace.burst > 1 else [call]
        try:  # whatever happens from here, the call counts as answered in the end: no one waits for it forever
            self._wait_until(start)
            if back is not None:
                with self._changed:
                    while back.ended is None:  # that call is still out: its answer says when the window frees
                        self._changed.wait()
                    ready = back.ended + pace.window
                if self._wait_until(ready):
                    with self._changed:  # the calls after this one keep their distance from it
                        state.next_start = max(state.next_start, self._clock() + pace.interval)
            yield
        finally:
            with self._changed:
                call.ended = self._clock()
                self._changed.notify_all()

    def _wait_until(self, at: float) -> bool:
        delay = at - self._clock()
        if delay > 0:
            self._sleep(delay)
            return True
        return False

    def _forget_idle(self, now: float) -> None:
        """Drop the keys whose every call has been answered and whose window
        and next turn have passed (a DM to each of thousands of people)."""
        longest = max((p.window for p in self._paces.values()), default=0.0)
        self._keys = {
            key: state for key, state in self._keys.items()
            if state.next_start > now or any(c.ended is None or c.ended + longest > now for c in state.recent)
        }  # fmt: skip
