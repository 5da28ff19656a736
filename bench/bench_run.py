"""``rejectbot run --http`` as the operator runs it, measured from outside:
the memory of all its processes, idle and after a burst of clicks, against
issue 8's target (under 120 MB together); and, with N users each clicking
"confirm" on the items of their own digest message, the ack and the
click → ``chat.update`` as the fake Slack records it.

The bot is this checkout's real command line — the ``rejectbot`` script of
the environment ``uv run`` runs in — on a SQLite file in a temporary
directory: ``import`` of a generated export, ``digest --at`` a working day two
weeks ahead (so the run's own ticker deems nothing), then ``run --http``.
The fake Slack runs in this process. RSS is summed over the process and all
its descendants (``/proc``).

Baseline for the memory: a bare Bolt app served like ours
(``bench._bare_bolt_proc``: ``slack_bolt.App`` under waitress, no database),
started the same way and measured after the same idle time.

Run: ``uv run python -m bench.bench_run [--clients 16 --clicks 20 --idle 5]``
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

from sqlmodel import func, select

from bench._common import Row, machine, percentile, print_rows
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
    """Our fake Slack, noting when each ``chat.update`` arrives, per message."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.updated = threading.Condition()
        self.updates: dict[str, list[float]] = {}

    def _answer_api(self, method, params, token):
        answer = super()._answer_api(method, params, token)
        if method == "chat.update":
            with self.updated:
                self.updates.setdefault(str(params.get("ts")), []).append(time.perf_counter())
                self.updated.notify_all()
        return answer

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
                raise RuntimeError(f"`rejectbot run --http` did not answer /healthz within 60 s: {log.read_text()}") from None
            time.sleep(0.2)


def bare_rss(api_url: str, *, idle: float) -> float:
    """RSS of a bare Bolt app served like ours (``bench._bare_bolt_proc``), idle."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._bare_bolt_proc", api_url], cwd=ROOT, stdin=subprocess.PIPE,
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


def measure(*, clients: int, clicks: int, idle: float) -> dict:
    command = str(rejectbot())
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp, TimedFake() as fake:
        tmp = Path(tmp)
        (tmp / "routing.toml").write_text(ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp)), "SLACK_BOT_TOKEN": "xoxb-bench",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
               "ROUTING_FILE": str(tmp / "routing.toml"), "BOT_TIMEZONE": "Asia/Shanghai", "BOT_LOCALE": "en"}
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
        baseline_rss = bare_rss(fake.api_url, idle=idle)
        port = free_port()
        log = tmp / "run.log"
        process = subprocess.Popen([command, "run", "--http", "--port", str(port)], env=env, cwd=tmp,
                                   stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True)
        try:
            _wait_healthy(port, log)
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
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                start.wait(timeout=60)
                for block_id, value in buttons[:clicks]:
                    click = block_actions(signer, user_id=owner, action_id=ActionId.CONFIRM, value=value, block_id=block_id,
                                          channel_id=message.channel, message_ts=message.ts, message=shown,
                                          response_url=fake.response_url(f"{message.ts}-{value}"))
                    began = time.perf_counter()
                    connection.request("POST", "/slack/events", body=click.body.encode(), headers=click.headers)
                    response = connection.getresponse()
                    response.read()
                    acked = time.perf_counter()
                    updated = fake.wait_update(message.ts, after=began)
                    with lock:
                        acks.append(acked - began)
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                        if updated is None:
                            lost[0] += 1
                        else:
                            results.append(updated - began)
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
        engine = make_engine(env["DATABASE_URL"])
        with transaction(make_session_factory(engine)) as session:
            confirmed = session.exec(select(func.count()).select_from(Item).where(Item.status == Status.CONFIRMED)).one()
        engine.dispose()
        return {
            "clients": clients, "clicks": len(acks), "processes": processes, "statuses": statuses,
            "bare_bolt_rss_mb": round(baseline_rss, 1), "idle_rss_mb": round(idle_rss, 1),
            "after_load_rss_mb": round(busy_rss, 1),
            "ack_p50_ms": round(percentile(acks, 50) * 1e3, 1), "ack_p99_ms": round(percentile(acks, 99) * 1e3, 1),
            "update_p50_ms": round(percentile(results, 50) * 1e3, 1) if results else None,
            "update_p99_ms": round(percentile(results, 99) * 1e3, 1) if results else None,
            "no_update_within_30s": lost[0], "confirmed": confirmed, "exit_code": process.returncode,
        }


def run(*, clients: int = 16, clicks: int = 20, idle: float = 5.0, verbose: bool = True) -> list[Row]:
    found = measure(clients=clients, clicks=clicks, idle=idle)
    if verbose:
        print("  " + json.dumps(found, ensure_ascii=False))
    expected = clients * clicks
    ok = (
        found["clicks"] == expected and found["statuses"] == {200: expected} and found["no_update_within_30s"] == 0
        and found["confirmed"] == expected
    )
    if not ok:
        print(f"  PROBLEM: expected {expected} clicks acked 200, each updated and confirmed once: {found}")
    bare = f"{found['bare_bolt_rss_mb']:.1f} MB bare Bolt, idle"
    users = f"{clients} users × {clicks} clicks"
    return [
        Row(bench="run", metric=f"RSS of all `run --http` processes ({found['processes']}), idle",
            value=f"{found['idle_rss_mb']:.1f} MB", baseline=bare, ratio=found["idle_rss_mb"] / found["bare_bolt_rss_mb"],
            target=f"< {TARGET_RSS_MB} MB", passed=found["idle_rss_mb"] < TARGET_RSS_MB),
        Row(bench="run", metric=f"RSS of all `run --http` processes, after {users}",
            value=f"{found['after_load_rss_mb']:.1f} MB", baseline=bare,
            ratio=found["after_load_rss_mb"] / found["bare_bolt_rss_mb"],
            target=f"< {TARGET_RSS_MB} MB", passed=ok and found["after_load_rss_mb"] < TARGET_RSS_MB),
        Row(bench="run", metric=f"click ack p50 / p99, {users}", value=f"{found['ack_p50_ms']} / {found['ack_p99_ms']} ms",
            baseline="—", ratio=None, target=f"(info; Slack allows {SLACK_ACK_LIMIT_MS} ms)", passed=None),
        Row(bench="run", metric=f"click → chat.update p50 / p99, {users}",
            value=f"{found['update_p50_ms']} / {found['update_p99_ms']} ms", baseline="— (bench clicks)", ratio=None,
            target="(info)", passed=None),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="users clicking at once, one digest message each")
    parser.add_argument("--clicks", type=int, default=20, help="clicks per user (at most 22)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before measuring RSS")
    args = parser.parse_args()
    print(machine())
    rows = run(clients=args.clients, clicks=args.clicks, idle=args.idle)
    print_rows(rows)
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
