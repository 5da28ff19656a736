"""The digest against a fake Slack that enforces Slack's rate limits
(``FakeSlack(rate_limits=True)``: 3 chat.postMessage per 3 s per channel, 429
with Retry-After beyond): the app from ``create_app`` paces its posts, so a
digest of more than 3 messages in one channel is never refused. How close to
the limit it runs is measured in ``bench/bench_digest.py``, not here."""

from __future__ import annotations

import dataclasses
import time
from zoneinfo import ZoneInfo

from bot.app import create_app
from bot.core.importing import parse_export
from bot.fakeslack import FakeSlack
from bot.gateway import make_client
from storage.db import transaction
from storage.imports import insert_records

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL = "C0LOGISTICS"
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"


def seed(session_factory, clock, *, per_owner: int) -> None:
    rows = [f"SO2026112610{i:04d},2026-11-26,南京分公司,大件,客户已收货,张先生 13812341234,王丽,2026-11-26 16:00,已签收" for i in range(per_owner)]
    rows += [f"SO2026112620{i:04d},2026-11-26,杭州分公司,小件,客户已收货,李女士 13912341234,王丽,2026-11-26 16:00,已签收" for i in range(per_owner)]
    records = parse_export("\n".join([HEADER, *rows]).encode(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def test_a_paced_digest_of_four_messages_in_one_channel_gets_no_429(settings, session_factory, clock, routing) -> None:
    seed(session_factory, clock, per_owner=30)  # two pages per owner: four messages in the channel, threads included
    offset = clock.now().timestamp() - time.time()  # Slack's time is the app's, running at the real pace
    with FakeSlack(rate_limits=True, clock=lambda: time.time() + offset) as fake:
        bot = create_app(
            dataclasses.replace(settings, slack_pacing=True), client=make_client("xoxb-test", fake.api_url),
            session_factory=session_factory, clock=clock, routing=routing, process_before_response=True,
        )
        outcome = bot.services.post_daily_digest()
        posts = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]

    assert outcome.state == "posted" and outcome.problem is None and outcome.messages == 4
    assert len(posts) == 4 and sum(1 for c in posts if c.params.get("thread_ts")) == 2  # continuation pages in the threads
    assert [c for c in fake.calls if c.status == 429 or c.error == "ratelimited"] == []
