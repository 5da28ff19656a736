"""``rejectbot run`` as real processes, killed as an operator's machine would
kill them: nothing acknowledged is lost, in HTTP mode and in Socket Mode, and
SIGTERM/SIGINT stop it cleanly.

Each test writes a routing file, imports an export of its own and posts the
digest with ``rejectbot import`` and ``rejectbot digest --at`` (on a working
day two weeks ahead, so the running process's ticker, on the real clock,
never deems the items confirmed), then starts ``rejectbot run`` against our
fake Slack on port 0 (Socket Mode: a WebSocket server of the test's own)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

import pytest
from conftest import PG_SKIP, PG_URL, SIGNING_SECRET, postgres_schema
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from bot.core.workcal import WorkCalendar
from bot.fakeslack import FakeSlack, SlackSigner, reaction_event, slash_command
from bot.handoff import WORKER_THREADS
from storage import inbox as store
from storage.db import make_engine, make_session_factory, transaction
from storage.models import AuditEntry, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
BIN = Path(sys.executable).parent
REJECTBOT = str(BIN / "rejectbot")
REPO = Path(__file__).resolve().parents[2]
ROUTING = REPO / "routing.example.toml"
CHANNEL = "C0LOGISTICS"
WAIT = 90  # seconds: a killed process's lease (15 s) runs out, then the restart takes its rows
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录\n"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def order(n: int) -> str:
    return f"SO20261201{n:06d}"


def owner_of(n: int) -> str:
    return "U0OWNERY" if n % 2 == 0 else "U0OWNERZ"  # large / small, as routing.example.toml routes them


def write_export(path: Path, count: int) -> None:
    rows = [
        f"{order(n)},2026-11-26,{'上海浦东分公司' if n % 2 == 0 else '杭州分公司'},{'大件' if n % 2 == 0 else '小件'},"
        f"客户已收货,吴先生 1514026{n:04d},王丽,2026-11-27 09:44,客户确认已收到商品 {n}"
        for n in range(count)
    ]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


def digest_day() -> date:
    """A working day about two weeks ahead of the real clock."""
    calendar = WorkCalendar()
    day = datetime.now(SHANGHAI).date() + timedelta(days=14)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


@dataclass
class Operator:
    tmp: Path
    fake: FakeSlack
    engine: Engine
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    logs: list[Path] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([REJECTBOT, *args], env=self.env, cwd=self.tmp, capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str, command: list[str] | None = None) -> subprocess.Popen:
        log = self.tmp / f"run-{len(self.logs)}.log"
        self.logs.append(log)
        return subprocess.Popen(command or [REJECTBOT, "run", *args], env=self.env, cwd=self.tmp,
                                stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True)

    def stderr(self, n: int = -1) -> str:
        return self.logs[n].read_text(encoding="utf-8", errors="replace")

    def session_factory(self):
        return make_session_factory(self.engine)


def wait_for(condition, *, timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def healthz(port: int) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None


def wait_serving(operator: Operator, process: subprocess.Popen, port: int) -> None:
    def up() -> bool:
        assert process.poll() is None, operator.stderr()
        return healthz(port) is not None

    wait_for(up, timeout=60, what="the server")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """(DATABASE_URL for the processes, an engine on the same database)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
        engine = make_engine(url)
        yield url, engine
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with postgres_schema(PG_URL) as engine:
        with engine.connect() as conn:
            schema = conn.execute(text("SHOW search_path")).scalar_one()
        yield f"{PG_URL}?options={quote(f'-csearch_path={schema}')}", engine


def make_operator(tmp_path: Path, fake: FakeSlack, database_url: str, engine: Engine, *, items: int) -> Operator:
    (tmp_path / "routing.toml").write_text(ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(tmp_path)),
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url, "DATABASE_URL": database_url, "ROUTING_FILE": str(tmp_path / "routing.toml"),
        "BOT_TIMEZONE": "Asia/Shanghai", "BOT_LOCALE": "en",
        "SLACK_PACING": "off",  # the fake enforces no rate limits: no waiting between posts
    }
    operator = Operator(tmp=tmp_path, fake=fake, engine=engine, env=env)
    export = tmp_path / "export.csv"
    write_export(export, items)
    done = operator.run("import", str(export))
    assert done.returncode == 0, done.stdout + done.stderr
    done = operator.run("digest", "--at", f"{digest_day().isoformat()}T08:30")
    assert done.returncode == 0, done.stdout + done.stderr
    fake.clear()
    return operator


