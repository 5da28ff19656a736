"""The digest when Slack misbehaves, when the bot is down, and when it posts
late: against the fake Slack's fault injection, on SQLite and PostgreSQL.

- 429 with Retry-After, 500 before and after Slack applied the post, and
  timeouts: the digest completes, nothing doubled, every item shown once.
- A page Slack keeps refusing stops nothing else; the CS lead hears once.
- The "digest missing" warning is scheduled in Slack (no metadata), deleted
  when the digest is posted, and delivered by Slack when the bot is down.
- Each page's deadline gives its owner a full window from when it appeared.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.client import RemoteDisconnected
from urllib.error import URLError
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.state import RetryState
from sqlmodel import select

from bot.app import create_app
from bot.core.importing import parse_export
from bot.gateway import Backoff, SafeConnectionErrorRetryHandler, SlackGateway, SlackUnavailable, is_ambiguous, make_client
from storage import queries as q
from storage.db import transaction
from storage.imports import insert_records
from storage.models import DigestMessage, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL, CS_LEAD, LEAD_DM = "C0LOGISTICS", "U0CSLEAD", "DU0CSLEAD"
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def seed(session_factory, clock, *, large: int = 60, small: int = 60, unrouted: int = 2) -> None:
    """Items for both owners (小件 in 杭州 is Z's) and a few no owner covers (小件 in 上海)."""
    rows = [f"SO2026112610{i:04d},2026-11-26,南京分公司,大件,客户已收货,张先生 13812341234,王丽,2026-11-26 16:00,已签收" for i in range(large)]
    rows += [f"SO2026112620{i:04d},2026-11-26,杭州分公司,小件,客户已收货,李女士 13912341234,王丽,2026-11-26 16:00,已签收" for i in range(small)]
    rows += [f"SO2026112630{i:04d},2026-11-26,上海分公司,小件,客户已收货,王先生 13712341234,王丽,2026-11-26 16:00,已签收" for i in range(unrouted)]
    records = parse_export("\n".join([HEADER, *rows]).encode(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def pages(session_factory) -> list[DigestMessage]:
    with transaction(session_factory) as session:
        return list(session.exec(select(DigestMessage).order_by(DigestMessage.id)).all())


def items(session_factory) -> list[Item]:
    with transaction(session_factory) as session:
        return list(session.exec(select(Item).order_by(Item.id)).all())


def keyed(fake, channel: str) -> Counter:
    """How many messages in ``channel`` carry each side-effect key."""
    return Counter(
        ((m.get("metadata") or {}).get("event_payload") or {}).get("key")
        for (c, _), m in fake.messages.items() if c == channel and m.get("metadata")
    )


def assert_everything_shown_once(fake, session_factory) -> None:
    """Each page in the channel once, under its stored ts; each routed item on exactly its page."""
    stored = pages(session_factory)
    counts = keyed(fake, CHANNEL)
    assert sorted(counts.values()) == [1] * len(stored), counts
    assert len([1 for (c, _) in fake.messages if c == CHANNEL]) == len(stored)
    ts_of = {p.id: p.ts for p in stored}
    for page in stored:
        assert counts[f"digest:{page.digest_day}:{page.id}"] == 1
    shown: dict[int, list[str]] = {}
    for (c, ts), m in fake.messages.items():
        if c == CHANNEL:
            for b in m["blocks"]:
                if b.get("block_id", "").startswith("item-"):
                    shown.setdefault(int(b["block_id"][5:]), []).append(ts)
    routed = [i for i in items(session_factory) if i.digest_message_id is not None]
    assert routed and all(shown.get(i.id) == [ts_of[i.digest_message_id]] for i in routed)


def lead_dms(fake) -> list[dict]:
    return [m for (c, _), m in fake.messages.items() if c == LEAD_DM]


# --- Slack failing -----------------------------------------------------------------------


@pytest.fixture
def impatient_bot(settings, fake_slack, session_factory, clock, routing):
    """The app with a one-second client timeout, so that the fake's hangs time out quickly."""
    return create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url, timeout=1), session_factory=session_factory,
        clock=clock, routing=routing, process_before_response=True,
    )


def test_429_500s_before_and_after_applying_and_timeouts_double_nothing_and_lose_nothing(impatient_bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)  # Y's first page: wait and repeat
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, applied=True)  # posted, answered 500
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500)  # not posted
    fake_slack.hang_next("chat.postMessage", 1.5, applied=True)  # posted; the answer is too late
    fake_slack.hang_next("chat.postMessage", 1.5, applied=False)  # not posted; the answer is too late

    outcome = impatient_bot.services.post_daily_digest()

    assert outcome.problem is None and outcome.state == "posted"
    posts = fake_slack.calls_to("chat.postMessage")
    assert [(c.status, c.applied) for c in posts[:3]] == [(429, False), (500, True), (500, False)]  # 429 waited out and repeated
    assert any(c.applied and c.status == 500 for c in posts) and any(c.delay for c in posts)
    assert fake_slack.calls_to("conversations.history") or fake_slack.calls_to("conversations.replies")  # looked before reposting
    assert all(c.params.get("include_all_metadata") for c in [*fake_slack.calls_to("conversations.history"), *fake_slack.calls_to("conversations.replies")])
    assert_everything_shown_once(fake_slack, session_factory)
    assert keyed(fake_slack, LEAD_DM) == Counter({"unrouted:2026-11-27": 1})
    assert all(p.ts and p.last_error == "" for p in pages(session_factory))


