"""What every use case needs, built once by ``create_app`` (or the CLI).

The routing (and the working-day calendar made from it) is read through one
``RoutingHolder``: a reload of the routing file replaces it there, so every
handler, job and service sees the new routing at once, and no stale copy
remains anywhere."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.core.routing import Routing
from bot.core.workcal import WorkCalendar
from bot.gateway import Notifier
from bot.i18n import Catalog
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

    @property
    def routing(self) -> Routing:
        return self.holder.routing

    @property
    def calendar(self) -> WorkCalendar:
        return self.holder.calendar

    def catalog_for(self, user: str | None) -> Catalog:
        """The catalog for texts to one person (ephemeral replies, DMs,
        modals, their App Home). Channel posts use ``catalog`` (BOT_LOCALE).
        Today every person gets ``catalog``; issue 9 makes it follow each
        person's Slack locale."""
        return self.catalog