def audit_counts(operator: Operator) -> dict[tuple[str, str], int]:
    with transaction(operator.session_factory()) as session:
        rows = session.exec(
            select(Item.order_no, AuditEntry.action, func.count()).join(Item, Item.id == AuditEntry.item_id)
            .where(AuditEntry.action.in_(["confirm", "dispute"])).group_by(Item.order_no, AuditEntry.action)
        ).all()
    return {(order_no, action): count for order_no, action, count in rows}


def statuses(operator: Operator) -> dict[str, str]:
    with transaction(operator.session_factory()) as session:
        return dict(session.exec(select(Item.order_no, Item.status)).all())


def inbox_done(operator: Operator) -> bool:
    with transaction(operator.session_factory()) as session:
        entries = store.list_entries(session=session)
    return all(e.done_at is not None for e in entries)


def replied(fake: FakeSlack) -> set[str]:
    return {call.hook for call in fake.calls_to("response_url")}


def unfinished_hooks(operator: Operator) -> set[str]:
    """The response_url hooks of the rows not done (right after a kill: the
    rows the restart runs again, and the only ones that may answer twice)."""
    hooks = set()
    with transaction(operator.session_factory()) as session:
        for entry in store.list_entries(session=session):
            if entry.done_at is None:
                body = json.loads(entry.body) if entry.body.startswith("{") else parse_qs(entry.body)
                url = body.get("response_url")
                url = url[0] if isinstance(url, list) else url
                if isinstance(url, str):
                    hooks.add(url.rsplit("/", 1)[1])
    return hooks


def command_for(signer: SlackSigner, fake: FakeSlack, n: int):
    verb = f"confirm {order(n)}" if n % 3 else f"dispute {order(n)} not our mistake {n}"
    return slash_command(signer, text=verb, user_id=owner_of(n), channel_id=CHANNEL, response_url=fake.response_url(f"c{n}"))


def post(port: int, signed) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=signed.body.encode(), headers=signed.headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_http_kill_9_loses_nothing_acknowledged(tmp_path, database):
    url, engine = database
    with FakeSlack(latency=0.03) as fake:  # Slack's round trips keep the workers busy when the kill comes
        operator = make_operator(tmp_path, fake, url, engine, items=210)
        signer = SlackSigner(SIGNING_SECRET)
        first = operator.start("--http", "--port", str(operator.port))
        try:
            wait_serving(operator, first, operator.port)
            with ThreadPoolExecutor(max_workers=16) as senders:
                acks = list(senders.map(lambda n: post(operator.port, command_for(signer, fake, n)), range(200)))
            assert acks == [200] * 200
            before_kill = len(replied(fake))
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            assert before_kill < 200, "the workers had finished before the kill: nothing was in flight"
            unfinished = unfinished_hooks(operator)

            second = operator.start("--http", "--port", str(operator.port))
            wait_serving(operator, second, operator.port)
            later = [post(operator.port, command_for(signer, fake, n)) for n in range(200, 210)]
            assert later == [200] * 10
            wait_for(lambda: len(replied(fake)) == 210 and inbox_done(operator), what="every command applied")
        finally:
            for process in operator_processes(first, locals().get("second")):
                stop(process)

        counts = audit_counts(operator)
        expected = {(order(n), "confirm" if n % 3 else "dispute"): 1 for n in range(210)}
        assert counts == expected  # each applied exactly once
        final = statuses(operator)
        assert all(final[order(n)] == ("confirmed" if n % 3 else "disputed") for n in range(210))
        assert replied(fake) == {f"c{n}" for n in range(210)}  # everyone was answered
        # Each command was dispatched once, but for a row a worker had answered
        # and not yet marked done when the kill came: the restart runs it again
        # (its use case is idempotent, its reply is not). Only those, at most
        # one per worker thread, answer twice.
        per_command = Counter(call.hook for call in fake.calls_to("response_url"))
        twice = {hook for hook, count in per_command.items() if count > 1}
        assert set(per_command.values()) <= {1, 2}
        assert twice <= unfinished and len(twice) <= WORKER_THREADS, (twice, unfinished)
        assert all(per_command[f"c{n}"] == 1 for n in range(200, 210))  # after the restart: once each


def operator_processes(*processes):
    return [p for p in processes if p is not None]


# --- Socket Mode -----------------------------------------------------------------


class SocketSlack:
    """Slack's Socket Mode end: a WebSocket server that says hello, sends
    envelopes and records the acks (Slack docs: "Using Socket Mode")."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.acks: list[dict] = []
        self._connections: list = []
        self._lock = threading.Lock()
        self._server = serve(self._handler, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self, connection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "test"},
                                    "connection_info": {"app_id": "A0TEST"}}))
        with self._lock:
            self._connections.append(connection)
        try:
            for message in connection:
                with self._lock:
                    self.acks.append(json.loads(message))
        except Exception:  # the bot was killed: the connection just ends
            pass

    def connected(self) -> int:
        with self._lock:
            return sum(1 for c in self._connections if c.state.name == "OPEN")

    def send(self, envelope: dict) -> None:
        with self._lock:
            connection = [c for c in self._connections if c.state.name == "OPEN"][-1]
        connection.send(json.dumps(envelope))

    def acked(self) -> set[str]:
        with self._lock:
            return {ack["envelope_id"] for ack in self.acks}

    def close_connections(self) -> None:
        """Slack dropping the WebSocket (the server keeps listening)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def close(self) -> None:
        self._server.shutdown()


def envelopes(fake: FakeSlack, signer_time: float) -> list[dict]:
    """One of each kind, shaped like tests/fixtures/slack-payloads/socket_mode_envelopes.json."""
    commands = [
        {"envelope_id": f"env-cmd-{n}", "type": "slash_commands", "accepts_response_payload": True,
         "payload": {"token": "x", "team_id": "T0TEST", "team_domain": "test", "channel_id": CHANNEL, "channel_name": "general",
                     "user_id": owner_of(n), "user_name": owner_of(n).lower(), "command": "/reject", "text": f"confirm {order(n)}",
                     "api_app_id": "A0TEST", "response_url": fake.response_url(f"s{n}"), "trigger_id": "1.2.x"}}
        for n in range(0, 6)
    ]
    z_message = next(m for m in fake.channel_history(CHANNEL) if "<@U0OWNERZ>" in json.dumps(m["blocks"]))
    event = reaction_event(kind="reaction_added", user="U0OWNERZ", reaction="white_check_mark", channel=CHANNEL, ts=z_message["ts"])
    envelope = {"token": "x", "team_id": "T0TEST", "api_app_id": "A0TEST", "event": event, "type": "event_callback",
                "event_id": "EvSock1", "event_time": int(signer_time), "authorizations": [{"team_id": "T0TEST", "user_id": "UBOT", "is_bot": True}]}
    events = [
        {"envelope_id": "env-ev-1", "type": "events_api", "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": "", "payload": envelope},
        {"envelope_id": "env-ev-2", "type": "events_api", "accepts_response_payload": False, "retry_attempt": 1, "retry_reason": "timeout", "payload": envelope},
    ]
    y_message = next(m for m in fake.channel_history(CHANNEL) if "<@U0OWNERY>" in json.dumps(m["blocks"]))
    button = [  # the last item's: the commands confirm the first ones
        (block["block_id"], element)
        for block in y_message["blocks"] for element in [block.get("accessory"), *(block.get("elements") or [])]
        if isinstance(element, dict) and element.get("action_id") == "item.confirm"
    ][-1]
    click = {"envelope_id": "env-click-1", "type": "interactive", "accepts_response_payload": False, "payload": {
        "type": "block_actions", "user": {"id": "U0OWNERY", "username": "u0ownery", "team_id": "T0TEST"}, "api_app_id": "A0TEST",
        "token": "x", "container": {"type": "message", "message_ts": y_message["ts"], "channel_id": CHANNEL, "is_ephemeral": False},
        "trigger_id": "1.2.y", "team": {"id": "T0TEST", "domain": "test"}, "channel": {"id": CHANNEL, "name": "general"},
        "message": y_message, "response_url": fake.response_url("click"), "state": {"values": {}},
        "actions": [{"action_id": "item.confirm", "block_id": button[0], "value": button[1]["value"], "type": "button",
                     "text": button[1]["text"], "action_ts": f"{signer_time:.6f}"}],
    }}
    return [*commands, *events, click, blank_modal()]