@pytest.mark.parametrize("seed_", [1, 2, 3])
def test_a_digest_with_random_failures_completes_without_duplicates(impatient_bot, session_factory, clock, fake_slack, seed_) -> None:
    seed(session_factory, clock, large=150, small=150)
    fake_slack.fail_randomly(0.08, seed=seed_, timeout=1.5)

    outcome = impatient_bot.services.post_daily_digest()
    for _ in range(5):  # what is still pending goes out on the next ticks
        if outcome.problem is None:
            break
        clock.advance(timedelta(minutes=1))
        outcome = impatient_bot.services.post_daily_digest()

    assert outcome.problem is None
    faults = [c for c in fake_slack.calls if c.status != 200 or c.delay]
    assert len(faults) >= 2, "the fake injected no faults"
    fake_slack.fail_randomly(0, seed=0)
    assert_everything_shown_once(fake_slack, session_factory)
    assert keyed(fake_slack, LEAD_DM) == Counter({"unrouted:2026-11-27": 1})
    assert len([m for m in fake_slack.scheduled if m["channel"] == LEAD_DM]) == 1


def test_a_page_slack_keeps_refusing_stops_nothing_and_the_cs_lead_hears_once(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    outcomes = []
    for _ in range(4):  # four ticks; Slack refuses Y's first page each time
        fake_slack.fail_next("chat.postMessage", "msg_blocks_too_long")
        outcomes.append(bot.services.post_daily_digest())
        clock.advance(timedelta(minutes=1))

    assert all(o.problem and "msg_blocks_too_long" in o.problem for o in outcomes)
    y_first = pages(session_factory)[0]
    assert (y_first.owner, y_first.page, y_first.ts, y_first.attempts, y_first.last_error) == ("大件配送", 0, None, 4, "msg_blocks_too_long")
    assert fake_slack.calls_to("conversations.history") == []  # a refusal is certain: nothing to look up
    z_pages = [p for p in pages(session_factory) if p.owner == "小件配送"]
    assert z_pages and all(p.ts for p in z_pages)  # the other owner's pages went out on the first tick
    assert keyed(fake_slack, LEAD_DM)["unrouted:2026-11-27"] == 1  # so did the unrouted list
    trouble = [m for m in lead_dms(fake_slack) if ((m.get("metadata") or {}).get("event_payload") or {}).get("key") == "digest-trouble:2026-11-27"]
    assert len(trouble) == 1  # after the third failing tick, and only once
    assert "大件配送" in trouble[0]["text"] and "msg_blocks_too_long" in trouble[0]["text"] and "1/3" in trouble[0]["text"]
    with transaction(session_factory) as session:
        y_items = session.exec(select(Item).where(Item.owner == "大件配送")).all()
    assert y_items and all(i.deadline is None for i in y_items)  # not shown, so no deadline runs

    last = bot.services.post_daily_digest()  # Slack takes it now

    assert last.problem is None
    assert_everything_shown_once(fake_slack, session_factory)
    assert len([m for m in lead_dms(fake_slack) if "could not be posted" in m["text"]]) == 1


def test_an_unrouted_dm_slack_refuses_is_sent_by_the_next_tick_and_holds_the_claim(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.fail_next("conversations.open", "user_disabled", times=2)  # the warning's and the list's; the pages go on

    first = bot.services.post_daily_digest()
    clock.advance(timedelta(minutes=1))
    second = bot.services.post_daily_digest()

    assert first.problem and "unrouted" in first.problem and all(p.ts for p in pages(session_factory))
    assert second.problem is None
    assert keyed(fake_slack, LEAD_DM) == Counter({"unrouted:2026-11-27": 1})
    assert bot.services.post_daily_digest().state == "already_posted"


# --- never silent: the scheduled warning -----------------------------------------------------


def test_the_warning_for_the_next_digest_is_scheduled_once_without_metadata_and_deleted_when_it_is_posted(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)  # Friday 2026-11-27 08:30

    bot.services.post_daily_digest()
    bot.services.post_daily_digest()

    (warning,) = fake_slack.scheduled
    assert warning["channel"] == LEAD_DM and warning["metadata"] is None
    assert warning["post_at"] == int(at("2026-11-30 09:00").timestamp())  # Monday's digest + 30 min
    assert "2026-11-30" in warning["text"] and "not in" in warning["text"]

    clock.set(at("2026-11-30 08:30"))
    bot.services.post_daily_digest()  # Monday's digest: nothing new to post, still "posted"

    assert [c.params["scheduled_message_id"] for c in fake_slack.calls_to("chat.deleteScheduledMessage")] == [warning["id"]]
    assert [w["post_at"] for w in fake_slack.scheduled] == [int(at("2026-12-01 09:00").timestamp())]  # Tuesday's is next
    assert fake_slack.deliver_scheduled(at("2026-12-01 08:00").timestamp()) == []
    assert lead_dms(fake_slack) == [m for m in lead_dms(fake_slack) if m.get("metadata")]  # only the unrouted list


def test_with_the_bot_down_slack_itself_tells_the_cs_lead(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    bot.services.post_daily_digest()  # Friday; then the bot is down all Monday morning

    delivered = fake_slack.deliver_scheduled(at("2026-11-30 09:00").timestamp())

    (warning,) = delivered
    assert "metadata" not in warning
    (dm,) = [m for m in lead_dms(fake_slack) if not m.get("metadata")]
    assert "2026-11-30" in dm["text"] and "<#C0LOGISTICS>" in dm["text"] and "check the bot" in dm["text"]


def test_the_first_digest_is_watched_when_the_bot_starts_before_its_time(bot, session_factory, clock, fake_slack) -> None:
    clock.set(at("2026-11-27 08:00"))

    bot.services.post_daily_digest()  # too early: schedules today's warning
    bot.services.post_daily_digest()

    assert [w["post_at"] for w in fake_slack.scheduled] == [int(at("2026-11-27 09:00").timestamp())]
    seed(session_factory, clock)
    clock.set(at("2026-11-27 08:30"))
    bot.services.post_daily_digest()
    assert [w["post_at"] for w in fake_slack.scheduled] == [int(at("2026-11-30 09:00").timestamp())]


def test_a_warning_slack_would_not_schedule_does_not_stop_the_digest(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.fail_next("chat.scheduleMessage", "restricted_too_many")

    outcome = bot.services.post_daily_digest()
    clock.advance(timedelta(minutes=1))
    bot.services.post_daily_digest()

    assert outcome.problem is None
    assert_everything_shown_once(fake_slack, session_factory)
    assert fake_slack.scheduled == []  # tried again only with the next day's digest run
    clock.set(at("2026-11-30 08:00"))
    bot.services.post_daily_digest()  # before Monday's digest time: Monday gets its warning after all
    assert [w["post_at"] for w in fake_slack.scheduled] == [int(at("2026-11-30 09:00").timestamp())]


def test_a_warning_whose_time_slack_says_has_passed_is_not_tried_again(bot, session_factory, clock, fake_slack) -> None:
    # A run --at an earlier day: the app's clock says the warning is ahead, Slack's that it has passed.
    seed(session_factory, clock)
    fake_slack.fail_next("chat.scheduleMessage", "time_in_past")

    outcome = bot.services.post_daily_digest()
    clock.set(at("2026-11-30 08:30"))
    bot.services.post_daily_digest()  # Monday's digest: nothing to delete for Friday's watch

    assert outcome.problem is None
    assert len(fake_slack.calls_to("chat.scheduleMessage")) == 2  # Friday's (refused) and Monday's own, never Friday's again
    assert fake_slack.calls_to("chat.deleteScheduledMessage") == []
    assert_everything_shown_once(fake_slack, session_factory)


# --- a full window for every owner -------------------------------------------------------------


def head_of(fake, ts: str) -> str:
    return json.dumps(fake.messages[(CHANNEL, ts)]["blocks"][:2], ensure_ascii=False)


def test_a_digest_posted_at_17_55_is_due_at_18_00_on_the_next_working_day(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    clock.set(at("2026-11-27 17:55"))  # after an outage

    bot.services.post_daily_digest()

    assert {i.deadline for i in items(session_factory) if i.digest_message_id} == {at("2026-11-30 18:00")}
    assert all("11-30 18:00" in head_of(fake_slack, p.ts) for p in pages(session_factory))
    clock.set(at("2026-11-27 18:01"))
    assert bot.services.sweep().deemed == 0  # not deemed before the owner could see them
    clock.set(at("2026-11-30 18:01"))
    assert bot.services.sweep().deemed == len([i for i in items(session_factory) if i.digest_message_id])


def test_a_page_posted_late_gets_its_own_full_window(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", "not_in_channel")  # Y's first page, at 08:30
    bot.services.post_daily_digest()
    clock.set(at("2026-11-27 14:30"))  # three and a half working hours left: not enough

    bot.services.post_daily_digest()

    by_owner = {(i.owner, i.deadline) for i in items(session_factory) if i.digest_message_id}
    assert by_owner == {("小件配送", at("2026-11-27 18:00")), ("大件配送", at("2026-11-30 18:00"))}
    y_first = pages(session_factory)[0]
    assert "11-30 18:00" in head_of(fake_slack, y_first.ts)


# --- the gateway's own guarantees ------------------------------------------------------------


def test_a_keyed_dm_whose_answer_was_lost_is_found_by_its_key_not_sent_twice(fake_slack) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url, timeout=1))
    fake_slack.hang_next("chat.postMessage", 1.5, applied=True)  # posted; the answer comes too late

    ts = gateway.send_dm(CS_LEAD, text="hello", key="test:1")

    assert [m["ts"] for m in lead_dms(fake_slack)] == [ts]
    (history,) = fake_slack.calls_to("conversations.history")
    assert history.params["channel"] == LEAD_DM and history.params["include_all_metadata"]


def test_a_post_without_a_key_is_not_repeated_after_an_ambiguous_failure(fake_slack) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url))
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, applied=True)

    with pytest.raises(SlackApiError):
        gateway.post_message(CHANNEL, text="hello")

    assert len(fake_slack.calls_to("chat.postMessage")) == 1 and len(fake_slack.channel_history(CHANNEL)) == 1


def test_slack_still_failing_after_the_retries_raises_slack_unavailable(fake_slack) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url), backoff=Backoff(attempts=3, first=0.01))
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, times=3)

    with pytest.raises(SlackUnavailable) as raised:
        gateway.post_message(CHANNEL, text="hello", key="test:2")

    assert raised.value.method == "chat.postMessage" and "500" in raised.value.reason
    assert len(fake_slack.calls_to("chat.postMessage")) == 3 and len(fake_slack.calls_to("conversations.history")) == 2
    assert fake_slack.channel_history(CHANNEL) == []


