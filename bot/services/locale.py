"""Which language a text to one person is written in: their Slack locale.

``UserLocales.locale_of`` asks Slack (``users.info`` with
``include_locale``) once per person and day and maps the answer with
``bot.i18n.locale_for_slack`` (zh-* → zh_CN, the rest → en).
``Deps.catalog_for(user)`` is what services call.

Remembered in memory, per process, for ``LOCALE_TTL`` — not in a table:
- a text to one person is often written inside a service's open
  transaction, and on SQLite every transaction begins ``BEGIN IMMEDIATE``
  (``storage.db``): a second session for a cache read or write there would
  wait out the busy timeout (30 s) behind its own caller. A dict costs no
  query at all on the hot path;
- what a restart or a second replica costs is one ``users.info`` per person
  who is written to that day (a team of tens; Tier 4, 100 a minute), and a
  person's locale changes rarely, so a day-old answer per process is as good
  as a shared one.

A failed lookup (Slack's error, a timeout, a dropped connection) answers
None — the caller writes in ``BOT_LOCALE`` and the user's request goes on.
It is remembered too, so that a slow or failing Slack is not asked again
for every text to that person (each try may take the client's timeout on
the path of a reply): for ``FAILURE_TTL`` (a few minutes) after a passing
failure, for ``LOCALE_TTL`` when Slack says there is no such user.

Errors: none; Slack's are logged and answered None.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.gateway import Notifier, SlackUnavailable
from bot.i18n import locale_for_slack

log = logging.getLogger(__name__)

LOCALE_TTL = timedelta(days=1)
FAILURE_TTL = timedelta(minutes=5)  # after a failed lookup: BOT_LOCALE until then, then Slack is asked again
SLACK_FAILURES = (SlackClientError, SlackUnavailable, OSError)  # OSError: timeouts, refused or dropped connections


def is_person(user: str | None) -> bool:
    """A Slack user id (``U…``/``W…``), not "system" or a name."""
    return bool(user) and user[0] in "UW"


class UserLocales:
    """Each person's catalog locale, remembered for ``ttl`` (thread-safe)."""

    def __init__(self, *, ttl: timedelta = LOCALE_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str | None, datetime]] = {}  # user -> (catalog locale or None: none named, or the lookup failed; good until)

    def locale_of(self, user: str | None, *, notifier: Notifier, now: datetime) -> str | None:
        """Our catalog locale for ``user`` ("zh_CN", "en"); None when there is
        nobody to ask, Slack named no locale, or Slack failed."""
        if user is None or not is_person(user):
            return None
        with self._lock:
            known = self._known.get(user)
        if known is not None and now < known[1]:
            return known[0]
        try:
            slack_locale = notifier.user_locale(user)
        except SLACK_FAILURES as error:
            log.warning("could not read %s's Slack locale (%s): writing in the bot's locale", user, error)
            unknown = isinstance(error, SlackApiError) and error.response.get("error") == "user_not_found"
            with self._lock:
                self._known[user] = (None, now + (self.ttl if unknown else FAILURE_TTL))
            return None
        locale = locale_for_slack(slack_locale) if slack_locale else None
        with self._lock:
            self._known[user] = (locale, now + self.ttl)
        return locale
