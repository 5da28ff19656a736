"""What every use case needs, built once by ``create_app`` (or the CLI).

The routing (and the working-day calendar made from it) is read through one
``RoutingHolder``: a reload of the routing file replaces it there, so every
handler, job and service sees the new routing at once, and no stale copy
remains anywhere."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.core.routing import Routing
from bot.core.workcal import WorkCalendar
from bot.gateway import Notifier
from bot.i18n import Catalog
from bot.services.locale import UserLocales
from bot.services.refresher import DigestRefresher
from storage.db import SessionFactory


class RoutingHolder:
    """The routing in force and its calendar, replaced together (one
    reference swap, so a reader never sees one without the other)."""

    def __init__(self, routing: Routing) -> None:
        self._lock = threading.Lock()
        self._current = (routing, WorkCalendar(routing.calendar))

    @property
    def routing(self) -> Routing:
        return self._current[0]

    @property
    def calendar(self) -> WorkCalendar:
        return self._current[1]

    def replace(self, routing: Routing) -> None:
        with self._lock:
            self._current = (routing, WorkCalendar(routing.calendar))


@dataclass(frozen=True)
class Deps:
    holder: RoutingHolder
    session_factory: SessionFactory
    notifier: Notifier
    clock: Clock
    catalog: Catalog
    timezone: ZoneInfo
    locales: UserLocales = field(default_factory=UserLocales, compare=False, repr=False)  # each person's Slack locale, per process
    refresher: DigestRefresher = field(default_factory=DigestRefresher, compare=False, repr=False)  # coalesced chat.updates, once started (``run``)

    @property
    def routing(self) -> Routing:
        return self.holder.routing

    @property
    def calendar(self) -> WorkCalendar:
        return self.holder.calendar

    def catalog_for(self, user: str | None) -> Catalog:
        """The catalog for texts to one person (ephemeral replies, DMs,
        modals, their App Home): their Slack locale's (``bot.services.locale``:
        no query, ``users.info`` once a day per person), or ``catalog``
        (BOT_LOCALE) for nobody in particular and when Slack cannot tell.
        Channel posts use ``catalog``."""
        locale = self.locales.locale_of(user, notifier=self.notifier, now=self.clock.now())
        return self.catalog if locale is None or locale == self.catalog.locale else Catalog(locale)