def test_a_definitive_error_is_raised_at_once(fake_slack) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url))
    fake_slack.fail_next("chat.postMessage", "channel_not_found")

    with pytest.raises(SlackApiError):
        gateway.post_message(CHANNEL, text="hello", key="test:3")

    assert len(fake_slack.calls_to("chat.postMessage")) == 1 and fake_slack.calls_to("conversations.history") == []


def test_deleting_a_scheduled_message_twice_is_harmless(fake_slack, clock) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url))
    scheduled = gateway.schedule_message(gateway.open_dm(CS_LEAD), text="later", post_at=clock.now() + timedelta(hours=1))

    gateway.delete_scheduled_message(LEAD_DM, scheduled)
    gateway.delete_scheduled_message(LEAD_DM, scheduled)  # invalid_scheduled_message_id: already gone

    assert fake_slack.scheduled == []
    assert [c.error for c in fake_slack.calls_to("chat.deleteScheduledMessage")] == [None, "invalid_scheduled_message_id"]


def test_the_connection_retry_never_repeats_a_post_that_may_have_been_sent() -> None:
    handler = SafeConnectionErrorRetryHandler(max_retry_count=2)

    def retried(method: str, error: Exception) -> bool:
        request = HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})
        return handler.can_retry(state=RetryState(), request=request, error=error)

    assert not retried("chat.postMessage", RemoteDisconnected("dropped after sending"))
    assert not retried("chat.scheduleMessage", ConnectionResetError())
    assert retried("chat.postMessage", URLError(ConnectionRefusedError()))  # nothing was sent
    assert retried("chat.update", RemoteDisconnected("dropped"))  # repeating an update is harmless