def blank_modal() -> dict:
    """A dispute modal submitted with a blank reason: answered in the ack, never stored."""
    from urllib.parse import parse_qs

    from bot.fakeslack import view_submission

    signed = view_submission(SlackSigner(SIGNING_SECRET), user_id="U0OWNERZ", callback_id="dispute.submit",
                             private_metadata=json.dumps({"item": 1, "channel": CHANNEL}),
                             values={"dispute.reason": {"dispute.reason_input": "  "}})
    payload = json.loads(parse_qs(signed.body)["payload"][0])
    return {"envelope_id": "env-modal-1", "type": "interactive", "accepts_response_payload": True, "payload": payload}


def test_socket_mode_acks_after_storing_and_a_kill_9_after_the_acks_loses_nothing(tmp_path):
    socket_slack = SocketSlack()
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    health_port = free_port()
    try:
        with FakeSlack(latency=0.3, socket_mode_url=socket_slack.url) as fake:  # slow enough that the kill finds work in flight
            operator = make_operator(tmp_path, fake, url, engine, items=20)
            sent = envelopes(fake, time.time())
            clicked = sent[-2]["payload"]["actions"][0]["value"]
            first = operator.start("--health-port", str(health_port))
            try:
                wait_for(lambda: socket_slack.connected() == 1, timeout=60, what="the Socket Mode connection")
                wait_serving(operator, first, health_port)
                assert healthz(health_port)[0] == 200
                for envelope in sent:
                    socket_slack.send(envelope)
                wait_for(lambda: socket_slack.acked() == {e["envelope_id"] for e in sent}, timeout=30, what="the acks")
                [modal_ack] = [a for a in socket_slack.acks if a["envelope_id"] == "env-modal-1"]
                assert modal_ack["payload"]["response_action"] == "errors"  # the modal stays open, with the error
                assert list(modal_ack["payload"]["errors"]) == ["dispute.reason"]
                os.kill(first.pid, signal.SIGKILL)
                first.wait(timeout=10)
                unfinished = unfinished_hooks(operator)
                assert unfinished, "the workers had finished before the kill: nothing was in flight"

                second = operator.start()
                wait_for(lambda: socket_slack.connected() == 1, timeout=60, what="the new connection")
                socket_slack.send({**sent[0], "envelope_id": "env-cmd-later", "payload": {**sent[0]["payload"], "text": f"confirm {order(8)}",
                                                                                         "response_url": fake.response_url("later")}})
                wait_for(lambda: inbox_done(operator) and {"s0", "s1", "s2", "s3", "s4", "s5", "later"} <= replied(fake), what="every envelope applied")
            finally:
                for process in operator_processes(first, locals().get("second")):
                    stop(process)

            counts = audit_counts(operator)
            final = statuses(operator)
            for n in (0, 1, 2, 3, 4, 5, 8):  # the commands, and the one after the restart
                assert final[order(n)] == "confirmed"
            for n in range(1, 20, 2):  # Z's ✅ confirms all of Z's items, once despite Slack's retry
                assert final[order(n)] == "confirmed" and counts[(order(n), "confirm")] == 1
            assert all(count == 1 for count in counts.values())
            per_command = Counter(call.hook for call in fake.calls_to("response_url"))
            twice = {hook for hook, count in per_command.items() if count > 1}  # answered, not yet marked done at the kill
            assert set(per_command.values()) <= {1, 2} and twice <= unfinished and len(twice) <= WORKER_THREADS, (per_command, unfinished)
            assert per_command["later"] == 1
            with transaction(operator.session_factory()) as session:
                stored = store.list_entries(session=session)
            assert [e.dedup_key for e in stored].count("event:EvSock1") == 1
            assert len(stored) == len(sent) - 2 + 1  # the retry and the blank modal stored nothing; one envelope after the restart
            with transaction(operator.session_factory()) as session:  # the button's item, confirmed through the button
                button_item = session.get(Item, int(clicked))
                surfaces = session.exec(select(AuditEntry.surface).where(AuditEntry.item_id == button_item.id, AuditEntry.action == "confirm")).all()
            assert button_item.status == "confirmed" and surfaces == ["button"]
    finally:
        socket_slack.close()
        engine.dispose()


