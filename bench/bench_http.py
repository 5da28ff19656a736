"""``/reject confirm <order>`` over HTTP: how long Slack waits for our ack,
against two bare Bolt apps served the same way.

- **Ours:** HTTP mode as ``rejectbot run --http`` runs it (``bot.cli``
  ``cmd_run``): ``bot.server``'s ``SlackFront`` (signature check, triage, the
  request stored in the ``inbox`` table in its own committed transaction,
  then the ack) and the worker threads of ``bot.handoff.InboxPool`` that
  dispatch each stored request to the app from ``create_app``, all in this
  process, on a SQLite file where a real digest posted 400 items for 4
  owners. Commands name those orders in turn: the first 400 confirm real
  awaiting items (compare-and-set, audit row, ``chat.update``, reply via
  ``response_url``), later ones are repeats (reply only).
- **Baseline (durable, the target's):** a bare ``slack_bolt.App`` whose
  ``/reject`` listener first commits the raw request — one INSERT of body,
  headers (JSON) and received_at in a transaction of its own — to a table in
  a SQLite file opened with ``storage.db.make_engine`` (WAL, busy timeout,
  ``BEGIN IMMEDIATE``, its in-process writer lock), then calls ``ack()``:
  the least an app can do that acknowledges only what it has made durable,
  as ours does. It does no work afterwards (ours also works through the
  commands in the same process meanwhile).
- **Ack only (information):** the same bare app whose listener only acks.

All three are served alike: waitress on 127.0.0.1 with the thread count
``rejectbot run --http`` uses (``bot.server.make_server``'s default, read at
run time), the bare apps through Bolt's WSGI adapter with the
``process_before_response`` our HTTP mode sets (``True``: the listener runs
in the request thread, before the response). ``FakeSlack`` runs in a child
process. 16 client threads (``http.client``, one keep-alive connection each)
send freshly signed slash commands back to back: a warm-up, then a fixed
count each. Latency is from sending the request to reading the whole
response (signing excluded).

The three runs are interleaved, ``--rounds`` times (the order reversed every
other round); each figure is the median over the rounds of that run's p50
(resp. p99, nearest rank). Targets: ours/durable-baseline p50 ≤ 1.3×, and
ours p99 < 10 % of Slack's 3 s limit for an ack (300 ms).

Run: ``uv run python -m bench.bench_http [--clients N] [--requests N] [--warmup N] [--rounds N]``
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import waitress
from slack_bolt import Ack, App, BoltRequest
from sqlalchemy import text
from waitress import wasyncore

from bench._bare_bolt_proc import PROCESS_BEFORE_RESPONSE, server_threads
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
from bot.fakeslack import SlackSigner, slash_command
from bot.gateway import make_client
from bot.handoff import InboxPool
from bot.health import Health
from bot.i18n import Catalog
from bot.server import SlackFront, make_wsgi_app
from storage import imports, queries
from storage.db import SessionFactory, make_engine, make_session_factory, transaction, upgrade

TARGET_MEDIAN_RATIO = 1.3
SLACK_ACK_LIMIT_S = 3.0  # Slack shows the user an error when the ack takes longer
TARGET_P99_S = 0.1 * SLACK_ACK_LIMIT_S
OWNERS = 4
ITEMS = 400  # 100 per owner: 5 digest messages each
DRAIN_TIMEOUT_S = 120
CLIENT_TIMEOUT_S = 30
BARE_TABLE = """CREATE TABLE IF NOT EXISTS bare_inbox (
    id INTEGER PRIMARY KEY, body TEXT NOT NULL, headers TEXT NOT NULL, received_at TIMESTAMP NOT NULL
)"""


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
    """A WSGI app under waitress on 127.0.0.1, in a background thread, with
    as many threads as ``rejectbot run --http`` serves with."""

    def __init__(self, wsgi_app) -> None:
        self.server = waitress.create_server(
            wsgi_app, host="127.0.0.1", port=0, threads=server_threads(), ident="bench"
        )
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def close(self) -> None:
        # Closing the sockets from this thread races the serving thread's
        # select() (EBADF): the worker threads stop first, then the serving
        # thread closes everything itself, and its loop ends with an empty map.
        self.server.task_dispatcher.shutdown(timeout=5)
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
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
        slack_pacing=False,  # the fake enforces no limits here: the setup's 20 posts in one channel would wait 21 s
    )


def _seed(path: Path) -> tuple[SessionFactory, object]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    session_factory = make_session_factory(engine)
    records = rows_to_records(generate_rows(ITEMS, owners=OWNERS))
    with transaction(session_factory) as session:
        imports.insert_records(session=session, records=records, batch_id=None, now=DIGEST_NOW, timezone=SHANGHAI)
    return session_factory, engine


def run_bare(*, clients: int, warmup: int, per_client: int, durable_path: Path | None = None) -> tuple[Load, int]:
    """A bare Bolt app served like ours. With ``durable_path``, its listener
    commits the raw request to a table in that SQLite file (engine from
    ``make_engine``) before it acks; without, it only acks. Returns the load
    and the number of rows stored."""
    engine = None
    if durable_path is not None:
        engine = make_engine(f"sqlite:///{durable_path}")
        with engine.begin() as conn:
            conn.execute(text(BARE_TABLE))
    try:
        with RemoteFakeSlack() as fake:  # only answers Bolt's one auth.test
            app = App(
                client=make_client("xoxb-bench", fake.api_url), signing_secret=SIGNING_SECRET,
                request_verification_enabled=True, process_before_response=PROCESS_BEFORE_RESPONSE,
            )

            if engine is None:

                @app.command("/reject")
                def ack_only(ack: Ack) -> None:
                    ack()

            else:

                @app.command("/reject")
                def store_then_ack(ack: Ack, request: BoltRequest) -> None:
                    kept = {
                        name: values[0] for name, values in request.headers.items()
                        if values and (name == "content-type" or name.startswith("x-slack-"))
                    }  # fmt: skip
                    with engine.begin() as conn:  # make_engine's "begin" hook: writer lock + BEGIN IMMEDIATE
                        conn.execute(
                            text("INSERT INTO bare_inbox (body, headers, received_at) VALUES (:body, :headers, :at)"),
                            {"body": request.raw_body, "headers": json.dumps(kept), "at": datetime.now(UTC)},
                        )
                    ack()

            signer = SlackSigner(SIGNING_SECRET)
            hook = fake.response_url("bare")
            counter = itertools.count()

            def make_request(n: int):
                i = next(counter)
                return slash_command(signer, text=f"confirm SO{i:07d}", user_id="U0OWN0001", channel_id=CHANNEL, response_url=hook)

            served = Served(bolt_wsgi(app))
            try:
                load = _drive(served.port, clients=clients, warmup=warmup, per_client=per_client, make_request=make_request)
            finally:
                served.close()
        stored = 0
        if engine is not None:
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM bare_inbox")).scalar_one()
        return load, stored
    finally:
        if engine is not None:
            engine.dispose()


def run_ours(*, clients: int, warmup: int, per_client: int, path: Path) -> tuple[Load, dict]:
    """`rejectbot run --http`'s layout in this process: the front stores and
    acks, the pool's worker threads do the work."""
    session_factory, engine = _seed(path)
    routing = owners_routing(OWNERS, branches_per_owner=60 // OWNERS)
    fake = RemoteFakeSlack(now=DIGEST_NOW.timestamp())
    try:
        clock = FixedClock(DIGEST_NOW)
        bot = create_app(
            _settings(fake.api_url), client=make_client("xoxb-bench", fake.api_url), session_factory=session_factory,
            clock=clock, routing=routing, process_before_response=True, verify_requests=False,  # as cmd_run
        )
        outcome = bot.services.post_daily_digest(now=DIGEST_NOW)
        with transaction(session_factory) as session:
            awaiting = list(queries.list_items_by_status(session=session, status=Status.AWAITING))
        expected_messages = sum(page_count(ITEMS // OWNERS) for _ in range(OWNERS))
        if len(awaiting) != ITEMS or outcome.messages != expected_messages:
            raise AssertionError(f"digest setup: {len(awaiting)} awaiting items, {outcome.messages} messages")
        targets = [(item.order_no, routing.owner_named(item.owner).user) for item in awaiting]
        for user in {user for _, user in targets}:  # Slack knows the people who send commands (users.info, their locale)
            fake.add_user(user)
        signer = SlackSigner(SIGNING_SECRET)
        hooks = [fake.response_url(f"client-{n}") for n in range(clients)]
        counter = itertools.count()

        def make_request(n: int):
            order_no, user = targets[next(counter) % len(targets)]
            return slash_command(signer, text=f"confirm {order_no}", user_id=user, channel_id=CHANNEL, response_url=hooks[n])

        pool = InboxPool(session_factory=session_factory, dispatch=bot.app.dispatch, clock=clock)
        pool.start()
        front = SlackFront(signing_secret=SIGNING_SECRET, pool=pool, catalog=Catalog("zh_CN"))
        served = Served(make_wsgi_app(front, Health(clock=clock, ticker=False)))
        try:
            load = _drive(served.port, clients=clients, warmup=warmup, per_client=per_client, make_request=make_request)
            # The worker threads work after the ack: wait (bounded) until every
            # command has been answered before closing anything.
            drain_began = time.perf_counter()
            deadline = drain_began + DRAIN_TIMEOUT_S
            while fake.count("response_url") < load.sent and time.perf_counter() < deadline:
                time.sleep(0.05)
            drain = time.perf_counter() - drain_began
        finally:
            served.close()
            pool.stop()
        calls = fake.calls()
    finally:
        fake.close()
    with transaction(session_factory) as session:
        confirmed = len(queries.list_items_by_status(session=session, status=Status.CONFIRMED))
    engine.dispose()
    facts = {
        "replies": calls["methods"].get("response_url", 0), "chat.update": calls["methods"].get("chat.update", 0),
        "confirmed": confirmed, "failed_calls": calls["failed"], "first_failure": calls["first_failure"],
        "drain_s": drain, "sent": load.sent,
    }
    return load, facts


def _summary(name: str, load: Load) -> str:
    lat = load.latencies
    return (
        f"{name}: {len(lat)} timed in {load.wall:.2f} s ({len(lat) / load.wall:.0f} req/s), "
        f"p50 {median(lat) * 1e3:.1f} ms, p99 {percentile(lat, 99) * 1e3:.1f} ms, "
        f"max {max(lat) * 1e3:.1f} ms; statuses {dict(load.statuses)}; client errors {len(load.errors)}"
    )


def _load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def run(*, clients: int = 16, warmup: int = 5, per_client: int = 50, rounds: int = 3, verbose: bool = True) -> list[Row]:
    """``rounds`` interleaved rounds of ours, the durable baseline and the
    ack-only app (order reversed every other round); rows of medians over
    the rounds."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N" under load
    names = ("ours", "durable", "ack only")
    p50: dict[str, list[float]] = {name: [] for name in names}
    p99: dict[str, list[float]] = {name: [] for name in names}
    ratios: list[float] = []
    problems: list[str] = []
    expected = clients * per_client
    if verbose:
        print(f"  waitress threads {server_threads()}, process_before_response={PROCESS_BEFORE_RESPONSE} (bare apps), "
              f"{clients} clients × ({warmup} warm-up + {per_client} timed), {rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        for r in range(rounds):
            order = names if r % 2 == 0 else tuple(reversed(names))
            if verbose:
                print(f"  round {r + 1}/{rounds} (load average {_load_average()}): {', '.join(order)}", flush=True)
            loads: dict[str, Load] = {}
            for name in order:
                if name == "ours":
                    load, facts = run_ours(clients=clients, warmup=warmup, per_client=per_client, path=Path(tmp) / f"ours-{r}.db")
                    if facts["failed_calls"] or facts["replies"] != facts["sent"]:
                        problems.append(f"round {r + 1} ours: {facts}")
                    detail = (
                        f"\n      after the ack: {facts['confirmed']} confirmed, {facts['chat.update']} chat.update, "
                        f"{facts['replies']}/{facts['sent']} replies, {facts['failed_calls']} failed Web API calls; "
                        f"all answered {facts['drain_s']:.2f} s after the last response"
                    )
                else:
                    durable = Path(tmp) / f"bare-{r}.db" if name == "durable" else None
                    load, stored = run_bare(clients=clients, warmup=warmup, per_client=per_client, durable_path=durable)
                    if durable is not None and stored != load.sent:
                        problems.append(f"round {r + 1} durable: {stored} rows stored for {load.sent} requests")
                    detail = f"; {stored} rows stored" if durable is not None else ""
                if load.errors or set(load.statuses) != {200} or len(load.latencies) != expected:
                    problems.append(f"round {r + 1} {name}: {len(load.latencies)}/{expected} timed, "
                                    f"statuses {dict(load.statuses)}, errors {load.errors[:3]}")
                loads[name] = load
                if load.latencies:
                    p50[name].append(median(load.latencies))
                    p99[name].append(percentile(load.latencies, 99))
                if verbose and load.latencies:
                    print(f"    {_summary(name, load)}{detail}", flush=True)
            if loads["ours"].latencies and loads["durable"].latencies:
                ratios.append(median(loads["ours"].latencies) / median(loads["durable"].latencies))
    if problems:
        print("  PROBLEMS:\n    " + "\n    ".join(problems))
    if not p50["ours"] or not p50["durable"] or not p50["ack only"]:
        raise AssertionError(f"no timed responses: {problems[:3]}")
    ok = not problems
    m50 = {name: median(values) for name, values in p50.items()}
    m99 = {name: median(values) for name, values in p99.items()}
    ratio = median(ratios)
    ms = lambda s: f"{s * 1e3:.1f} ms"  # noqa: E731
    label = f"{clients} clients, median of {rounds}"
    return [
        Row(
            bench="http", metric=f"/reject ack p50, {label}", value=ms(m50["ours"]),
            baseline=f"{ms(m50['durable'])} bare Bolt, INSERT then ack", ratio=ratio,
            target=f"≤ {TARGET_MEDIAN_RATIO}×", passed=ok and ratio <= TARGET_MEDIAN_RATIO,
        ),
        Row(
            bench="http", metric=f"/reject ack p99, {label}", value=ms(m99["ours"]),
            baseline=f"{ms(m99['durable'])} bare Bolt, INSERT then ack", ratio=m99["ours"] / m99["durable"],
            target=f"< {ms(TARGET_P99_S)} (10 % of Slack's 3 s)", passed=ok and m99["ours"] < TARGET_P99_S,
        ),
        Row(
            bench="http", metric=f"/reject ack p50, {label}, vs ack only", value=ms(m50["ours"]),
            baseline=f"{ms(m50['ack only'])} bare Bolt, ack only", ratio=m50["ours"] / m50["ack only"],
            target="(info)", passed=None,
        ),
        Row(
            bench="http", metric=f"/reject ack p99, {label}, vs ack only", value=ms(m99["ours"]),
            baseline=f"{ms(m99['ack only'])} bare Bolt, ack only", ratio=m99["ours"] / m99["ack only"],
            target="(info)", passed=None,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per client")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up requests per client")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the three runs")
    args = parser.parse_args()
    print(machine())
    rows = run(clients=args.clients, warmup=args.warmup, per_client=args.requests, rounds=args.rounds)
    print_rows(rows)
    print(f"load average {_load_average()} (1/5/15 min) at the end")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