def test_a_warning_whose_scheduling_answer_was_lost_is_found_not_scheduled_twice(impatient_bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.hang_next("chat.scheduleMessage", 1.5, applied=True)  # scheduled; the answer comes too late

    impatient_bot.services.post_daily_digest()

    assert len(fake_slack.scheduled) == 1
    assert len(fake_slack.calls_to("chat.scheduledMessages.list")) == 1
    clock.set(at("2026-11-30 08:30"))
    impatient_bot.services.post_daily_digest()
    assert [c.error for c in fake_slack.calls_to("chat.deleteScheduledMessage")] == [None]
    assert [w["post_at"] for w in fake_slack.scheduled] == [int(at("2026-12-01 09:00").timestamp())]  # Monday's was deleted


def test_a_page_that_may_be_posted_is_never_posted_blindly_when_the_lookup_fails(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, applied=True)  # Y's first page: posted, 500
    fake_slack.fail_next("conversations.history", "missing_scope", times=2)  # and it cannot be looked up

    first = bot.services.post_daily_digest()
    clock.advance(timedelta(minutes=1))
    second = bot.services.post_daily_digest()  # the lookup fails again: still not reposted
    clock.advance(timedelta(minutes=1))
    third = bot.services.post_daily_digest()  # found by its key now

    assert first.problem and "missing_scope" in first.problem and second.problem and third.problem is None
    assert pages(session_factory)[0].attempts == 2  # the post, and the second tick's failed lookup: both count as tries
    assert_everything_shown_once(fake_slack, session_factory)


# --- a page left over from an earlier day, two runners, lookups ----------------------------


def test_a_page_still_unposted_when_its_day_ends_is_posted_on_the_next_working_day(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    clock.set(at("2026-11-27 17:00"))
    for _ in range(3):  # Friday's last ticks: Slack refuses Y's first page (and so its continuations wait)
        fake_slack.fail_next("chat.postMessage", "msg_blocks_too_long")
        friday = bot.services.post_daily_digest()
        clock.advance(timedelta(minutes=1))
    assert friday.pending == 3

    clock.set(at("2026-11-28 10:00"))  # Saturday: no digest, nothing posted
    saturday = bot.services.post_daily_digest()
    clock.set(at("2026-11-30 08:45"))  # Monday, after its digest time; Slack still refuses that page once
    fake_slack.fail_next("chat.postMessage", "msg_blocks_too_long")
    monday = bot.services.post_daily_digest()
    clock.advance(timedelta(minutes=1))
    later = bot.services.post_daily_digest()  # Slack takes it now

    assert saturday.state == "not_working_day"
    assert monday.problem and "2026-11-27" in monday.problem and monday.pending == 3  # reported while pending
    assert later.problem is None and later.pending == 0
    assert_everything_shown_once(fake_slack, session_factory)
    y_pages = [p for p in pages(session_factory) if p.owner == "大件配送"]
    assert all(p.posted_at == at("2026-11-30 08:46") for p in y_pages)
    with transaction(session_factory) as session:
        y_items = session.exec(select(Item).where(Item.owner == "大件配送")).all()
        friday_claim = q.find_effect(session=session, key="digest:2026-11-27")
    # the window counts from Monday 08:46, when the pages appeared (min_window of working time)
    assert y_items and all(i.deadline is not None and i.deadline > at("2026-11-30 09:00") for i in y_items)
    assert {i.deadline for i in y_items} == {p.deadline for p in y_pages if p.page == 0} | {p.deadline for p in y_pages if p.page > 0}
    assert friday_claim.done_at == at("2026-11-30 08:46")


def test_a_slow_run_that_loses_its_claim_never_doubles_a_page_with_the_run_that_took_over(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    clock.set(at("2026-11-27 09:30"))
    fake_slack.hang_next("chat.postMessage", 3.0, applied=True)  # run A's first post lands, its answer takes 3 s
    results: dict = {}
    run_a = threading.Thread(target=lambda: results.setdefault("a", bot.services.post_daily_digest()))
    run_a.start()
    give_up = time.monotonic() + 10
    while not fake_slack.calls_to("chat.postMessage") and time.monotonic() < give_up:  # A's post has reached Slack
        time.sleep(0.005)
    clock.advance(timedelta(minutes=11))  # A's try has taken longer than the day's lease (10 min): B takes the digest over
    b = bot.services.post_daily_digest()  # another replica's tick
    assert run_a.is_alive(), "run B must finish while run A's post is still in flight"
    run_a.join()
    a = results["a"]
    with transaction(session_factory) as session:
        claim = q.find_effect(session=session, key="digest:2026-11-27")
    clock.advance(timedelta(minutes=1))
    c = bot.services.post_daily_digest()  # the next tick finishes what A left when it lost the claim

    y_first = f"digest:2026-11-27:{pages(session_factory)[0].id}"
    assert [((c_.params.get("metadata") or {}).get("event_payload") or {}).get("key") for c_ in fake_slack.calls_to("chat.postMessage")].count(y_first) == 1
    assert b.problem and "another run is posting it" in b.problem  # B left A's page alone
    assert a.messages == 1 and a.problem is None  # A recorded its page, then stopped: the claim was B's
    assert claim.done_at is None and claim.lease_until == at("2026-11-27 09:41")  # A neither finished nor released B's claim
    assert c.problem is None
    assert_everything_shown_once(fake_slack, session_factory)


def test_a_page_whose_lookup_keeps_failing_counts_its_tries_and_the_cs_lead_hears(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, applied=True)  # Y's first page: posted, 500
    fake_slack.fail_next("conversations.history", "missing_scope", times=100)  # and it can never be looked up

    for _ in range(4):  # four ticks
        outcome = bot.services.post_daily_digest()
        clock.advance(timedelta(minutes=1))

    y_first = pages(session_factory)[0]
    assert (y_first.ts, y_first.in_doubt, y_first.attempts) == (None, True, 4)  # the post, then three failed lookups
    assert outcome.problem and "missing_scope" in outcome.problem
    assert keyed(fake_slack, CHANNEL)[f"digest:2026-11-27:{y_first.id}"] == 1  # never posted blindly
    trouble = [m for m in lead_dms(fake_slack) if "could not be posted" in m["text"]]
    assert len(trouble) == 1 and "missing_scope" in trouble[0]["text"]


def test_a_page_in_doubt_is_looked_up_from_its_try_in_one_call(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    client = make_client("xoxb-test", fake_slack.api_url)
    for n in range(250):  # the channel's morning: more than a page of history before the digest
        client.chat_postMessage(channel=CHANNEL, text=f"earlier message {n}")
    clock.set(at("2026-11-27 09:30"))
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, applied=True)  # Y's first page: posted, 500
    fake_slack.fail_next("conversations.history", "missing_scope")  # the gateway's own lookup fails: it stays in doubt
    first = bot.services.post_daily_digest()
    fake_slack.clear()
    clock.advance(timedelta(minutes=1))
    second = bot.services.post_daily_digest()

    stored = pages(session_factory)
    lookups = fake_slack.calls_to("conversations.history")
    assert first.problem and second.problem is None and all(p.ts for p in stored)
    assert len(lookups) == 1  # not two pages of 200: only what came after the try
    assert float(lookups[0].params["oldest"]) == at("2026-11-27 09:29").timestamp()  # the try's time - 1 min
    assert sorted(keyed(fake_slack, CHANNEL).values()) == [1] * len(stored)  # found, not posted again


def test_a_definitive_error_after_an_ambiguous_one_leaves_the_post_in_doubt(fake_slack) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url), backoff=Backoff(attempts=3, first=0.01))
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500)  # may have been posted
    fake_slack.fail_next("chat.postMessage", "channel_not_found")  # then a definitive answer to the retry

    with pytest.raises(SlackUnavailable) as raised:
        gateway.post_message(CHANNEL, text="hello", key="test:4")

    assert "500" in raised.value.reason and "channel_not_found" in raised.value.reason
    assert is_ambiguous(raised.value) and len(fake_slack.calls_to("chat.postMessage")) == 2


