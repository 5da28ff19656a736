"""The follow-up sweep at company scale: 2,000 open threads, nothing due.

What a long-lived database sees every minute: 2,000 open digest threads (20
owners × 100 days, an awaiting and a confirmed item on each, the owner active
an hour ago) and 20 disputes raised half an hour ago, so no deadline, nudge,
escalation or dispute reminder is due — beside a history of closed items (25
to a digest message, with their follow-up rows). One sweep
(``bot.services.followup.sweep``) at 14:00 on a working day, through the real
``SlackGateway`` into ``FakeSlack`` in a child process.

Measured, each a median of ``repeat`` sweeps (at least 3) after one warm-up:
(a) CPU per sweep (``time.process_time``) with 10,000 stored items, against
    the 200 ms target;
(b) the same with 1,000,000 stored items: the ratio to (a) must stay within
    1.2× (no query may grow with the history);
(c) Web API calls the sweeps made (the fake counts them): 0 is the target.
Both sizes on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` or
``--pg URL`` is given (in a schema of its own, dropped afterwards).

The databases are seeded in bulk (``executemany`` on SQLite, ``COPY`` on
PostgreSQL; not the import service) and then ``ANALYZE``d, so the planner has
the statistics a long-lived database has (SQLite's ``PRAGMA optimize`` runs
``ANALYZE`` where it is stale). ``--large N`` scales the big size down (the
ratio is then over a smaller history; the run says so).

Run: ``uv run python -m bench.bench_sweep [--large N] [--repeat N] [--pg URL]``
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import AGENTS, CHANNEL, SHANGHAI, Row, machine, median, owners_routing, print_rows
from bench._fakeslack_proc import RemoteFakeSlack
from bot.clock import FixedClock
from bot.core.lifecycle import Status
from bot.core.routing import FollowUpPolicy
from bot.gateway import SlackGateway, make_client
from bot.i18n import Catalog
from bot.services.deps import Deps, RoutingHolder
from bot.services.followup import sweep
from storage.db import make_engine, make_session_factory, upgrade

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=SHANGHAI)  # a Friday afternoon, working time
OWNERS = 20
OPEN_DAYS = 100  # open threads: OWNERS × OPEN_DAYS
ITEMS_PER_CLOSED_MESSAGE = 25
PAGES_PER_CLOSED_DIGEST = 10
DISPUTES = 20
TARGET_CPU_S = 0.200
TARGET_RATIO = 1.2
SMALL, LARGE = 10_000, 1_000_000
CLOSED = (Status.FIXED, Status.WITHDRAWN, Status.VOIDED, Status.FIXED, Status.FIXED)

ITEM_COLUMNS = (
    "order_no", "rejected_on", "branch", "category", "scenario", "customer", "callback_agent", "note", "status",
    "owner", "digest_message_id", "deadline", "imported_at", "updated_at", "decided_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "digest_day", "owner", "posted_owner", "page", "pages", "channel", "ts", "deadline", "created_at",
    "posted_at", "last_activity_at", "version", "shown_version", "late", "policy", "copied",
)  # fmt: skip
FOLLOW_UP_COLUMNS = ("key", "kind", "thread_id", "level", "recipient", "sent_at", "channel", "ts")
EFFECT_COLUMNS = ("key", "claimed_at", "lease_until", "done_at", "detail")
EVENTS_PER_ITEM = 0.5  # the ledger's history: a handled event (a click, a reaction) for every other item


def _sqlite_stamp(value: datetime) -> str:
    """How ``UTCDateTime`` stores a datetime on SQLite: naive UTC text."""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


def _rows(n_items: int, stamp) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """Table -> (columns, rows): the open threads with their items and the
    disputes, then closed history up to ``n_items`` items in all, with its
    follow-ups and handled events. Datetimes go through ``stamp`` (once per
    distinct value: a million conversions would cost more than the inserts)."""
    owners = owners_routing(OWNERS, branches_per_owner=3).owners
    utc = NOW.astimezone(UTC)
    messages, items, follow_ups = [], [], []
    today = NOW.date()
    imported = stamp(utc - timedelta(days=1))

    def add_items(count: int, status_of, owner, message_id: int, day: date, deadline, updated, decided=None) -> None:
        start = len(items) + 1
        day_text = day if stamp is _identity else day.isoformat()
        for n in range(start, start + count):
            items.append((
                f"SO{n:012d}", day_text, owner.branches[n % 3], "large" if n % 5 < 3 else "small", "received",
                "张先生 13800000000", AGENTS[n % 6], "客户确认已收到商品", status_of(n), owner.name, message_id,
                deadline, imported, updated, decided,
            ))  # fmt: skip

    policy = FollowUpPolicy().to_json()  # the digest stores the policy in force on each owner's first page

    def add_message(message_id: int, day: date, owner, page: int, pages: int, ts: str, deadline, created, posted, active, version: int) -> None:
        messages.append((
            message_id, day if stamp is _identity else day.isoformat(), owner.name, owner.name, page, pages, CHANNEL, ts,
            deadline, created, posted, active, version, version, False, policy if page == 0 else "", "",
        ))  # fmt: skip

    message_id = 0
    in_4h, hour_ago, five_ago = stamp(utc + timedelta(hours=4)), stamp(utc - timedelta(hours=1)), stamp(utc - timedelta(hours=5))
    for d in range(1, OPEN_DAYS + 1):  # open threads: owner active an hour ago, deadline in 4 hours
        day = today - timedelta(days=d)
        for o, owner in enumerate(owners):
            message_id += 1
            add_message(message_id, day, owner, 0, 1, f"{int(utc.timestamp()) - d * 86400}.{o:06d}", in_4h, stamp(utc - timedelta(days=d)), five_ago, hour_ago, 2)
            add_items(1, lambda _n: Status.AWAITING, owner, message_id, day, in_4h, hour_ago)
            add_items(1, lambda _n: Status.CONFIRMED, owner, message_id, day, in_4h, hour_ago, hour_ago)
    half_hour_ago = stamp(utc - timedelta(minutes=30))
    for n in range(DISPUTES):  # disputed half an hour ago: the agent's reminder is hours away
        add_items(1, lambda _n: Status.DISPUTED, owners[n % OWNERS], n + 1, today - timedelta(days=1), in_4h, half_hour_ago)
    closed = lambda n: CLOSED[n % len(CLOSED)]  # noqa: E731
    d = OPEN_DAYS
    while len(items) < n_items:  # history: closed digests, 25 closed items a page, each thread nudged and escalated once
        d += 1
        day = today - timedelta(days=d)
        then, next_day, two_days = stamp(utc - timedelta(days=d)), stamp(utc - timedelta(days=d - 1)), stamp(utc - timedelta(days=d - 2))
        since = (utc - timedelta(days=d)).isoformat()
        for o, owner in enumerate(owners):
            for page in range(PAGES_PER_CLOSED_DIGEST):
                if len(items) >= n_items:
                    break
                message_id += 1
                ts = f"{int(utc.timestamp()) - d * 86400}.{o * 100 + page:06d}"
                add_message(message_id, day, owner, page, PAGES_PER_CLOSED_DIGEST, ts, next_day, then, then, next_day, 3)
                add_items(min(ITEMS_PER_CLOSED_MESSAGE, n_items - len(items)), closed, owner, message_id, day, next_day, two_days)
                if page == 0:
                    follow_ups.append((f"nudge:{message_id}:0:{since}", "nudge", message_id, 0, owner.user, then, CHANNEL, f"{ts}1"))
                    follow_ups.append((f"escalate:{message_id}:1:{since}", "escalate", message_id, 1, owner.escalation[0], then, f"D{owner.escalation[0]}", f"{ts}2"))
    long_ago = stamp(utc - timedelta(days=30))
    effects = [(f"event:Ev{n:010d}", long_ago, long_ago, long_ago, "") for n in range(int(n_items * EVENTS_PER_ITEM))]
    return {
        "digest_message": (MESSAGE_COLUMNS, messages), "item": (ITEM_COLUMNS, items),
        "follow_up": (FOLLOW_UP_COLUMNS, follow_ups), "side_effect": (EFFECT_COLUMNS, effects),
    }


def _identity(value):
    return value


def seed(engine: Engine, n_items: int) -> None:
    """The rows of ``_rows`` in bulk (``executemany`` / ``COPY``), then ``ANALYZE``
    (on PostgreSQL ``VACUUM ANALYZE``, as autovacuum does after a bulk load)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")  # a bench's seed: nothing to lose
            cursor.execute("PRAGMA cache_size=-400000")
            cursor.execute("BEGIN")
            for table, (columns, rows) in _rows(n_items, _sqlite_stamp).items():
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            cursor.execute("COMMIT")
            cursor.execute("ANALYZE")
        else:
            for table, (columns, rows) in _rows(n_items, _identity).items():
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('digest_message', 'id'), (SELECT max(id) FROM digest_message))")
            raw.commit()
            # VACUUM as autovacuum would soon after a bulk load (visibility map,
            # hint bits): what a long-lived database sees, and no autovacuum of
            # a million fresh rows running while the sweeps are measured.
            raw.driver_connection.autocommit = True
            cursor.execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = False
        cursor.close()
    finally:
        raw.close()


