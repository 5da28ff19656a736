"""Benchmark: one App Home at 1,000 and at 100,000 open records.

What a person waits for when they open their Home tab: ``open_home`` (the
``app_home_opened`` listener's work) renders their Home from the database
and publishes it (``views.publish``, forced: as for a Home Slack does not
show yet). Each Home asks for its own lists (the first ones and a count), so
the time should not follow the number of open records.

- Two SQLite files migrated with ``storage.db.upgrade``, with 1,000 and with
  ``--records`` (default 100,000) open records: awaiting, disputed,
  confirmed, deemed (6:1:1:1), 6 callback agents, deadlines over the next
  days; then ``ANALYZE`` (what a long-lived database has). 20 owners (3
  branches each, both delivery types): the measured owner has the same 200
  records in both files (their lists are longer than a Home shows: the same
  view), the 19 others share the rest (800, or 99,800): what grows is the
  company's backlog, not this person's. Seeding is not timed.
- The records are not on digest messages, so the month's figures (which
  follow the month's volume, not the open backlog) are the same small
  computation in both files: what grows between the files is the backlog.
- The app from ``create_app`` (the real services, ``SlackGateway``,
  ``WebClient``) against ``FakeSlack`` in a child process
  (``bench/_fakeslack_proc.py``).
- **Target:** the measured owner's Home at 100,000 records within 1.2× of
  the same at 1,000: the
  median over ``--repeat`` pairs (default 5; small, large alternately) of
  each pair's ratio of wall times. Printed for information: the CS lead's
  Home (which counts every record: its COUNTs grow with the data) and a
  pass of the ticker's job over ``--homes`` opened Homes (default 100),
  whose ``views.publish`` calls are set against Slack's Tier 4 (100+ a
  minute; the job runs once a minute and publishes ``PUBLISH_MOST`` at most).

Run: ``uv run python -m bench.bench_home [--records N] [--repeat N] [--homes N]``
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from bench._common import AGENTS, BRANCHES, DIGEST_NOW, SHANGHAI, SIGNING_SECRET, Row, machine, median, owners_routing, print_rows
from bench._fakeslack_proc import RemoteFakeSlack
from bot.app import create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core.lifecycle import Status
from bot.gateway import make_client
from bot.services.home import PUBLISH_MOST
from storage import home as home_store
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.models import Item

OWNERS = 20
SMALL = 1_000
OWN = 200  # the measured owner's records, in both files
TIER4_PER_MINUTE = 100  # views.publish: Tier 4, "100+ per minute" (docs.slack.dev/apis/web-api/rate-limits)
TICK_SECONDS = 60  # bot.scheduler.TICK_SECONDS: the homes job runs once a tick
STATUSES = (Status.AWAITING,) * 6 + (Status.CONFIRMED, Status.DEEMED_CONFIRMED, Status.DISPUTED)
NOW = DIGEST_NOW + timedelta(hours=1)


def _settings(api_url: str) -> Settings:
    return Settings(
        bot_token="xoxb-bench", app_token=None, signing_secret=SIGNING_SECRET, api_url=api_url,
        database_url="unused", routing_file=Path("unused-routing.toml"), timezone=SHANGHAI, locale="zh_CN",
    )


def seed(path: Path, n: int):
    """A migrated SQLite file holding ``n`` open records; returns its session factory and engine."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    routing = owners_routing(OWNERS, branches_per_owner=len(BRANCHES) // OWNERS)
    rng = random.Random(n)
    rows = []
    for k in range(n):
        owner = routing.owners[0] if k < OWN else routing.owners[1 + k % (OWNERS - 1)]
        status = STATUSES[k % len(STATUSES)]
        rows.append({
            "order_no": f"SO{k:012d}", "rejected_on": (NOW - timedelta(days=1 + k % 90)).date(),
            "branch": owner.branches[k % len(owner.branches)], "category": ("large", "small")[k % 2],
            "customer": f"客户{k % 997} 1380000{k % 10_000:04d}", "callback_agent": AGENTS[k % len(AGENTS)],
            "note": "客户确认已收到货物", "status": str(status), "owner": owner.name, "scenario": "received",
            "deadline": NOW + timedelta(minutes=rng.randrange(3 * 24 * 60)), "imported_at": NOW, "updated_at": NOW,
            "decided_at": NOW - timedelta(days=1) if status in (Status.CONFIRMED, Status.DEEMED_CONFIRMED) else None,
            "last_actor": owner.user if status is Status.DISPUTED else None,
        })
    with engine.begin() as conn:
        for start in range(0, n, 10_000):
            conn.execute(insert(Item), rows[start : start + 10_000])
        conn.execute(text("ANALYZE"))
    return make_session_factory(engine), engine, routing


