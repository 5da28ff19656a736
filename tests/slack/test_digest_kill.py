"""Kill -9 the digest mid-run, again and again: no page is ever posted twice,
and no item is left off.

Each trial starts ``rejectbot digest --at …`` (the CLI's ``main``, in a process
forked from the test so that it does not pay Python's start-up each time) and
kills it with SIGKILL once this run has sent k page posts (k random, 1–3),
sometimes at once — while the fake holds the answer to a post it has already
applied, the crash window — and sometimes a little later. The next trial is the
rerun (16 minutes later, when the killed run's leases have run out: the day's,
10 minutes, and the page it was posting, 15); the last run
of each day is a real ``rejectbot digest`` subprocess that runs to the end.
After each day: every planned page is in the channel exactly once (by the key in
its metadata) under the ts the database holds, and every planned item is shown
on exactly one message.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import PG_SKIP, PG_URL, postgres_schema
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.cli import main
from bot.core.importing import parse_export
from bot.fakeslack import FakeSlack
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.imports import insert_records
from storage.models import DigestMessage, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROUTING = Path(__file__).resolve().parents[2] / "routing.example.toml"
CHANNEL = "C0LOGISTICS"
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"
KILLS = 30
PER_OWNER = 230  # 10 pages per owner, 20 pages a day
DAYS = [date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]


def export_for(day: date) -> bytes:
    rejected = (day - timedelta(days=1)).isoformat()
    stamp = day.strftime("%Y%m%d")
    rows = [
        f"SO{stamp}{kind}{i:05d},{rejected},南京分公司,{label},客户已收货,张先生 13812341234,王丽,{rejected} 16:00,已签收"
        for kind, label in (("1", "大件"), ("2", "小件"))
        for i in range(PER_OWNER)
    ]
    return "\n".join([HEADER, *rows]).encode()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[tuple[Engine, str]]:
    """A migrated database and the DATABASE_URL a separate process uses for it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
        engine = make_engine(url)
        upgrade(engine)
        yield engine, url
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with postgres_schema(PG_URL) as engine:
        upgrade(engine)
        with engine.connect() as conn:
            schema = conn.execute(text("SHOW search_path")).scalar_one()
        yield engine, f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"


