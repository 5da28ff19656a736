"""Pacing: the bot keeps itself just under Slack's rate limits instead of
bouncing off them.

Past a limit Slack refuses the call with HTTP 429 and ``Retry-After``
(https://docs.slack.dev/apis/web-api/rate-limits); slack_sdk then sleeps
``Retry-After`` plus up to a second of jitter and tries again. A digest that
posts as fast as it can is refused on almost every message and ends up
~1.5x slower than one that waits its turn. So the gateway asks a ``Pacer``
before each call of a paced method: calls under one key start at least
``interval`` seconds apart, in the order they asked, whichever thread asks.

The paces (``SLACK_PACES``), each a little slower than Slack's figure so that
our clock and Slack's never disagree about which second a call falls in:

- ``chat.postMessage``, per channel (thread replies count against their
  channel; each DM is a channel of its own): Slack "generally allows posting
  one message per second per channel" (rate-limits page, "Special Tier";
  "Posting messages: 1 per second, short bursts >1 allowed"). Paced at one
  per 1.05 s: a digest of N messages in one channel takes about (N - 1) x
  1.05 s.
- ``conversations.history`` / ``conversations.replies`` (the lookups of a
  keyed message after an ambiguous failure, up to 5 pages each): Tier 3,
  "50+ per minute", per method for the whole workspace. Paced at one per
  1.26 s (60 s / 50, + 5 %), so a run of failures cannot burst into a 429.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MARGIN = 1.05  # 5 % slower than Slack's figure


@dataclass(frozen=True, slots=True)
class Pace:
    """At most one call per ``interval`` seconds under one key: the method,
    or the method in one channel when ``per_channel``."""

    interval: float
    per_channel: bool = False


SLACK_PACES: Mapping[str, Pace] = {
    "chat.postMessage": Pace(1.0 * MARGIN, per_channel=True),  # 1 per second per channel
    "conversations.history": Pace(60 / 50 * MARGIN),  # Tier 3: 50+ per minute
    "conversations.replies": Pace(60 / 50 * MARGIN),  # Tier 3: 50+ per minute
}
_PRUNE_AT = 512  # keys remembered before the ones whose turn has passed are forgotten


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
        self._lock = threading.Lock()
        self._next: dict[tuple[str, str | None], float] = {}  # key -> the earliest start of its next call

    def wait(self, method: str, channel: str | None = None) -> float:
        """Wait for the turn of a ``method`` call (in ``channel``), and return
        how long that took in seconds (0 for a method that is not paced).
        The turn is reserved at once, so callers queue in the order they asked."""
        pace = self._paces.get(method)
        if pace is None:
            return 0.0
        key = (method, channel if pace.per_channel else None)
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(key, now))
            self._next[key] = start + pace.interval
            if len(self._next) > _PRUNE_AT:
                self._next = {k: at for k, at in self._next.items() if at > now}
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay
