"""The ticker: APScheduler 3 wakes the bot every minute; the database decides
what is due and records what was done, so a tick is always safe to repeat."""

from __future__ import annotations

import logging
from functools import partial
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from bot.health import Health
from bot.services import Services

log = logging.getLogger(__name__)
TICK_SECONDS = 60


def start_ticker(services: Services, *, timezone: ZoneInfo, seconds: int = TICK_SECONDS, health: Health | None = None) -> BackgroundScheduler:
    """Tick now and every ``seconds``; each tick and job is recorded in ``health``."""
    scheduler = BackgroundScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": seconds},
    )
    scheduler.add_job(partial(services.tick, health=health), "interval", seconds=seconds, id="tick", next_run_time=services.deps.clock.now())
    scheduler.start()
    log.info("ticker started: every %ss in %s", seconds, timezone)
    return scheduler