class Operator:
    """Runs ``rejectbot digest --at`` the way cron or an operator would."""

    def __init__(self, tmp_path: Path, fake: FakeSlack, database_url: str) -> None:
        (tmp_path / "routing.toml").write_text(ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
        self.cwd = tmp_path
        self.env = {
            "PATH": os.environ.get("PATH", ""), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": fake.api_url, "DATABASE_URL": database_url, "ROUTING_FILE": str(tmp_path / "routing.toml"),
            "BOT_TIMEZONE": "Asia/Shanghai", "BOT_LOCALE": "en",
            "SLACK_PACING": "off",  # the fake enforces no rate limits: no waiting between posts
        }

    def fork(self, at: datetime) -> int:
        """The CLI's main in a forked process; its pid."""
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 3
            try:
                os.chdir(self.cwd)
                os.environ.clear()
                os.environ.update(self.env)
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
                code = main(["digest", "--at", at.isoformat()])
            finally:
                os._exit(code)
        return pid

    def run(self, at: datetime) -> subprocess.CompletedProcess:
        """A real ``rejectbot digest`` subprocess, run to its end."""
        command = [str(Path(sys.executable).with_name("rejectbot")), "digest", "--at", at.isoformat()]
        return subprocess.run(command, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=120)


def page_posts(fake: FakeSlack) -> int:
    return sum(1 for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL)


def check_day(fake: FakeSlack, session_factory, day: date) -> tuple[int, int, int]:
    """``day``'s digest as the channel shows it: (duplicate pages, items
    lost, items shown elsewhere than on their one stored message)."""
    with transaction(session_factory) as session:
        pages = session.exec(select(DigestMessage).where(DigestMessage.digest_day == day)).all()
        planned = session.exec(
            select(Item.id, Item.digest_message_id, Item.deadline).join(DigestMessage, Item.digest_message_id == DigestMessage.id)
            .where(DigestMessage.digest_day == day)
        ).all()
    assert len(pages) == 2 * 10 and len(planned) == 2 * PER_OWNER
    in_channel = [m for (channel, _), m in fake.messages.items() if channel == CHANNEL]
    prefix = f"digest:{day.isoformat()}:"
    keys = Counter(((m.get("metadata") or {}).get("event_payload") or {}).get("key") for m in in_channel)
    duplicates = sum(n - 1 for key, n in keys.items() if key and key.startswith(prefix))
    ts_by_key = {m["metadata"]["event_payload"]["key"]: m["ts"] for m in in_channel if m.get("metadata")}
    assert all(p.ts and ts_by_key.get(f"{prefix}{p.id}") == p.ts for p in pages)  # each stored ts is its message's
    shown_on: dict[int, list[str]] = {}
    for m in in_channel:
        for b in m["blocks"]:
            if b.get("block_id", "").startswith("item-"):
                shown_on.setdefault(int(b["block_id"].removeprefix("item-")), []).append(m["ts"])
    ts_of = {p.id: p.ts for p in pages}
    lost = sum(1 for item_id, _, _ in planned if not shown_on.get(item_id))
    misplaced = sum(1 for item_id, message_id, _ in planned if shown_on.get(item_id, [ts_of[message_id]]) != [ts_of[message_id]])
    assert all(deadline is not None for _, _, deadline in planned)  # every shown item got its deadline
    return duplicates, lost, misplaced


def test_thirty_kills_mid_digest_double_no_page_and_lose_no_item(database, tmp_path) -> None:
    engine, url = database
    rng = random.Random(6)
    session_factory = make_session_factory(engine)
    now = {"at": datetime(2026, 11, 27, 8, 30, tzinfo=SHANGHAI)}
    with FakeSlack(clock=lambda: now["at"].timestamp()) as fake:
        fake.hang_next("chat.postMessage", 0.03, applied=True, times=1_000_000)  # each post: applied, answered 30 ms later
        operator = Operator(tmp_path, fake, url)
        kills, duplicates, lost, misplaced, runs = 0, 0, 0, 0, 0
        for day in DAYS:
            if kills >= KILLS:
                break
            with transaction(session_factory) as session:
                records = parse_export(export_for(day), filename="callbacks.csv").records
                insert_records(session=session, records=records, batch_id=None, now=now["at"], timezone=SHANGHAI)
            now["at"] = datetime.combine(day, datetime.min.time(), SHANGHAI).replace(hour=8, minute=30)
            while kills < KILLS:
                engine.dispose()  # no connection crosses the fork
                before = page_posts(fake)
                pid = operator.fork(now["at"])
                runs += 1
                k = rng.randint(1, 3)
                finished = False
                give_up = time.monotonic() + 60
                while page_posts(fake) - before < k and time.monotonic() < give_up:
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        finished = True
                        break
                    time.sleep(0.002)
                if not finished:
                    time.sleep(rng.choice([0.0, 0.0, rng.uniform(0.0, 0.05)]))  # at once: mid-post; or a little later
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    kills += 1
                now["at"] += timedelta(minutes=16)  # the killed run's leases have run out (its page's: 15 min)
                if finished:
                    break
            result = operator.run(now["at"])  # the rerun that finishes the day
            runs += 1
            assert result.returncode == 0, result.stderr
            figures = check_day(fake, session_factory, day)
            duplicates, lost, misplaced = duplicates + figures[0], lost + figures[1], misplaced + figures[2]
    print(f"\n[{engine.dialect.name}] kill -9 trials: {kills} kills in {runs} runs; duplicate pages: {duplicates}; items lost: {lost}; items shown twice: {misplaced}")
    assert kills == KILLS
    assert (duplicates, lost, misplaced) == (0, 0, 0)
