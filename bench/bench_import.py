"""Import of 100,000 CSV rows through the real ``import_export``, against a
plain ``sqlite3.executemany`` of the same rows (already parsed) into the same
``item`` table.

Both sides start from a fresh SQLite file migrated with ``storage.db.upgrade``
(so the baseline's table has the same columns, indexes and unique constraint)
and use the same pragmas as ``storage.db.make_engine`` (WAL,
synchronous=NORMAL, foreign keys on). Setup is not timed. Wall time
(``perf_counter``) in pairs (ours and the baseline, in alternating order);
each pair's ratio is printed, the figure is the median of at least 3 pairs,
and the target holds only if every pair is within it.

Run: ``uv run python -m bench.bench_import [--rows N] [--repeat N]``
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import SHANGHAI, Row, generate_rows, machine, median, owners_routing, print_rows, rows_to_csv
from storage.db import make_engine, make_session_factory, upgrade

TARGET_RATIO = 3.0
IMPORT_NOW = datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI)
INSERT_COLUMNS = (
    "order_no", "rejected_on", "branch", "category", "scenario", "customer", "callback_agent",
    "callback_at", "note", "status", "batch_id", "imported_at", "updated_at",
)  # fmt: skip (the columns the importer fills)


def _fresh_db(folder: Path, name: str) -> Path:
    path = folder / name
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _baseline_params(rows: list[tuple[str, ...]]) -> list[tuple]:
    """The rows as the driver receives them from the importer: ISO date text,
    callback time as naive UTC text, status ``new``, batch 1."""
    categories = {"大件": "large", "小件": "small"}
    scenarios = {"客户已收货": "received", "客户要求改期": "reschedule"}
    stamp = IMPORT_NOW.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    params = []
    for r in rows:
        called = datetime.fromisoformat(r[7]).replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)
        params.append(
            (r[0], r[1], r[2], categories[r[3]], scenarios[r[4]], r[5], r[6],
             called.isoformat(" ", "microseconds"), r[8], "new", 1, stamp, stamp)
        )  # fmt: skip
    return params


class _timed:
    """Wall and CPU time of a block, after a full collection and with every
    object the bench already holds frozen out of the collector's scans (the
    generated rows would otherwise slow our side's collections, not the
    driver's)."""

    def __enter__(self) -> _timed:
        gc.collect()
        gc.freeze()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        gc.unfreeze()


def _run_baseline(path: Path, params: list[tuple]) -> _timed:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute(
            "INSERT INTO import_batch (id, filename, sha256, imported_at, actor, added, skipped, rejected) "
            "VALUES (1, 'baseline.csv', '', '2026-11-27 00:00:00.000000', 'bench', 0, 0, 0)"
        )
        sql = f"INSERT INTO item ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
        with _timed() as elapsed:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql, params)
            connection.execute("COMMIT")
        (count,) = connection.execute("SELECT count(*) FROM item").fetchone()
    finally:
        connection.close()
    if count != len(params):
        raise AssertionError(f"baseline stored {count} rows, expected {len(params)}")
    return elapsed


def _run_ours(path: Path, data: bytes, n_rows: int, routing) -> tuple[_timed, object]:
    from bot.services.importing import import_export  # being written at the same time; imported late

    engine = make_engine(f"sqlite:///{path}")
    try:
        session_factory = make_session_factory(engine)
        with session_factory() as session:  # open the pool's connection before timing, as a running bot has
            session.connection()
        with _timed() as elapsed:
            report = import_export(
                session_factory=session_factory, now=IMPORT_NOW, timezone=SHANGHAI, routing=routing,
                data=data, filename="callbacks-bench.csv", actor="bench",
            )
        with engine.connect() as connection:
            count = connection.exec_driver_sql("SELECT count(*) FROM item").scalar_one()
    finally:
        engine.dispose()
    if count != n_rows:
        raise AssertionError(f"import_export stored {count} rows, expected {n_rows}: {_short(report)}")
    return elapsed, report


def run(*, n_rows: int = 100_000, repeat: int = 3, verbose: bool = True) -> list[Row]:
    rows = generate_rows(n_rows)
    data = rows_to_csv(rows)
    params = _baseline_params(rows)
    routing = owners_routing(20, branches_per_owner=3)
    ours: list[_timed] = []
    base: list[_timed] = []
    report = None
    repeat = max(repeat, 3)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        for i in range(repeat):
            def mine(i=i):
                elapsed, found = _run_ours(_fresh_db(folder, f"ours-{i}.db"), data, n_rows, routing)
                ours.append(elapsed)
                return found

            def baseline(i=i):
                base.append(_run_baseline(_fresh_db(folder, f"baseline-{i}.db"), params))

            if i % 2 == 0:  # alternate which side goes first, so neither always runs on a warmer machine
                report = mine()
                baseline()
            else:
                baseline()
                report = mine()
            if verbose:
                print(
                    f"  pair {i + 1}/{repeat}: import_export {ours[-1].wall:.3f} s wall ({ours[-1].cpu:.3f} s CPU), "
                    f"executemany {base[-1].wall:.3f} s wall ({base[-1].cpu:.3f} s CPU): "
                    f"{ours[-1].wall / base[-1].wall:.2f}× wall",
                    flush=True,
                )
    ratios = [o.wall / b.wall for o, b in zip(ours, base, strict=True)]
    cpu_ratios = [o.cpu / b.cpu for o, b in zip(ours, base, strict=True)]
    worst = max(ratios)
    if verbose:
        print(f"  file: {len(data) / 1e6:.1f} MB CSV, {n_rows:,} rows; last report: {_short(report)}")
        print(f"  wall ratio per pair: {', '.join(f'{r:.2f}×' for r in ratios)} (median {median(ratios):.2f}×, worst {worst:.2f}×)")
    mid, mid_base = median([t.wall for t in ours]), median([t.wall for t in base])
    return [
        Row(
            bench="import", metric=f"{n_rows:,} CSV rows, wall, median of {repeat} pairs (worst pair {worst:.2f}×)",
            value=f"{mid:.3f} s ({mid / n_rows * 1e6:.1f} µs/row)",
            baseline=f"{mid_base:.3f} s executemany", ratio=median(ratios),
            target=f"≤ {TARGET_RATIO:g}× in every pair", passed=worst <= TARGET_RATIO,
        ),
        Row(
            bench="import", metric=f"{n_rows:,} CSV rows, CPU, median of {repeat} pairs",
            value=f"{median([t.cpu for t in ours]):.3f} s", baseline=f"{median([t.cpu for t in base]):.3f} s executemany",
            ratio=median(cpu_ratios), target="(info)", passed=None,
        ),
    ]


def _short(report) -> str:
    return (
        f"added {report.added:,}, skipped_known {report.skipped_known:,}, duplicates {len(report.duplicates):,}, "
        f"problems {len(report.problems):,}, unrouted {len(report.unrouted):,}, total_rows {report.total_rows:,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    rows = run(n_rows=args.rows, repeat=args.repeat)
    print_rows(rows)
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