def test_is_ambiguous_is_the_one_classifier(fake_slack) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url), backoff=Backoff(attempts=1))
    errors = []
    for error, status in (("internal_error", 500), ("service_unavailable", 200), ("channel_not_found", 200)):
        fake_slack.fail_next("chat.update", error, status=status)
        with pytest.raises((SlackApiError, SlackUnavailable)) as raised:
            gateway.client.chat_update(channel=CHANNEL, ts="1.0", text="x")
        errors.append(raised.value)

    assert [is_ambiguous(e) for e in errors] == [True, True, False]
    assert is_ambiguous(TimeoutError("timed out")) and not is_ambiguous(ValueError("bad"))


def test_a_scheduled_warning_is_found_past_the_first_page_of_the_list_without_time_filters(fake_slack, clock) -> None:
    gateway = SlackGateway(make_client("xoxb-test", fake_slack.api_url))
    start = clock.now() + timedelta(hours=1)
    for n in range(100):  # other scheduled messages in the DM, earlier than ours
        gateway.schedule_message(LEAD_DM, text=f"reminder {n}", post_at=start + timedelta(minutes=10 * n))
    ours_at = start + timedelta(days=2)
    ours = gateway.schedule_message(LEAD_DM, text="the warning", post_at=ours_at)
    fake_slack.clear()

    found = gateway.lookup_scheduled(LEAD_DM, text="the warning", post_at=ours_at)
    missing = gateway.lookup_scheduled(LEAD_DM, text="another text", post_at=ours_at)

    assert found == ours and missing is None
    listed = fake_slack.calls_to("chat.scheduledMessages.list")
    assert len(listed) == 4 and all("oldest" not in c.params and "latest" not in c.params for c in listed)
