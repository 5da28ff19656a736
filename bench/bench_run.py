"""``rejectbot run`` as the operator runs it, in Socket Mode (the default)
and in HTTP mode (``--http``), measured from outside: the memory of all its
processes, idle and after a burst of clicks, against issue 8's target (under
120 MB together); and, with N users each clicking "confirm" on the items of
their own digest message, the ack and the click → the message shows it
as the fake Slack records it (a ``chat.update`` of it, or the click's
``response_url`` replacing it: ``run`` shows a clicked message that way).

The bot is this checkout's real command line — the ``rejectbot`` script of
the environment ``uv run`` runs in — on a SQLite file in a temporary
directory: ``import`` of a generated export, ``digest --at`` a working day two
weeks ahead (so the run's own ticker deems nothing), then ``run --http``
or ``run``. The fake Slack runs in this process; in Socket Mode its
``apps.connections.open`` answers the URL of a WebSocket server of this
bench's own (``SocketSlack``: says hello, sends the envelopes, records the
acks), and the clicks arrive as ``interactive`` envelopes. RSS is summed
over the process and all its descendants (``/proc``).

Baseline for the memory: a bare Bolt app started the same way, in the same
mode (``bench._bare_bolt_proc``: ``slack_bolt.App`` under waitress, or in
Socket Mode through slack_sdk's built-in client as ours; no database), and
measured after the same idle time. Each mode runs ``--repeat`` pairs
(default 3; bare app and ours, in alternating order), each on a fresh
database; each figure is the median over the pairs.

Run: ``uv run python -m bench.bench_run [--modes socket,http --clients 16 --clicks 20 --idle 5 --repeat 3]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urllib.parse import parse_qs

from sqlmodel import func, select

from bench._bare_bolt_proc import server_threads
from bench._common import Row, machine, median, percentile, print_rows
from bot.core.lifecycle import Status
from bot.core.workcal import WorkCalendar
from bot.fakeslack import FakeSlack, SlackSigner, block_actions
from bot.ids import ActionId
from storage.db import make_engine, make_session_factory, transaction
from storage.models import DigestMessage, Item

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录\n"
ROUTING = ROOT / "routing.example.toml"
OWNERS = {"大件配送": "U0OWNERY", "小件配送": "U0OWNERZ"}  # routing.example.toml's owners
TARGET_RSS_MB = 120  # issue 8: all of `rejectbot run`'s processes together
SLACK_ACK_LIMIT_MS = 3000
ITEMS = 480  # 2 owners × 10 pages of 24


def rejectbot() -> Path:
    """This checkout's CLI: the script ``uv run`` put next to its Python."""
    script = Path(sys.executable).parent / "rejectbot"
    if not script.exists():
        raise RuntimeError(f"no {script}: run the bench with `uv run` from the repository")
    return script


