"""``rejectbot run --http`` as the operator runs it, measured from outside:
acknowledgement latency and click → ``chat.update`` recorded at the fake
Slack, with N users each clicking "confirm" on the items of their own digest
message and waiting for the message to change before clicking again; and the
idle RSS of all the run's processes.

Point ``--repo`` at any checkout (its ``.venv/bin/rejectbot`` is run), so two
versions can be compared on one machine in one sitting:

    uv run python -m bench.bench_run --repo /path/to/main --repo .

The fake Slack runs in this process; the bot is the checkout's real CLI:
``import`` of a generated export, ``digest --at`` a working day two weeks
ahead (so the run's own ticker deems nothing), then ``run --http``.
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

from bot.core.workcal import WorkCalendar
from bot.fakeslack import FakeSlack, SlackSigner, block_actions
from storage.db import make_engine, make_session_factory, transaction
from storage.models import DigestMessage, Item

SECRET = "bench-signing-secret"
CHANNEL = "C0LOGISTICS"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录\n"
ROUTING = Path(__file__).resolve().parents[1] / "routing.example.toml"
OWNERS = {"大件配送": "U0OWNERY", "小件配送": "U0OWNERZ"}


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


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(repo: Path, *, clients: int, clicks: int, idle: float) -> dict:
    rejectbot = repo / ".venv" / "bin" / "rejectbot"
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp, TimedFake() as fake:
        tmp = Path(tmp)
        (tmp / "routing.toml").write_text(ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp)), "SLACK_BOT_TOKEN": "xoxb-bench",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
               "ROUTING_FILE": str(tmp / "routing.toml"), "BOT_TIMEZONE": "Asia/Shanghai", "BOT_LOCALE": "en"}
        rows = [f"SO20261201{n:06d},2026-11-26,{'上海浦东分公司' if n % 2 == 0 else '杭州分公司'},{'大件' if n % 2 == 0 else '小件'},"
                f"客户已收货,吴先生 1514026{n:04d},王丽,2026-11-27 09:44,客户确认已收到商品 {n}" for n in range(480)]
        (tmp / "export.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
        for args in (["import", "export.csv"], ["digest", "--at", f"{digest_day().isoformat()}T08:30"]):
            done = subprocess.run([str(rejectbot), *args], env=env, cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{args}: {done.stdout}{done.stderr}")
        engine = make_engine(env["DATABASE_URL"])
        with transaction(make_session_factory(engine)) as session:
            messages = session.query(DigestMessage).all()
            items = session.query(Item).all()
        engine.dispose()
        full = [m for m in messages if sum(1 for i in items if i.digest_message_id == m.id) >= clicks + 2][:clients]
        if len(full) < clients:
            raise RuntimeError(f"only {len(full)} digest messages with {clicks + 2} items")
        port = free_port()
        process = subprocess.Popen([str(rejectbot), "run", "--http", "--port", str(port)], env=env, cwd=tmp,
                                   stdout=subprocess.DEVNULL, stderr=(tmp / "run.log").open("w"), start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError((tmp / "run.log").read_text()) from None
                    time.sleep(0.2)
            time.sleep(idle)
            idle_rss = rss_mb(tree(process.pid))
            processes = len(tree(process.pid))
            signer = SlackSigner(SECRET)
            acks: list[float] = []
            results: list[float] = []
            lost = [0]
            lock = threading.Lock()
            start = threading.Barrier(clients)

            def user(message: DigestMessage) -> None:
                owner = OWNERS[message.owner]
                shown = fake.messages[(message.channel, message.ts)]
                buttons = [(b["block_id"], e["value"]) for b in shown["blocks"]
                           for e in [b.get("accessory"), *(b.get("elements") or [])]
                           if isinstance(e, dict) and e.get("action_id") == "item.confirm"]
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                start.wait()
                for block_id, value in buttons[:clicks]:
                    click = block_actions(signer, user_id=owner, action_id="item.confirm", value=value, block_id=block_id,
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
                        if updated is None:
                            lost[0] += 1
                        else:
                            results.append(updated - began)
                connection.close()

            threads = [threading.Thread(target=user, args=(m,)) for m in full]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            busy_rss = rss_mb(tree(process.pid))
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        return {
            "repo": str(repo), "clients": clients, "clicks": len(acks), "processes": processes,
            "idle_rss_mb": round(idle_rss, 1), "after_load_rss_mb": round(busy_rss, 1),
            "ack_p50_ms": round(pct(acks, 50) * 1e3, 1), "ack_p99_ms": round(pct(acks, 99) * 1e3, 1),
            "update_p50_ms": round(pct(results, 50) * 1e3, 1), "update_p99_ms": round(pct(results, 99) * 1e3, 1),
            "no_update_within_30s": lost[0],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", action="append", type=Path, help="a checkout to measure (repeatable; default: this one)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--clicks", type=int, default=20, help="clicks per user")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before measuring RSS")
    args = parser.parse_args()
    for repo in args.repo or [Path(__file__).resolve().parents[1]]:
        print(json.dumps(measure(repo.resolve(), clients=args.clients, clicks=args.clicks, idle=args.idle)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
