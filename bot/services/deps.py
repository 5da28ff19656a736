"""What every use case needs, built once by ``create_app`` (or the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.core.routing import Routing
from bot.core.workcal import WorkCalendar
from bot.gateway import Notifier
from bot.i18n import Catalog
from storage.db import SessionFactory


@dataclass(frozen=True)
class Deps:
    routing: Routing
    session_factory: SessionFactory
    notifier: Notifier
    clock: Clock
    calendar: WorkCalendar
    catalog: Catalog
    timezone: ZoneInfo