class Side:
    """One database, its app and its fake Slack."""

    def __init__(self, path: Path, n: int) -> None:
        self.n = n
        self.session_factory, self.engine, self.routing = seed(path, n)
        self.fake = RemoteFakeSlack(now=NOW.timestamp())
        self.bot = create_app(
            _settings(self.fake.api_url), client=make_client("xoxb-bench", self.fake.api_url), session_factory=self.session_factory,
            clock=FixedClock(NOW), routing=self.routing, process_before_response=True, verify_requests=False,
        )

    def open_home(self, user: str) -> tuple[float, float]:
        """Wall and CPU seconds of one forced render and publish of ``user``'s Home."""
        wall, cpu = time.perf_counter(), time.process_time()
        if not self.bot.services.open_home(user=user, shown_hash=None):
            raise AssertionError(f"the Home of {user} was not published")
        return time.perf_counter() - wall, time.process_time() - cpu

    def homes_pass(self, users: list[str]) -> tuple[float, int, bool]:
        """A pass of the ticker's job over ``users``' Homes, opened (noted) and
        not yet published but the measured ones: wall seconds, Homes published, unfinished?"""
        now = NOW
        with transaction(self.session_factory) as session:
            for user in users:
                home_store.note_opened(session=session, user=user, now=now)
        began = time.perf_counter()
        report = self.bot.services.refresh_homes(force=True)
        return time.perf_counter() - began, report.published, report.unfinished

    def close(self) -> None:
        self.fake.close()
        self.engine.dispose()


def run(*, n_records: int = 100_000, repeat: int = 5, homes: int = 100, verbose: bool = True) -> list[Row]:
    logging.getLogger("bot.services.locale").setLevel(logging.ERROR)  # the fake knows no users: the bot's locale
    repeat = max(repeat, 3)
    with tempfile.TemporaryDirectory(prefix="bench-home-") as tmp:
        small, large = Side(Path(tmp) / "small.db", SMALL), Side(Path(tmp) / "large.db", n_records)
        try:
            owner, lead = small.routing.owners[0].user, small.routing.cs_lead
            for side in (small, large):  # warm-up: imports, connections, the first Home's own rows
                side.open_home(owner)
                side.open_home(lead)
            times: dict[tuple[str, int], list[float]] = {}
            ratios: dict[str, list[float]] = {"owner": [], "lead": []}
            for i in range(repeat):
                for who, user in (("owner", owner), ("lead", lead)):
                    sides = (small, large) if i % 2 == 0 else (large, small)
                    got = {side.n: side.open_home(user)[0] for side in sides}
                    for n, wall in got.items():
                        times.setdefault((who, n), []).append(wall)
                    ratios[who].append(got[n_records] / got[SMALL])
                if verbose:
                    print(
                        f"  pair {i + 1}/{repeat}: owner {times[('owner', SMALL)][-1] * 1e3:.1f} ms at {SMALL:,}, "
                        f"{times[('owner', n_records)][-1] * 1e3:.1f} ms at {n_records:,} ({ratios['owner'][-1]:.2f}×); "
                        f"CS lead {times[('lead', SMALL)][-1] * 1e3:.1f} / {times[('lead', n_records)][-1] * 1e3:.1f} ms "
                        f"({ratios['lead'][-1]:.2f}×)", flush=True,
                    )
            users = [o.user for o in large.routing.owners] + [f"U0PEOPLE{k:04d}" for k in range(max(homes - OWNERS, 0))]
            users = users[:homes]
            pass_wall, published, unfinished = large.homes_pass(users)
            if verbose:
                print(f"  homes pass at {n_records:,}: {len(users)} opened Homes, {published} published in {pass_wall:.2f} s"
                      f"{' (the rest at the next tick)' if unfinished else ''}", flush=True)
        finally:
            small.close()
            large.close()

    rows = []
    for who, label, target in (("owner", "an owner's Home", "≤ 1.2×"), ("lead", "the CS lead's Home", "(info)")):
        mine, base, ratio = median(times[(who, n_records)]), median(times[(who, SMALL)]), median(ratios[who])
        rows.append(Row(
            bench="home", metric=f"{label}: render + views.publish at {n_records:,} open records, median of {repeat} pairs",
            value=f"{mine * 1e3:.1f} ms", baseline=f"{base * 1e3:.1f} ms at {SMALL:,}", ratio=ratio, target=target,
            passed=ratio <= 1.2 if who == "owner" else None,
        ))
    per_minute = published * 60 / TICK_SECONDS
    rows.append(Row(
        bench="home", metric=f"views.publish per homes pass, {len(users)} Homes to publish (one pass a minute)",
        value=f"{published} of {len(users)}, at most {PUBLISH_MOST} ({pass_wall:.1f} s)", baseline=f"Tier 4: {TIER4_PER_MINUTE}+/min", ratio=per_minute / TIER4_PER_MINUTE,
        target=f"≤ {TIER4_PER_MINUTE}/min", passed=per_minute <= TIER4_PER_MINUTE and published > 0,
    ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--homes", type=int, default=100)
    args = parser.parse_args()
    print(machine())
    rows = run(n_records=args.records, repeat=args.repeat, homes=args.homes)
    print_rows(rows)
    sys.exit(0 if all(r.passed is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
