"""Customers' data in the channel, end to end (issue 7, point 6): a 2,000-row
day whose callback notes name the customer and give phone numbers the way
agents write them is imported, the digest posted through the real app into
our fake Slack, a dispute and its overrule quote the customer, a fix names
them — and no channel message, page or thread reply shows a full name or
phone number. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

from sqlmodel import select

from bot.core.importing import parse_export
from bot.fakeslack import slash_command
from storage.db import transaction
from storage.imports import insert_records
from storage.models import Item

CHANNEL = "C0LOGISTICS"
Y, CS = "U0OWNERY", "U0CS0001"
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"
# (customer cell, note) as agents write them; {n} makes each phone unique.
ROWS = [
    ("王伟 1381234{n:04d}", "客户王伟称已收货"),
    ("张三丰 1391234{n:04d}", "张三丰先生(电话1391234{n:04d})"),
    ("李娜 1371234{n:04d}", "tel1371234{n:04d}"),
    ("赵敏 1361234{n:04d}", "136.1234.{n:04d}"),
    ("陈静怡 1501234{n:04d}", "陈静怡女士说送货员没敲门，电话150-1234-{n:04d}"),
    ("John Smith +86 188 1234 {n:04d}", "Customer John Smith says it arrived, call +86 188 1234 {n:04d}"),
]
NAMES = ["王伟", "张三丰", "三丰", "李娜", "赵敏", "陈静怡", "静怡", "John", "Smith"]


def day_csv(count: int) -> bytes:
    lines = [HEADER]
    for n in range(count):
        customer, note = ROWS[n % len(ROWS)]
        lines.append(f"SO2026112680{n:04d},2026-11-26,南京分公司,大件,客户已收货,{customer.format(n=n)},王丽,2026-11-26 16:00,\"{note.format(n=n)}\"")
    return "\n".join(lines).encode()


def channel_text(fake_slack) -> str:
    """Every message in the channel and its threads, as it stands now."""
    return json.dumps([m for (c, _), m in fake_slack.messages.items() if c == CHANNEL], ensure_ascii=False)


def assert_nothing_personal(text: str, count: int) -> None:
    for name in NAMES:
        assert name not in text, name
    digits = "".join(ch if ch.isdigit() else " " for ch in re.sub(r"(?<=\d)[ .\-()]+(?=\d)", "", text))
    for n in range(count):
        for prefix in ("1381234", "1391234", "1371234", "1361234", "1501234", "1881234"):
            assert f"{prefix}{n:04d}" not in digits


def test_a_2000_row_day_shows_no_customer_name_or_phone_in_the_channel(bot, session_factory, clock, fake_slack, signer) -> None:
    records = parse_export(day_csv(2000), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=clock.now().tzinfo)

    bot.services.post_daily_digest()

    text = channel_text(fake_slack)
    assert text.count('"ts"') >= 80  # the whole day, over many messages
    assert "王*" in text and "张先生" in text and "138****" in text
    assert "SO20261126800001" in text  # order numbers stay whole
    assert_nothing_personal(text, 2000)

    def command(text: str, user: str):
        request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake_slack.response_url())
        return bot.app.dispatch(request.to_bolt())

    # The owner disputes quoting the customer; CS overrules with evidence naming them; the owner records a fix.
    assert command("dispute SO20261126800000 客户王伟 13812340000 说货没到，王伟先生有签收照片", Y).status == 200
    bot.services.send_pending_reviews()
    assert command("overrule SO20261126800000 已致电王伟（138-1234-0000），确认当天已收货", CS).status == 200
    assert command("fix SO20261126800000 已联系王伟先生 tel13812340000 重新配送", Y).status == 200
    bot.services.refresh_stale_messages()

    with transaction(session_factory) as session:
        item = session.exec(select(Item).where(Item.order_no == "SO20261126800000")).one()
    assert item.status == "fixed"  # everything above happened
    text = channel_text(fake_slack)
    replies = [c.params.get("text", "") for c in fake_slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    quoting = [r for r in replies if "SO20261126800000" in r and "138****0000" in r]
    assert len(quoting) == 2  # the dispute's reply and the overrule's, each quoting the customer, masked
    assert all("王*" in r for r in quoting)
    assert_nothing_personal(text + json.dumps(replies, ensure_ascii=False), 2000)


def test_status_masks_the_note_for_others_and_says_when_retention_masked_a_record(bot, session_factory, clock, fake_slack, signer) -> None:
    from datetime import timedelta

    from bot.services.retention import mask_expired

    records = parse_export(day_csv(2), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=clock.now().tzinfo)
    bot.services.post_daily_digest()

    def status(order: str, user: str) -> str:
        fake_slack.clear()
        request = slash_command(signer, text=f"status {order}", user_id=user, channel_id=CHANNEL, response_url=fake_slack.response_url())
        assert bot.app.dispatch(request.to_bolt()).status == 200
        (reply,) = [c.params["text"] for c in fake_slack.calls_to("response_url")]
        return reply

    # Someone who is neither CS nor the owner's side: the note is masked like the customer.
    other = status("SO20261126800001", "U0OWNERZ")
    assert "张先生(电话139****0001)" in other and "张三丰" not in other and "13912340001" not in other
    assert "张三丰先生(电话13912340001)" in status("SO20261126800001", CS)  # CS sees the record in full

    # A record closed over a year ago: masked in the database, and the status says so.
    with transaction(session_factory) as session:
        item = session.exec(select(Item).where(Item.order_no == "SO20261126800000")).one()
        item.status, item.updated_at = "withdrawn", clock.now() - timedelta(days=400)
    assert mask_expired(bot.services.deps).masked == 1
    reply = status("SO20261126800000", CS)
    assert "王* 138****0000" in reply and "客户王*称已收货" in reply and "王伟" not in reply
    day = clock.now().astimezone(bot.services.deps.timezone).date().isoformat()
    assert bot.services.catalog.t("privacy.masked_after_retention", day=day, days=365) in reply