# --- stopping --------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("mode", ["http", "socket", "uv run"])
def test_a_signal_stops_run_cleanly(tmp_path, signum, mode):
    socket_slack = SocketSlack() if mode == "socket" else None
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    try:
        with FakeSlack(socket_mode_url=socket_slack.url if socket_slack else None) as fake:
            operator = make_operator(tmp_path, fake, url, engine, items=4)
            if mode == "uv run":
                uv = BIN / "uv" if (BIN / "uv").exists() else None
                import shutil

                uv = uv or shutil.which("uv")
                if uv is None:
                    pytest.skip("uv is not on PATH")
                command = [str(uv), "run", "--no-sync", "--project", str(REPO), "rejectbot", "run", "--http", "--port", str(operator.port)]
                process = operator.start(command=command)
            elif mode == "http":
                process = operator.start("--http", "--port", str(operator.port))
            else:
                process = operator.start("--health-port", str(operator.port))
            try:
                wait_serving(operator, process, operator.port)
                if socket_slack:
                    wait_for(lambda: socket_slack.connected() == 1, timeout=60, what="the Socket Mode connection")
                if mode != "uv run":  # the ticker has run: health says so, with the times
                    wait_for(lambda: healthz(operator.port)[0] == 200, timeout=30, what="a healthy process")
                    assert healthz(operator.port)[1].startswith("ok\nlast digest: ")
                descendants = children_of(process.pid)
                process.send_signal(signum)
                assert process.wait(timeout=15) == 0, operator.stderr()
            finally:
                stop(process)
            err = operator.stderr()
            assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
            wait_for(lambda: not any(alive(pid) for pid in descendants), timeout=10, what="no process left")
            assert healthz(operator.port) is None  # nothing listens any more
    finally:
        if socket_slack:
            socket_slack.close()
        engine.dispose()


def test_a_signal_during_start_up_stops_run_cleanly(tmp_path):
    # Before: the handlers were installed after the schema upgrade and
    # create_app, so a SIGINT there printed a KeyboardInterrupt traceback.
    import sqlite3

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    try:
        with FakeSlack() as fake:
            operator = make_operator(tmp_path, fake, url, engine, items=2)
            engine.dispose()
            holder = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another process writing: start-up's upgrade waits for it
            try:
                process = operator.start("--http", "--port", str(operator.port))
                try:
                    wait_for(lambda: "checking the database schema" in operator.stderr(), timeout=60, what="start-up")
                    process.send_signal(signal.SIGINT)
                    holder.execute("ROLLBACK")
                    assert process.wait(timeout=30) == 0, operator.stderr()
                finally:
                    stop(process)
            finally:
                holder.close()
            err = operator.stderr()
            assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
            assert healthz(operator.port) is None  # it never served
    finally:
        engine.dispose()


def test_a_refused_app_token_is_exit_2_with_a_message_not_a_traceback(tmp_path):
    socket_slack = SocketSlack()
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    try:
        with FakeSlack(socket_mode_url=socket_slack.url) as fake:
            operator = make_operator(tmp_path, fake, url, engine, items=2)
            fake.fail_next("apps.connections.open", error="invalid_auth", times=5)  # the app-level token was revoked
            process = operator.start()
            try:
                assert process.wait(timeout=60) == 2, operator.stderr()
            finally:
                stop(process)
            err = operator.stderr()
            assert "SLACK_APP_TOKEN was refused by Slack (invalid_auth)" in err
            assert "Traceback" not in err, err
            assert socket_slack.connected() == 0
    finally:
        socket_slack.close()
        engine.dispose()


def test_sigterm_during_a_hung_tick_exits_within_the_grace(tmp_path):
    # Before: scheduler.shutdown(wait=False) left the tick running and the
    # interpreter joined its thread at exit: run lived as long as the tick.
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with postgres_schema(PG_URL) as engine:
        with engine.connect() as conn:
            schema = conn.execute(text("SHOW search_path")).scalar_one()
        url = f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
        with FakeSlack() as fake:
            operator = make_operator(tmp_path, fake, url, engine, items=2)
            with engine.connect() as holder:
                holder.execute(text("LOCK TABLE item, digest_message, follow_up IN ACCESS EXCLUSIVE MODE"))  # the tick hangs on it
                process = operator.start("--http", "--port", str(operator.port))
                try:
                    wait_serving(operator, process, operator.port)

                    def tick_stuck() -> bool:
                        with engine.connect() as conn:
                            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                                     "AND datname = current_database() AND pid <> pg_backend_pid()")).scalar_one() > 0

                    wait_for(tick_stuck, timeout=60, what="the first tick to wait on the lock")
                    process.send_signal(signal.SIGTERM)
                    assert process.wait(timeout=15) == 0, operator.stderr()  # the whole stop may take 6 s (STOP_GRACE)
                finally:
                    stop(process)
                    holder.rollback()
            err = operator.stderr()
            assert "Traceback" not in err, err
            assert "is cut short" in err
