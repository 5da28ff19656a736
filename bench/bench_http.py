"""``/reject confirm <order>`` over HTTP: the real app against a bare Bolt app.

Ours: the app from ``create_app`` (signing secret set, request verification
on, ``process_before_response=False`` as in production), its Web API calls
going to ``FakeSlack``, a SQLite file whose items were posted by a real
digest, so the first confirm of each order changes a real awaiting item
(compare-and-set, audit row, ``chat.update`` of its digest message, reply via
``response_url``) and later repeats are no-ops (reply only). 400 items, 880
commands (16 × (5 + 50)): 400 real confirms, then 480 repeats.

Headline run: ``FakeSlack`` in a child process (``bench._fakeslack_proc``),
as Slack's own work is not in our process in production. A second,
informational run puts ``FakeSlack`` in this process, where its CPU competes
with the app for the GIL (as in the tests).

Baseline: a bare ``slack_bolt.App`` with the same signing secret and client
whose ``/reject`` listener only calls ``ack()``.

Both are served the same way under waitress (ours: ``bot.server``'s front,
which stores each request in the inbox before it acks, and the worker
threads of ``bot.handoff.InboxPool`` in the same process; the bare app and
the informational "one process" run: Bolt's own WSGI adapter)
(``create_server(..., host="127.0.0.1", port=0, threads=16)``) in a background
thread. 16 client threads (``http.client``, one keep-alive connection each)
send freshly signed slash commands: a warm-up, then a fixed count each.
Latency is from sending the request to reading the whole response (signing
excluded). Clients and server share this process (the GIL); everything is on
127.0.0.1 only; loops are bounded and the servers are closed at the end.

Run: ``uv run python -m bench.bench_http [--clients N] [--requests N] [--warmup N]``
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import logging
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import waitress
from slack_bolt import Ack, App

from bench._common import (
    CHANNEL,
    DIGEST_NOW,
    SHANGHAI,
    SIGNING_SECRET,
    Row,
    generate_rows,
    machine,
    median,
    owners_routing,
    percentile,
    print_rows,
    rows_to_records,
)  # fmt: skip
from bench._fakeslack_proc import RemoteFakeSlack
from bot.app import create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core.digest import page_count
from bot.core.lifecycle import Status
from bot.fakeslack import FakeSlack, SlackSigner, slash_command
from bot.gateway import make_client
from bot.handoff import InboxPool
from bot.health import Health
from bot.i18n import Catalog
from bot.server import SlackFront, make_wsgi_app
from storage import imports, queries
from storage.db import SessionFactory, make_engine, make_session_factory, transaction, upgrade

TARGET_MEDIAN_RATIO = 1.3
SERVER_THREADS = 16
OWNERS = 4
ITEMS = 400  # 100 per owner: 5 digest messages each
DRAIN_TIMEOUT_S = 120
CLIENT_TIMEOUT_S = 30


@dataclass
class Load:
    """What the clients saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, timed requests only
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0  # first timed request sent -> last timed response read
    sent: int = 0  # all requests, warm-up included


