"""Helpers shared by test modules (importable because tests/ holds the root
conftest.py, which pytest puts on sys.path)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime


def run_together(*jobs) -> list[BaseException]:
    """Run the jobs in threads released at the same moment; their errors."""
    start = threading.Barrier(len(jobs), timeout=10)
    errors: list[BaseException] = []

    def job_runner(job) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    workers = [threading.Thread(target=job_runner, args=(job,)) for job in jobs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return errors


@dataclass
class ItemStandIn:
    """A stand-in item with the attributes the pure renderers read
    (``bot.core.digest.ItemFacts``), for tests without a database."""

    id: int
    order_no: str = "SO20261126001"
    rejected_on: date = date(2026, 11, 26)
    branch: str = "杭州分公司"
    category: str = "large"
    scenario: str | None = "received"
    customer: str = "张三 13812341234"
    callback_agent: str = "王丽"
    note: str = "客户说已经收到货了"
    status: str = "awaiting"
    last_actor: str | None = None
    last_surface: str | None = None
    updated_at: datetime = datetime(2026, 11, 27, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai
    fix_note: str | None = None


LOOKUPS = frozenset({"users.info", "auth.test"})  # reads that change nothing in Slack


def effects(fake) -> list:
    """The calls the fake recorded, without ``users.info``: the bot reads a
    person's locale before it writes to them (``Deps.catalog_for``), which
    changes nothing in Slack."""
    return [call for call in fake.calls if call.method not in LOOKUPS]