@contextmanager
def database(kind: str, folder: Path, name: str, pg_url: str | None) -> Iterator[Engine]:
    """A migrated, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / name}.db")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"bench_sweep_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def measure(engine: Engine, *, repeat: int) -> tuple[float, int, int]:
    """(median CPU seconds of one sweep, Web API calls, sweeps that sent something)."""
    routing = owners_routing(OWNERS, branches_per_owner=3)
    session_factory = make_session_factory(engine)
    with RemoteFakeSlack(now=NOW.timestamp()) as fake:
        client = make_client("xoxb-bench", fake.api_url)
        client.auth_test()  # the connection path warm, as a running bot has it
        before = sum(fake.calls()["methods"].values())
        deps = Deps(
            holder=RoutingHolder(routing), session_factory=session_factory, notifier=SlackGateway(client),
            clock=FixedClock(NOW), catalog=Catalog("zh_CN"), timezone=SHANGHAI,
        )
        busy = 0
        cpu = []
        for n in range(repeat + 1):  # the first warms the caches (statements, routing lookups)
            gc.collect()
            started = time.process_time()
            report = sweep(deps, now=NOW)
            took = time.process_time() - started
            busy += bool(report.deemed or report.sent or report.held or report.failed or report.handed_over)
            if n:
                cpu.append(took)
        calls = sum(fake.calls()["methods"].values()) - before
    return median(cpu), calls, busy


def run(*, small: int = SMALL, large: int = LARGE, repeat: int = 3, pg_url: str | None = None, verbose: bool = True) -> list[Row]:
    repeat = max(repeat, 3)
    pg_url = pg_url or os.environ.get("TEST_DATABASE_URL")
    kinds = ["sqlite"] + (["postgresql"] if pg_url else [])
    scaled = "" if large == LARGE else f" (scaled: {large:,} for {LARGE:,})"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for kind in kinds:
            figures = {}
            for size in (small, large):
                with database(kind, Path(tmp), f"{kind}-{size}", pg_url) as engine:
                    began = time.perf_counter()
                    seed(engine, size)
                    seeded = time.perf_counter() - began
                    figures[size] = measure(engine, repeat=repeat)
                if verbose:
                    cpu, calls, busy = figures[size]
                    print(f"   {kind} {size:,} items: seeded and analysed in {seeded:.1f} s; sweep CPU {cpu * 1000:.1f} ms, {calls} Web API calls, {busy} sweeps did something", flush=True)
            (cpu_s, calls_s, busy_s), (cpu_l, calls_l, busy_l) = figures[small], figures[large]
            rows.append(Row(
                "sweep", f"{kind}: CPU per sweep, 2,000 open threads, nothing due, {small:,} items", f"{cpu_s * 1000:.1f} ms",
                f"{TARGET_CPU_S * 1000:.0f} ms", cpu_s / TARGET_CPU_S, "< 200 ms", cpu_s < TARGET_CPU_S,
            ))  # fmt: skip
            rows.append(Row(
                "sweep", f"{kind}: the same with {large:,} items{scaled}", f"{cpu_l * 1000:.1f} ms",
                f"{cpu_s * 1000:.1f} ms ({small:,})", cpu_l / cpu_s, f"≤ {TARGET_RATIO}×", cpu_l / cpu_s <= TARGET_RATIO,
            ))  # fmt: skip
            rows.append(Row(
                "sweep", f"{kind}: Web API calls of {2 * (repeat + 1)} nothing-due sweeps", str(calls_s + calls_l), "0", None,
                "0", calls_s + calls_l == 0 and busy_s + busy_l == 0,
            ))  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=SMALL)
    parser.add_argument("--large", type=int, default=LARGE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL (default: TEST_DATABASE_URL, if set)")
    args = parser.parse_args()
    print(machine())
    rows = run(small=args.small, large=args.large, repeat=args.repeat, pg_url=args.pg)
    print_rows(rows)
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
