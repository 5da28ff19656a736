"""Each person in their own language: texts to one person (ephemeral
replies, DMs, modals) follow their Slack locale (``users.info`` with
``include_locale``, remembered for a day); channel posts stay in BOT_LOCALE
(``settings.locale``: en here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.importing import parse_export
from bot.fakeslack import block_actions, slash_command
from bot.gateway import Backoff, SlackGateway, make_client
from bot.i18n import Catalog
from bot.services import calendar
from bot.services.deps import Deps
from bot.services.locale import FAILURE_TTL
from storage.db import transaction
from storage.imports import insert_records
from storage.models import Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"
Y, Z, CS_LEAD = "U0OWNERY", "U0OWNERZ", "U0CSLEAD"
Z_ITEM = "SO20261126000001"  # small, Hangzhou: Z's
ZH, EN = Catalog("zh_CN"), Catalog("en")


def locale_lookups(fake) -> list[str]:
    """Whose locale was asked for (every users.info call asked for it)."""
    calls = fake.calls_to("users.info")
    assert all(c.params.get("include_locale") in (True, "1", "true", 1) for c in calls)
    return [c.params["user"] for c in calls]


def command(bot, signer, fake, text: str, user: str):
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    return bot.app.dispatch(request.to_bolt())


def replies(fake) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("response_url")]


# --- which catalog, and how often Slack is asked -----------------------------------------


@pytest.mark.parametrize(("slack_locale", "ours"), [("zh-CN", "zh_CN"), ("zh-TW", "zh_CN"), ("en-US", "en"), ("ja-JP", "en")])
def test_a_person_s_catalog_follows_their_slack_locale(bot, fake_slack, slack_locale, ours) -> None:
    fake_slack.set_user("U0PERSON", locale=slack_locale)
    assert bot.services.deps.catalog_for("U0PERSON").locale == ours
    assert locale_lookups(fake_slack) == ["U0PERSON"]


def test_slack_is_asked_once_a_day_per_person(bot, fake_slack, clock) -> None:
    fake_slack.set_user(Y, locale="zh-CN")
    fake_slack.set_user(Z, locale="en-US")
    deps = bot.services.deps
    for _ in range(3):
        assert deps.catalog_for(Y).locale == "zh_CN"
        assert deps.catalog_for(Z).locale == "en"
    assert sorted(locale_lookups(fake_slack)) == [Y, Z]
    fake_slack.set_user(Y, locale="en-GB")  # changed in Slack: read again once the day is over
    clock.advance(timedelta(hours=23, minutes=59))
    assert deps.catalog_for(Y).locale == "zh_CN"
    assert len(locale_lookups(fake_slack)) == 2
    clock.advance(timedelta(minutes=1))
    assert deps.catalog_for(Y).locale == "en"
    assert locale_lookups(fake_slack)[2:] == [Y]


def test_nobody_in_particular_reads_bot_locale_without_asking_slack(bot, fake_slack) -> None:
    deps = bot.services.deps
    assert deps.catalog_for(None) is deps.catalog
    assert deps.catalog_for("system") is deps.catalog
    assert locale_lookups(fake_slack) == []


@pytest.mark.parametrize("failure", [
    {"error": "internal_error", "status": 500},  # Slack's 5xx
    {"error": "missing_scope", "status": 200, "extra": {"needed": "users:read"}},
])
def test_a_slack_failure_writes_in_bot_locale_for_a_few_minutes_then_asks_again(bot, fake_slack, clock, failure) -> None:
    fake_slack.set_user(Y, locale="zh-CN")
    fake_slack.fail_next("users.info", **failure)
    deps = bot.services.deps
    assert deps.catalog_for(Y) is deps.catalog  # en: BOT_LOCALE
    assert deps.catalog_for(Y) is deps.catalog  # the failure is remembered: a failing Slack is not asked for every text
    assert locale_lookups(fake_slack) == [Y]
    clock.advance(FAILURE_TTL)
    assert deps.catalog_for(Y).locale == "zh_CN"  # asked again minutes later, not a day later
    assert locale_lookups(fake_slack) == [Y, Y]


def test_someone_slack_does_not_know_reads_bot_locale_and_is_not_asked_again_that_day(bot, fake_slack, clock) -> None:
    deps = bot.services.deps
    assert deps.catalog_for("U0NOBODY") is deps.catalog
    clock.advance(FAILURE_TTL)
    assert deps.catalog_for("U0NOBODY") is deps.catalog
    assert [c.error for c in fake_slack.calls_to("users.info")] == ["user_not_found"]


def test_a_timeout_writes_in_bot_locale(bot, fake_slack, session_factory, clock) -> None:
    """Slack does not answer in time: the text goes out in BOT_LOCALE at once
    (no retry on the hot path); texts in the next minutes too; then Slack is asked again."""
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url, timeout=1), backoff=Backoff(first=0.01))
    deps = Deps(holder=bot.services.deps.holder, session_factory=session_factory, notifier=gateway, clock=clock, catalog=EN, timezone=SHANGHAI)
    fake_slack.set_user(Y, locale="zh-CN")
    fake_slack.hang_next("users.info", 2)
    assert deps.catalog_for(Y) is EN
    assert deps.catalog_for(Y) is EN  # remembered: a slow Slack is not waited for again on every text
    clock.advance(FAILURE_TTL)
    assert deps.catalog_for(Y).locale == "zh_CN"


def test_a_slack_failure_does_not_fail_the_request(bot, signer, fake_slack) -> None:
    """``/reject help`` while users.info fails: answered, in BOT_LOCALE."""
    fake_slack.set_user(Y, locale="zh-CN")
    fake_slack.fail_next("users.info", "internal_error", status=500)
    response = command(bot, signer, fake_slack, "help", Y)
    assert response.status == 200
    (text,) = replies(fake_slack)
    assert text.startswith(EN.t("commands.help"))


# --- what people see --------------------------------------------------------------------------


def test_help_answers_each_person_in_their_language_with_every_chinese_word(bot, signer, fake_slack) -> None:
    fake_slack.set_user(Y, locale="zh-CN")
    fake_slack.set_user(Z, locale="en-US")
    command(bot, signer, fake_slack, "帮助", Y)
    command(bot, signer, fake_slack, "help", Z)
    chinese, english = replies(fake_slack)
    assert chinese.startswith(ZH.t("commands.help")) and "每个命令都可用中文" in chinese
    assert english.startswith(EN.t("commands.help")) and "Every command has a Chinese word too" in english
    for en, zh in [("confirm", "确认"), ("dispute", "申诉"), ("fix", "整改"), ("status", "状态"), ("help", "帮助"),
                   ("uphold", "申诉成立"), ("overrule", "申诉驳回"), ("void", "作废"), ("next", "下一步"), ("month", "本月")]:
        assert f"`{en}` {zh}" in english and f"`{en}` {zh}" in chinese


def test_a_dm_goes_in_the_person_s_language_while_the_channel_post_stays_in_bot_locale(bot, fake_slack, clock) -> None:
    """The calendar pause tells the CS lead by DM and the channel by a post: one text, two languages."""
    fake_slack.set_user(CS_LEAD, locale="zh-CN")
    clock.set(datetime(2026, 11, 27, 9, 30, tzinfo=SHANGHAI))
    calendar.pause(bot.services.deps, now=clock.now(), year=2026)
    posts = {c.params["channel"]: c.params["text"] for c in fake_slack.calls_to("chat.postMessage")}
    assert posts[CHANNEL] == EN.t("calendar.paused", year=2026, day="27 Nov 2026")
    (dm,) = [text for channel, text in posts.items() if channel != CHANNEL]
    assert dm == ZH.t("calendar.paused", year=2026, day="2026年11月27日")


def seed_and_post_digest(bot, session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    bot.services.post_daily_digest()


def item_of(session_factory, order: str) -> Item:
    with transaction(session_factory) as session:
        from sqlmodel import select
        return session.exec(select(Item).where(Item.order_no == order)).one()


def click_dispute(bot, signer, fake, item: Item, user: str):
    (ts,) = [ts for (channel, ts), m in fake.messages.items()
             if channel == CHANNEL and any(b.get("block_id") == f"item-{item.id}" for b in m["blocks"])]
    request = block_actions(
        signer, user_id=user, action_id="item.dispute", value=str(item.id), block_id=f"act-{item.id}", channel_id=CHANNEL,
        message_ts=ts, message=fake.messages.get((CHANNEL, ts)), response_url=fake.response_url("click", channel=CHANNEL, ts=ts),
    )
    return bot.app.dispatch(request.to_bolt())


def test_a_modal_and_the_answer_to_it_in_the_person_s_language_the_digest_in_bot_locale(bot, signer, fake_slack, session_factory, clock) -> None:
    fake_slack.set_user(Z, locale="zh-CN")
    seed_and_post_digest(bot, session_factory, clock)
    digest = [c.params["text"] for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL]
    assert digest and all("误拒" not in text for text in digest)  # the channel's digest: English
    fake_slack.clear()
    item = item_of(session_factory, Z_ITEM)
    click_dispute(bot, signer, fake_slack, item, Z)
    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error is None
    view = opened.params["view"]
    assert view["title"]["text"] == ZH.t("modals.dispute_title")
    assert view["submit"]["text"] == ZH.t("modals.dispute_submit")
    # Y, in English, clicking the same button is refused in English (not their item)
    fake_slack.set_user(Y, locale="en-US")
    click_dispute(bot, signer, fake_slack, item, Y)
    assert len(fake_slack.calls_to("views.open")) == 1
    (refusal,) = [c.params["text"] for c in fake_slack.calls_to("response_url") + fake_slack.calls_to("chat.postEphemeral")]
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in refusal.replace("小件配送", "").replace(Z_ITEM, ""))


def test_a_dispute_answers_the_owner_and_dms_the_agent_each_in_their_language_the_thread_in_bot_locale(
    bot, signer, fake_slack, session_factory, clock,
) -> None:
    agent = "U0CS0002"  # 陈静, the callback agent of Z's item
    fake_slack.set_user(agent, locale="zh-CN")
    fake_slack.set_user(Z, locale="en-US")
    seed_and_post_digest(bot, session_factory, clock)
    fake_slack.clear()

    command(bot, signer, fake_slack, f"dispute {Z_ITEM} customer rescheduled", Z)

    posts = [c.params for c in fake_slack.calls_to("chat.postMessage") if c.error is None]
    (dm,) = [p["text"] for p in posts if p["channel"] != CHANNEL]
    (in_thread,) = [p["text"] for p in posts if p["channel"] == CHANNEL]
    assert dm.startswith("待重新核实的申诉：")  # the agent's DM: Chinese
    assert in_thread.startswith("❓ *") and "Customer service (<@U0CS0002>) will call the customer back" in in_thread  # the channel: BOT_LOCALE
    (answer,) = replies(fake_slack)
    assert Z_ITEM in answer and "申诉" not in answer  # Z's private answer: English