class TimedFake(FakeSlack):
    """Our fake Slack, noting when each message is updated: a ``chat.update``,
    or a ``response_url`` post replacing the message its click came from."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.updated = threading.Condition()
        self.updates: dict[str, list[float]] = {}

    def _answer_api(self, method, params, token):
        answer = super()._answer_api(method, params, token)
        if method == "chat.update":
            self._updated(str(params.get("ts")))
        return answer

    def _answer_hook(self, name, raw):
        body, answer, applied, delay = super()._answer_hook(name, raw)
        if applied and body.get("replace_original") and (ts := self._hooks.get(name, (None, None))[1]):
            self._updated(ts)
        return body, answer, applied, delay

    def _updated(self, ts: str) -> None:
        with self.updated:
            self.updates.setdefault(ts, []).append(time.perf_counter())
            self.updated.notify_all()

    def wait_update(self, ts: str, *, after: float, timeout: float = 30) -> float | None:
        deadline = time.perf_counter() + timeout
        with self.updated:
            while True:
                later = [t for t in self.updates.get(ts, []) if t >= after]
                if later:
                    return later[0]
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.updated.wait(left)


class SocketSlack:
    """Slack's Socket Mode end: a WebSocket server that says hello on each
    connection, sends envelopes on the newest one and notes when each ack
    arrives (Slack docs: "Using Socket Mode")."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.acked = threading.Condition()
        self.acks: dict[str, float] = {}
        self._connections: list = []
        self._send_lock = threading.Lock()
        self._server = serve(self._handler, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-slack", daemon=True)
        self._thread.start()

    def _handler(self, connection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "bench"},
                                    "connection_info": {"app_id": "A0BENCH"}}))
        with self.acked:
            self._connections.append(connection)
            self.acked.notify_all()
        try:
            for message in connection:
                envelope_id = json.loads(message).get("envelope_id")
                with self.acked:
                    self.acks[envelope_id] = time.perf_counter()
                    self.acked.notify_all()
        except Exception:  # the app went away: the connection just ends
            pass

    def open_connections(self) -> int:
        with self.acked:
            return sum(1 for c in self._connections if c.state.name == "OPEN")

    def send(self, envelope: dict) -> None:
        with self.acked:
            connection = [c for c in self._connections if c.state.name == "OPEN"][-1]
        with self._send_lock:  # one frame at a time on the connection
            connection.send(json.dumps(envelope))

    def wait_ack(self, envelope_id: str, *, timeout: float = 30) -> float | None:
        deadline = time.perf_counter() + timeout
        with self.acked:
            while envelope_id not in self.acks:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.acked.wait(left)
            return self.acks[envelope_id]

    def wait_connected(self, count: int, *, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.open_connections() < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no Socket Mode connection within {timeout:.0f} s")
            time.sleep(0.1)

    def close(self) -> None:
        self._server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest_day():
    day = datetime.now(SHANGHAI).date() + timedelta(days=14)
    while not WorkCalendar().is_working_day(day):
        day += timedelta(days=1)
    return day


def tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _wait_healthy(port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"`rejectbot run` did not answer /healthz within 60 s: {log.read_text()}") from None
            time.sleep(0.2)


def bare_rss(api_url: str, *, idle: float, socket_mode: bool) -> float:
    """RSS of a bare Bolt app run like ours (``bench._bare_bolt_proc``), idle."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._bare_bolt_proc", api_url, *(["--socket"] if socket_mode else ["--threads", str(server_threads())])],
        cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"the bare Bolt app did not start: {line!r}")
        time.sleep(idle)
        return rss_mb(tree(process.pid))
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def measure(*, mode: str, clients: int, clicks: int, idle: float, bare_first: bool) -> dict:
    """One pair in ``mode`` ("socket" or "http"): the bare app's idle RSS, then
    ours (or the other way round), on a fresh database."""
    command = str(rejectbot())
    socket_mode = mode == "socket"
    socket_slack = SocketSlack() if socket_mode else None
    try:
        return _measure(command, socket_slack, clients=clients, clicks=clicks, idle=idle, bare_first=bare_first)
    finally:
        if socket_slack is not None:
            socket_slack.close()


def _measure(command: str, socket_slack: SocketSlack | None, *, clients: int, clicks: int, idle: float, bare_first: bool) -> dict:
    socket_mode = socket_slack is not None
    with (
        tempfile.TemporaryDirectory(prefix="bench-run-") as tmp,
        TimedFake(socket_mode_url=socket_slack.url if socket_mode else None) as fake,
    ):
        tmp = Path(tmp)
        (tmp / "routing.toml").write_text(ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp)), "SLACK_BOT_TOKEN": "xoxb-bench",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
               "ROUTING_FILE": str(tmp / "routing.toml"), "BOT_TIMEZONE": "Asia/Shanghai", "BOT_LOCALE": "en"}
        if socket_mode:
            env["SLACK_APP_TOKEN"] = "xapp-bench"
        rows = [f"SO20261201{n:06d},2026-11-26,{'上海浦东分公司' if n % 2 == 0 else '杭州分公司'},{'大件' if n % 2 == 0 else '小件'},"
                f"客户已收货,吴先生 1514026{n:04d},王丽,2026-11-27 09:44,客户确认已收到商品 {n}" for n in range(ITEMS)]
        (tmp / "export.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
        for args in (["import", "export.csv"], ["digest", "--at", f"{digest_day().isoformat()}T08:30"]):
            done = subprocess.run([command, *args], env=env, cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"rejectbot {' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
        engine = make_engine(env["DATABASE_URL"])
        with transaction(make_session_factory(engine)) as session:
            messages = list(session.exec(select(DigestMessage)).all())
            items = list(session.exec(select(Item)).all())
        engine.dispose()
        full = [m for m in messages if sum(1 for i in items if i.digest_message_id == m.id) >= clicks + 2][:clients]
        if len(full) < clients:
            raise RuntimeError(f"only {len(full)} digest messages with {clicks + 2} items")
        baseline_rss = bare_rss(fake.api_url, idle=idle, socket_mode=socket_mode) if bare_first else None
        port = free_port()
        log = tmp / "run.log"
        args = ["run", "--http", "--port", str(port)] if not socket_mode else ["run", "--health-port", str(port)]
        process = subprocess.Popen([command, *args], env=env, cwd=tmp,
                                   stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True)
        try:
            _wait_healthy(port, log)
            if socket_mode:
                socket_slack.wait_connected(1)
            time.sleep(idle)
            idle_rss = rss_mb(tree(process.pid))
            processes = len(tree(process.pid))
            signer = SlackSigner(SECRET)
            acks: list[float] = []
            results: list[float] = []
            statuses: dict[int, int] = {}
            lost = [0]
            lock = threading.Lock()
            start = threading.Barrier(clients)

            def user(message: DigestMessage) -> None:
                owner = OWNERS[message.owner]
                shown = fake.messages[(message.channel, message.ts)]
                buttons = [(b["block_id"], e["value"]) for b in shown["blocks"]
                           for e in [b.get("accessory"), *(b.get("elements") or [])]
                           if isinstance(e, dict) and e.get("action_id") == ActionId.CONFIRM]
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30) if not socket_mode else None
                start.wait(timeout=60)
                for block_id, value in buttons[:clicks]:
                    click = block_actions(signer, user_id=owner, action_id=ActionId.CONFIRM, value=value, block_id=block_id,
                                          channel_id=message.channel, message_ts=message.ts, message=shown,
                                          response_url=fake.response_url(f"{message.ts}-{value}", channel=message.channel, ts=message.ts))
                    began = time.perf_counter()
                    if socket_mode:  # the same payload, as an interactive envelope (Slack docs: "Using Socket Mode")
                        envelope_id = f"env-{message.ts}-{value}"
                        socket_slack.send({"envelope_id": envelope_id, "type": "interactive", "accepts_response_payload": False,
                                           "payload": json.loads(parse_qs(click.body)["payload"][0])})
                        acked = socket_slack.wait_ack(envelope_id)
                        status = 200 if acked is not None else 0
                        acked = acked if acked is not None else time.perf_counter()
                    else:
                        connection.request("POST", "/slack/events", body=click.body.encode(), headers=click.headers)
                        response = connection.getresponse()
                        response.read()
                        acked = time.perf_counter()
                        status = response.status
                    updated = fake.wait_update(message.ts, after=began)
                    with lock:
                        acks.append(acked - began)
                        statuses[status] = statuses.get(status, 0) + 1
                        if updated is None:
                            lost[0] += 1
                        else:
                            results.append(updated - began)
                if connection is not None:
                    connection.close()

            threads = [threading.Thread(target=user, args=(m,), daemon=True) for m in full]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=clicks * 35 + 60)
            busy_rss = rss_mb(tree(process.pid))
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if baseline_rss is None:
            baseline_rss = bare_rss(fake.api_url, idle=idle, socket_mode=socket_mode)
        engine = make_engine(env["DATABASE_URL"])
        with transaction(make_session_factory(engine)) as session:
            confirmed = session.exec(select(func.count()).select_from(Item).where(Item.status == Status.CONFIRMED)).one()
        engine.dispose()
        return {
            "clients": clients, "clicks": len(acks), "processes": processes, "statuses": statuses,
            "bare_bolt_rss_mb": round(baseline_rss, 1), "idle_rss_mb": round(idle_rss, 1),
            "after_load_rss_mb": round(busy_rss, 1),
            "ack_p50_ms": round(percentile(acks, 50) * 1e3, 1), "ack_p99_ms": round(percentile(acks, 99) * 1e3, 1),
            "update_p50_ms": round(percentile(results, 50) * 1e3, 1) if results else float("nan"),
            "update_p99_ms": round(percentile(results, 99) * 1e3, 1) if results else float("nan"),
            "no_update_within_30s": lost[0], "confirmed": confirmed, "exit_code": process.returncode,
        }


def run(*, modes: tuple[str, ...] = ("socket", "http"), clients: int = 16, clicks: int = 20, idle: float = 5.0, repeat: int = 3,
        verbose: bool = True) -> list[Row]:
    repeat = max(repeat, 3)
    rows: list[Row] = []
    for mode in modes:
        pairs = []
        for i in range(repeat):
            found = measure(mode=mode, clients=clients, clicks=clicks, idle=idle, bare_first=i % 2 == 0)
            pairs.append(found)
            if verbose:
                print(f"  {mode} pair {i + 1}/{repeat}: " + json.dumps(found, ensure_ascii=False), flush=True)
        rows += _rows(mode, pairs, clients=clients, clicks=clicks)
    return rows


def _rows(mode: str, pairs: list[dict], *, clients: int, clicks: int) -> list[Row]:
    expected = clients * clicks
    ok = True
    for found in pairs:
        if not (found["clicks"] == expected and found["statuses"] == {200: expected} and found["no_update_within_30s"] == 0
                and found["confirmed"] == expected):
            ok = False
            print(f"  PROBLEM ({mode}): expected {expected} clicks acked, each updated and confirmed once: {found}")

    def mid(key: str) -> float:
        return median([found[key] for found in pairs])

    bare, idle_rss, busy_rss = mid("bare_bolt_rss_mb"), mid("idle_rss_mb"), mid("after_load_rss_mb")
    what = "`run --http`" if mode == "http" else "`run` (Socket Mode)"
    n = f"median of {len(pairs)} pairs"
    baseline = f"{bare:.1f} MB bare Bolt, idle"
    users = f"{clients} users × {clicks} clicks"
    return [
        Row(bench="run", metric=f"RSS of all {what} processes ({pairs[-1]['processes']}), idle, {n}",
            value=f"{idle_rss:.1f} MB", baseline=baseline, ratio=idle_rss / bare,
            target=f"< {TARGET_RSS_MB} MB", passed=idle_rss < TARGET_RSS_MB),
        Row(bench="run", metric=f"RSS of all {what} processes, after {users}, {n}",
            value=f"{busy_rss:.1f} MB", baseline=baseline, ratio=busy_rss / bare,
            target=f"< {TARGET_RSS_MB} MB", passed=ok and busy_rss < TARGET_RSS_MB),
        Row(bench="run", metric=f"{mode}: click ack p50 / p99, {users}, {n}", value=f"{mid('ack_p50_ms'):.1f} / {mid('ack_p99_ms'):.1f} ms",
            baseline="—", ratio=None, target=f"(info; Slack allows {SLACK_ACK_LIMIT_MS} ms)", passed=None),
        Row(bench="run", metric=f"{mode}: click → message shows it p50 / p99, {users}, {n}",
            value=f"{mid('update_p50_ms'):.1f} / {mid('update_p99_ms'):.1f} ms", baseline="— (bench clicks)", ratio=None,
            target="(info)", passed=None),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="users clicking at once, one digest message each")
    parser.add_argument("--clicks", type=int, default=20, help="clicks per user (at most 22)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before measuring RSS")
    parser.add_argument("--modes", default="socket,http", help="socket, http or both (default)")
    parser.add_argument("--repeat", type=int, default=3, help="pairs per mode (at least 3)")
    args = parser.parse_args()
    print(machine())
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    rows = run(modes=modes, clients=args.clients, clicks=args.clicks, idle=args.idle, repeat=args.repeat)
    print_rows(rows)
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