def bolt_wsgi(app: App):
    """A Bolt app under Bolt's WSGI adapter (the baselines)."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    return SlackRequestHandler(app)


class Served:
    """A WSGI app under waitress on 127.0.0.1, in a background thread."""

    def __init__(self, wsgi_app) -> None:
        self.server = waitress.create_server(
            wsgi_app, host="127.0.0.1", port=0, threads=SERVER_THREADS, ident="bench"
        )
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.close()
        self.server.task_dispatcher.shutdown(timeout=5)
        self.thread.join(timeout=5)


def _drive(port: int, *, clients: int, warmup: int, per_client: int, make_request, think: float = 0.0) -> Load:
    """``clients`` threads, each on one keep-alive connection: ``warmup``
    requests, then (all together) ``per_client`` timed ones; with ``think``,
    each client pauses about that long (±50 %, seeded) between requests."""
    load = Load()
    lock = threading.Lock()
    start_line = threading.Barrier(clients + 1)
    finish_line = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
        mine: list[float] = []
        statuses: Counter = Counter()
        pauses = random.Random(n)
        try:
            for i in range(warmup + per_client):
                if i == warmup:
                    start_line.wait(timeout=300)
                if think and i > 0:
                    time.sleep(think * pauses.uniform(0.5, 1.5))
                request = make_request(n)
                body = request.body.encode()
                began = time.perf_counter()
                try:
                    connection.request("POST", "/slack/events", body=body, headers=request.headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        load.errors.append(f"client {n}: {exc!r}")
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
                    continue
                elapsed = time.perf_counter() - began
                statuses[response.status] += 1
                if i >= warmup:
                    mine.append(elapsed)
        except BaseException as exc:  # a bug in the bench: stop everyone rather than hang
            with lock:
                load.errors.append(f"client {n} stopped: {exc!r}")
            start_line.abort()
            finish_line.abort()
            raise
        finally:
            connection.close()
            with lock:
                load.latencies += mine
                load.statuses += statuses
                load.sent += warmup + per_client
        finish_line.wait(timeout=300)

    threads = [threading.Thread(target=client, args=(n,), name=f"client-{n}", daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        start_line.wait(timeout=300)
        began = time.perf_counter()
        finish_line.wait(timeout=600)
        load.wall = time.perf_counter() - began
    except threading.BrokenBarrierError:
        load.errors.append("a client stopped early (see its traceback above)")
    for thread in threads:
        thread.join(timeout=60)
    return load


def _settings(api_url: str) -> Settings:
    return Settings(
        bot_token="xoxb-bench", app_token=None, signing_secret=SIGNING_SECRET, api_url=api_url,
        database_url="unused", routing_file=Path("unused-routing.toml"), timezone=SHANGHAI, locale="zh_CN",
    )


def _seed(path: Path) -> tuple[SessionFactory, object]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    session_factory = make_session_factory(engine)
    records = rows_to_records(generate_rows(ITEMS, owners=OWNERS))
    with transaction(session_factory) as session:
        imports.insert_records(session=session, records=records, batch_id=None, now=DIGEST_NOW, timezone=SHANGHAI)
    return session_factory, engine


def run_bare(*, clients: int, warmup: int, per_client: int, session_factory: SessionFactory, think: float = 0.0) -> Load:
    with RemoteFakeSlack() as fake:  # only answers Bolt's one auth.test
        app = App(
            client=make_client("xoxb-bench", fake.api_url), signing_secret=SIGNING_SECRET,
            request_verification_enabled=True, process_before_response=False,
        )

        @app.command("/reject")
        def ack_only(ack: Ack) -> None:
            ack()

        signer = SlackSigner(SIGNING_SECRET)
        hook = fake.response_url("bare")
        counter = itertools.count()

        def make_request(n: int):
            i = next(counter)
            return slash_command(signer, text=f"confirm SO{i:07d}", user_id="U0OWN0001", channel_id=CHANNEL, response_url=hook)

        served = Served(bolt_wsgi(app))
        try:
            return _drive(
                served.port, clients=clients, warmup=warmup, per_client=per_client, make_request=make_request, think=think
            )
        finally:
            served.close()


class LocalFake:
    """``FakeSlack`` in this process, behind the same small interface as
    ``RemoteFakeSlack``."""

    def __init__(self) -> None:
        self.fake = FakeSlack()
        self.api_url = self.fake.api_url

    def response_url(self, name: str) -> str:
        return self.fake.response_url(name)

    def count(self, method: str) -> int:
        return len(self.fake.calls_to(method))

    def calls(self) -> dict:
        calls = self.fake.calls
        failed = [c for c in calls if c.error]
        return {
            "methods": Counter(c.method for c in calls), "failed": len(failed),
            "first_failure": repr(failed[0])[:300] if failed else None,
        }

    def close(self) -> None:
        self.fake.close()


def run_ours(
    *, clients: int, warmup: int, per_client: int, session_factory: SessionFactory, fake_in_process: bool,
    think: float = 0.0, handoff: bool = True, database_url: str = "",
) -> tuple[Load, dict]:
    routing = owners_routing(OWNERS, branches_per_owner=60 // OWNERS)
    fake = LocalFake() if fake_in_process else RemoteFakeSlack()
    try:
        bot = create_app(
            _settings(fake.api_url), client=make_client("xoxb-bench", fake.api_url), session_factory=session_factory,
            clock=FixedClock(DIGEST_NOW), routing=routing, process_before_response=False,
        )
        outcome = bot.services.post_daily_digest(now=DIGEST_NOW)
        with transaction(session_factory) as session:
            awaiting = list(queries.list_items_by_status(session=session, status=Status.AWAITING))
        expected_messages = sum(page_count(ITEMS // OWNERS) for _ in range(OWNERS))
        if len(awaiting) != ITEMS or outcome.messages != expected_messages:
            raise AssertionError(f"digest setup: {len(awaiting)} awaiting items, {outcome.messages} messages")
        targets = [(item.order_no, routing.owner_named(item.owner).user) for item in awaiting]
        signer = SlackSigner(SIGNING_SECRET)
        hooks = [fake.response_url(f"client-{n}") for n in range(clients)]
        counter = itertools.count()

        def make_request(n: int):
            order_no, user = targets[next(counter) % len(targets)]
            return slash_command(signer, text=f"confirm {order_no}", user_id=user, channel_id=CHANNEL, response_url=hooks[n])

        pool = None
        if handoff:  # as `rejectbot run --http`: the front stores and acks, worker threads do the work
            clock = FixedClock(DIGEST_NOW)
            worker_app = create_app(
                _settings(fake.api_url), client=make_client("xoxb-bench", fake.api_url), session_factory=session_factory,
                clock=clock, routing=routing, process_before_response=True, verify_requests=False,
            )
            pool = InboxPool(session_factory=session_factory, dispatch=worker_app.app.dispatch, clock=clock)
            pool.start()
            front = SlackFront(signing_secret=SIGNING_SECRET, pool=pool, catalog=Catalog("zh_CN"))
            served = Served(make_wsgi_app(front, Health(clock=clock, ticker=False)))
        else:  # everything in Bolt's own threads, in this process
            served = Served(bolt_wsgi(bot.app))
        try:
            load = _drive(
                served.port, clients=clients, warmup=warmup, per_client=per_client, make_request=make_request, think=think
            )
            # Bolt runs listeners after the ack in its own thread pool: wait (bounded)
            # until every command has been answered before closing anything.
            drain_began = time.perf_counter()
            deadline = drain_began + DRAIN_TIMEOUT_S
            while fake.count("response_url") < load.sent and time.perf_counter() < deadline:
                time.sleep(0.05)
            drain = time.perf_counter() - drain_began
        finally:
            served.close()
            if pool is not None:
                pool.stop()
        calls = fake.calls()
    finally:
        fake.close()
    with transaction(session_factory) as session:
        confirmed = len(queries.list_items_by_status(session=session, status=Status.CONFIRMED))
    facts = {
        "replies": calls["methods"].get("response_url", 0), "chat.update": calls["methods"].get("chat.update", 0),
        "confirmed": confirmed, "failed_calls": calls["failed"], "first_failure": calls["first_failure"],
        "drain_s": drain, "sent": load.sent,
    }
    return load, facts


def _summary(name: str, load: Load) -> str:
    lat = load.latencies
    return (
        f"{name}: {len(lat)} timed requests in {load.wall:.2f} s ({len(lat) / load.wall:.0f} req/s), "
        f"median {median(lat) * 1e3:.1f} ms, p95 {percentile(lat, 95) * 1e3:.1f} ms, "
        f"max {max(lat) * 1e3:.1f} ms; statuses {dict(load.statuses)}; client errors {len(load.errors)}"
    )


def run(
    *, clients: int = 16, warmup: int = 5, per_client: int = 50, both_fakes: bool = True, think: float = 0.0,
    verbose: bool = True,
) -> list[Row]:
    """Headline: HTTP mode as `rejectbot run --http` runs it — the
    acknowledging front in this process, the app in a worker process — with
    the fake Slack in a child process (Slack's work is not in our process in
    production). With ``both_fakes`` (both modes), also an informational run
    with everything in one process, the front's acks competing with the
    listeners' work for the GIL. ``think`` > 0 turns the closed loop into
    paced clients (not the target's set-up: for exploring latency below
    saturation)."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N" under load
    variants = [True, False] if both_fakes else [True]
    results: dict[bool, tuple[Load, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        for handoff in variants:
            path = Path(tmp) / f"bench-{int(handoff)}.db"
            session_factory, engine = _seed(path)
            try:
                if not results:
                    bare = run_bare(
                        clients=clients, warmup=warmup, per_client=per_client, session_factory=session_factory, think=think
                    )
                results[handoff] = run_ours(
                    clients=clients, warmup=warmup, per_client=per_client, session_factory=session_factory,
                    fake_in_process=False, think=think, handoff=handoff, database_url=f"sqlite:///{path}",
                )
            finally:
                engine.dispose()
    for load, name in [(bare, "bare")] + [(r[0], f"ours {k}") for k, r in results.items()]:
        if len(load.latencies) != clients * per_client:
            raise AssertionError(f"{name}: {len(load.latencies)} timed responses of {clients * per_client}: {load.errors[:3]}")
    if verbose:
        print("  " + _summary("bare Bolt app", bare))
    rows = []
    for handoff, (ours, facts) in results.items():
        where = "front + inbox + worker threads" if handoff else "Bolt alone, one process"
        if verbose:
            print("  " + _summary(f"ours, {where}", ours))
            print(
                f"    background work: {facts['confirmed']} items confirmed, {facts['chat.update']} chat.update, "
                f"{facts['replies']}/{facts['sent']} replies via response_url, {facts['failed_calls']} failed Web API calls; "
                f"all answered {facts['drain_s']:.2f} s after the last response"
                + (f"; first failure: {facts['first_failure']}" if facts["first_failure"] else "")
            )
        ok = (
            not bare.errors and not ours.errors and set(bare.statuses) == {200} and set(ours.statuses) == {200}
            and facts["failed_calls"] == 0 and facts["replies"] == facts["sent"]
        )
        if not ok:
            print(f"  ERRORS: bare {bare.errors[:3]} {dict(bare.statuses)}; ours {ours.errors[:3]} {dict(ours.statuses)}")
        ratio = median(ours.latencies) / median(bare.latencies)
        p95_ratio = percentile(ours.latencies, 95) / percentile(bare.latencies, 95)
        label = ("front + inbox" if handoff else "Bolt alone") + (f", think {think:g} s" if think else "")
        headline = handoff and not think
        rows += [
            Row(
                bench="http", metric=f"/reject confirm, median, {clients} clients, {label}",
                value=f"{median(ours.latencies) * 1e3:.1f} ms", baseline=f"{median(bare.latencies) * 1e3:.1f} ms bare Bolt",
                ratio=ratio,
                target=f"≤ {TARGET_MEDIAN_RATIO}×" if headline else f"(info) ≤ {TARGET_MEDIAN_RATIO}×",
                passed=(ok and ratio <= TARGET_MEDIAN_RATIO) if headline else None,
            ),
            Row(
                bench="http", metric=f"/reject confirm, p95, {clients} clients, {label}",
                value=f"{percentile(ours.latencies, 95) * 1e3:.1f} ms",
                baseline=f"{percentile(bare.latencies, 95) * 1e3:.1f} ms bare Bolt",
                ratio=p95_ratio, target="(info)", passed=None,
            ),
        ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per client")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up requests per client")
    parser.add_argument("--headline-only", action="store_true", help="skip the run with the fake Slack in this process")
    parser.add_argument(
        "--think", type=float, default=0.0,
        help="seconds each client pauses between requests (default 0: back to back, the target's set-up)",
    )
    args = parser.parse_args()
    print(machine())
    rows = run(
        clients=args.clients, warmup=args.warmup, per_client=args.requests, both_fakes=not args.headline_only,
        think=args.think,
    )
    print_rows(rows)
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
