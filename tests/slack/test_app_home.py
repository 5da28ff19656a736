"""The App Home tab, end to end: signed ``app_home_opened`` events and Home
clicks through the real app from ``create_app`` into our fake Slack (which
refuses more than 100 blocks a Home view), on SQLite and PostgreSQL.

Each role sees its part; more items than one view holds end with "and N
more" and a button opening the whole list; a click from the Home goes
through the digest's own handlers (item changed, audited, digest message
updated, the Home published again); the ticker's pass publishes the Homes
of the others concerned, and nothing when nothing changed.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from itertools import count
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import create_app
from bot.core.importing import parse_export
from bot.core.letters import LetterStatus
from bot.core.lifecycle import Status
from bot.fakeslack import FakeSlack, event_callback, slash_command, view_submission
from bot.fakeslack.requests import app_home_opened_event, home_block_actions
from bot.gateway import make_client
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, DigestMessage, FollowUp, HomeView, Item, Letter

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"
Y, Z, DELEGATE_Y = "U0OWNERY", "U0OWNERZ", "U0DELEGY"
WANG_LI, CS_LEAD, OPS_HEAD = "U0CS0001", "U0CSLEAD", "U0OPSHEAD"
NOBODY = "U0NOBODY"
WANG = "SO20261126000002"  # Y's; agent 王丽
EVENTS = count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# --- the database -----------------------------------------------------------------------


def seed(session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def item(session_factory, order: str) -> Item:
    with transaction(session_factory) as session:
        return session.exec(select(Item).where(Item.order_no == order)).one()


def items_of(session_factory, owner: str, status: Status) -> list[Item]:
    with transaction(session_factory) as session:
        return list(session.exec(select(Item).where(Item.owner == owner, Item.status == status).order_by(Item.id)).all())


# --- talking to the app as Slack would ----------------------------------------------------


def open_home(bot, signer, fake: FakeSlack, user: str, *, tab: str = "home"):
    event = app_home_opened_event(user=user, view=fake.home_view(user), tab=tab)
    return bot.app.dispatch(event_callback(signer, event=event, event_id=f"EvHome{next(EVENTS)}").to_bolt())


def click_home(bot, signer, fake: FakeSlack, user: str, *, action_id: str, value: str):
    """A click on the button with this action id and value in the user's Home."""
    view = fake.home_view(user)
    block_id = next(
        b["block_id"] for b in view["blocks"]
        for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("action_id") == action_id and e.get("value") == value
    )
    request = home_block_actions(signer, user_id=user, action_id=action_id, value=value, block_id=block_id, view=view)
    return bot.app.dispatch(request.to_bolt())


def command(bot, signer, fake, text: str, user: str):
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    return bot.app.dispatch(request.to_bolt())


# --- what the Home shows ------------------------------------------------------------------


def headers(view: dict) -> list[str]:
    return [b["block_id"].removeprefix("head-") for b in view["blocks"] if b["type"] == "header"]


def buttons(view: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in view["blocks"] for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("type") == "button"
    ]


def text_of(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def publishes(fake: FakeSlack, user: str | None = None) -> list:
    return [c for c in fake.calls_to("views.publish") if user is None or c.params["user_id"] == user]


@pytest.fixture
def digest(bot, session_factory, clock, fake_slack) -> None:
    """The sample export imported and today's digest posted; recorded calls cleared."""
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    assert fake_slack.calls_to("chat.postMessage"), "the digest did not post (see the core loop tests)"
    fake_slack.clear()
    clock.set(at("2026-11-27 09:15"))


# --- each role -------------------------------------------------------------------------------


def test_an_owner_sees_what_awaits_them_with_the_deadline_and_the_buttons(bot, signer, fake_slack, session_factory, digest) -> None:
    response = open_home(bot, signer, fake_slack, Y)

    assert response.status == 200
    (call,) = publishes(fake_slack, Y)
    assert call.error is None
    view = fake_slack.home_view(Y)
    assert headers(view) == ["awaiting", "unfixed", "month"]
    assert len(view["blocks"]) <= 100
    awaiting = items_of(session_factory, "大件配送", Status.AWAITING)
    shown = [int(v) for a, v in buttons(view) if a == "item.confirm"]
    assert shown and set(shown) <= {i.id for i in awaiting}
    assert ("item.dispute", str(shown[0])) in buttons(view)
    assert "Answer by 11-27 18:00" in text_of(view)  # the digest's deadline, in the team's time
    if len(shown) < len(awaiting):  # the rest behind "and N more"
        assert ("apphome.show_all", "awaiting") in buttons(view)
        assert f"and {len(awaiting) - len(shown)} more" in text_of(view)
    with transaction(session_factory) as session:
        home = session.get(HomeView, Y)
    assert home.content_hash and home.slack_hash == view["hash"] and home.published_at is not None


def test_a_delegate_and_a_stand_in_see_the_owner_s_items(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, "away <@U0STANDZ|stand> until 2026-11-30", user=Z)
    open_home(bot, signer, fake_slack, DELEGATE_Y)
    open_home(bot, signer, fake_slack, "U0STANDZ")

    delegate = fake_slack.home_view(DELEGATE_Y)
    stand_in = fake_slack.home_view("U0STANDZ")
    assert headers(delegate) == headers(stand_in) == ["awaiting", "unfixed", "month"]
    zs = {str(i.id) for i in items_of(session_factory, "小件配送", Status.AWAITING)}
    assert {v for a, v in buttons(stand_in) if a == "item.confirm"} <= zs and any(a == "item.confirm" for a, _ in buttons(stand_in))
    assert not {v for a, v in buttons(delegate) if a == "item.confirm"} & zs


def test_a_callback_agent_sees_disputes_to_re_verify_and_their_accuracy(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"dispute {WANG} 配送员有签收照片", user=Y)
    target = item(session_factory, WANG)

    open_home(bot, signer, fake_slack, WANG_LI)

    view = fake_slack.home_view(WANG_LI)
    assert headers(view) == ["disputes", "reports", "accuracy"]
    assert ("dispute.uphold", str(target.id)) in buttons(view) and ("dispute.overrule", str(target.id)) in buttons(view)
    assert "王丽" in text_of(view) and "posted" in text_of(view)


def test_the_cs_lead_sees_everything_and_what_only_they_see(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    now = clock.now()
    with transaction(session_factory) as session:
        session.add(Letter(
            draft_key="letter:小件配送:2026-11", owner="小件配送", month="2026-11", reason="by_hand", status=LetterStatus.DRAFT,
            facts="{}", created_at=now, created_by=CS_LEAD,
        ))
        session.add(DigestMessage(
            digest_day=date(2026, 11, 26), owner="大件配送", page=0, channel=CHANNEL, deadline=now, created_at=now,
            last_error="channel_not_found", attempts=2, attempted_at=now,
        ))
    command(bot, signer, fake_slack, f"dispute {WANG} 配送员有签收照片", user=Y)

    open_home(bot, signer, fake_slack, CS_LEAD)

    view = fake_slack.home_view(CS_LEAD)
    assert headers(view) == [
        "all_disputes", "letters", "all_reports", "all_awaiting", "all_unfixed", "unrouted", "failed", "all_month", "calendar",
    ]
    assert len(view["blocks"]) <= 100
    letter_id = next(v for a, v in buttons(view) if a == "letter.approve")
    assert {("letter.edit", letter_id), ("letter.discard", letter_id)} <= set(buttons(view))
    assert ("dispute.uphold", str(item(session_factory, WANG).id)) in buttons(view)
    assert not any(a in ("item.confirm", "item.dispute", "item.fix") for a, _ in buttons(view))  # CS may not answer for logistics
    text = text_of(view)
    assert "channel_not_found" in text  # the failed digest message
    assert "2026: the chinesecalendar package" in text  # calendar coverage
    assert "All owners:" in text


def test_a_manager_sees_their_owners_open_items_escalations_and_month(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    with transaction(session_factory) as session:
        thread = session.exec(select(DigestMessage).where(DigestMessage.owner == "大件配送", DigestMessage.page == 0)).one()
        session.add(FollowUp(
            key="escalate:test:1", kind="escalate", thread_id=thread.id, level=1, recipient=OPS_HEAD,
            sent_at=clock.now() - timedelta(minutes=5), channel=f"D{OPS_HEAD}", ts="1764200000.000900",
        ))

    open_home(bot, signer, fake_slack, OPS_HEAD)

    view = fake_slack.home_view(OPS_HEAD)
    assert headers(view) == ["team", "escalations", "team_month"]
    assert "大件配送: level 1" in text_of(view)
    assert any(a == "item.confirm" for a, _ in buttons(view))  # managers may answer for their owners
    assert "大件配送" in text_of(view) and "小件配送" in text_of(view)


def test_a_person_with_no_role_gets_a_friendly_home(bot, signer, fake_slack, digest) -> None:
    open_home(bot, signer, fake_slack, NOBODY)

    view = fake_slack.home_view(NOBODY)
    assert headers(view) == ["welcome"]
    assert "no role in the routing file" in text_of(view) and buttons(view) == []


def test_the_messages_tab_publishes_nothing(bot, signer, fake_slack, session_factory, digest) -> None:
    response = open_home(bot, signer, fake_slack, Y, tab="messages")

    assert response.status == 200
    assert publishes(fake_slack) == []
    with transaction(session_factory) as session:
        assert session.get(HomeView, Y) is None


# --- more than one view holds ------------------------------------------------------------------


def test_more_items_than_one_view_holds_end_with_and_n_more_and_show_all_opens_them(bot, signer, fake_slack, session_factory, clock) -> None:
    rows = ["订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"]
    rows += [f"SO2026112690{n:04d},2026-11-26,上海浦东分公司,大件,客户已收货,郑女士 1552393{n:04d},王丽,2026-11-27 09:00,客户确认已收到" for n in range(150)]
    with transaction(session_factory) as session:
        insert_records(session=session, records=parse_export("\n".join(rows).encode(), filename="many.csv").records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    bot.services.post_daily_digest()
    fake_slack.clear()

    open_home(bot, signer, fake_slack, Y)

    (call,) = publishes(fake_slack, Y)
    assert call.error is None
    view = fake_slack.home_view(Y)
    assert len(view["blocks"]) <= 100
    shown = [v for a, v in buttons(view) if a == "item.confirm"]
    assert 0 < len(shown) < 150
    assert f"and {150 - len(shown)} more" in text_of(view)

    click_home(bot, signer, fake_slack, Y, action_id="apphome.show_all", value="awaiting")

    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error is None
    modal = json.dumps(opened.params["view"]["blocks"], ensure_ascii=False)
    assert all(f"SO2026112690{n:04d}" in modal for n in range(150))


def test_the_fake_refuses_a_home_view_over_100_blocks(bot, fake_slack) -> None:
    from slack_sdk.errors import SlackApiError

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": str(n)}} for n in range(101)]
    with pytest.raises(SlackApiError) as refused:
        bot.services.deps.notifier.publish_home(Y, {"type": "home", "blocks": blocks})
    assert refused.value.response["error"] == "invalid_arguments"
    assert "no more than 100 items allowed [json-pointer:/view/blocks]" in refused.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError) as large:
        bot.services.deps.notifier.publish_home(Y, {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 95})
    assert large.value.response["error"] == "view_too_large"
    with pytest.raises(SlackApiError) as nobody:
        bot.services.deps.notifier.publish_home("C0LOGISTICS", {"type": "home", "blocks": []})
    assert nobody.value.response["response_metadata"]["messages"] == ["invalid `user_id`"]


# --- clicks from the Home ----------------------------------------------------------------------


def test_confirm_from_the_home_changes_the_item_updates_the_digest_and_the_home(bot, signer, fake_slack, session_factory, digest) -> None:
    open_home(bot, signer, fake_slack, Y)
    target = next(int(v) for a, v in buttons(fake_slack.home_view(Y)) if a == "item.confirm")
    fake_slack.clear()

    response = click_home(bot, signer, fake_slack, Y, action_id="item.confirm", value=str(target))

    assert response.status == 200
    with transaction(session_factory) as session:
        changed = session.get(Item, target)
        (row,) = session.exec(select(AuditEntry).where(AuditEntry.item_id == target, AuditEntry.action == "confirm")).all()
    assert changed.status == Status.CONFIRMED
    assert (row.actor, row.role, row.surface) == (Y, "owner", "button")
    assert [c.params["channel"] for c in fake_slack.calls_to("chat.update")] == [CHANNEL]  # the digest message shows it
    assert [c.params["channel"] for c in fake_slack.calls_to("chat.postMessage")] == [f"D{Y}"]  # the answer, by DM
    (published,) = publishes(fake_slack, Y)
    view = published.params["view"]
    assert ("item.confirm", str(target)) not in buttons(view)
    assert ("item.fix", str(target)) in buttons(view)  # now a fix is due, from the same Home


def test_dispute_from_the_home_opens_the_modal_and_its_submission_disputes(bot, signer, fake_slack, session_factory, digest) -> None:
    open_home(bot, signer, fake_slack, Y)
    target = next(int(v) for a, v in buttons(fake_slack.home_view(Y)) if a == "item.dispute")

    click_home(bot, signer, fake_slack, Y, action_id="item.dispute", value=str(target))

    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error is None
    modal = opened.params["view"]
    request = view_submission(
        signer, user_id=Y, callback_id=modal["callback_id"], private_metadata=modal["private_metadata"],
        values={"dispute.reason": {"dispute.reason_input": "配送员有签收照片"}},
    )
    assert bot.app.dispatch(request.to_bolt()).status == 200
    with transaction(session_factory) as session:
        assert session.get(Item, target).status == Status.DISPUTED
    assert ("item.dispute", str(target)) not in buttons(fake_slack.home_view(Y))


def test_a_stale_home_button_is_answered_and_changes_nothing(bot, signer, fake_slack, session_factory, digest) -> None:
    open_home(bot, signer, fake_slack, Y)
    stale_view = fake_slack.home_view(Y)  # as a second tab, or a slow client, still shows it
    target = next(int(v) for a, v in buttons(stale_view) if a == "item.confirm")
    command(bot, signer, fake_slack, f"confirm {item_order(session_factory, target)}", user=Y)
    fake_slack.clear()

    request = home_block_actions(signer, user_id=Y, action_id="item.confirm", value=str(target), block_id=f"aw-act-{target}", view=stale_view)
    assert bot.app.dispatch(request.to_bolt()).status == 200

    with transaction(session_factory) as session:
        assert len(session.exec(select(AuditEntry).where(AuditEntry.item_id == target, AuditEntry.action == "confirm")).all()) == 1
    (told,) = fake_slack.calls_to("chat.postMessage")  # told, by DM: no channel, no response_url from a Home
    assert told.params["channel"] == f"D{Y}" and "already" in told.params["text"].lower()


def item_order(session_factory, item_id: int) -> str:
    with transaction(session_factory) as session:
        return session.get(Item, item_id).order_no


# --- the others concerned: the ticker's pass --------------------------------------------------------


def test_the_ticker_publishes_the_homes_a_change_concerns_and_nothing_when_nothing_changed(bot, signer, fake_slack, session_factory, digest) -> None:
    for user in (Y, CS_LEAD, NOBODY):
        open_home(bot, signer, fake_slack, user)
    bot.services.refresh_homes()  # the first pass after a start
    fake_slack.clear()

    quiet = bot.services.refresh_homes()
    assert quiet.skipped and publishes(fake_slack) == []

    command(bot, signer, fake_slack, f"dispute {WANG} 配送员有签收照片", user=Y)  # a slash command: no Home click
    fake_slack.clear()
    report = bot.services.refresh_homes()

    assert report.problem is None
    assert sorted(c.params["user_id"] for c in publishes(fake_slack)) == [CS_LEAD]  # Y's own Home was refreshed by their command; NOBODY's is unchanged
    assert ("dispute.uphold", str(item(session_factory, WANG).id)) in buttons(fake_slack.home_view(CS_LEAD))


def test_reopening_publishes_again_only_when_slack_shows_another_view(bot, signer, fake_slack, session_factory, digest) -> None:
    open_home(bot, signer, fake_slack, Y)
    open_home(bot, signer, fake_slack, Y)  # the same view is shown: nothing to publish
    assert len(publishes(fake_slack, Y)) == 1

    event = app_home_opened_event(user=Y, view=None)  # Slack shows no view (an app reinstalled, say)
    bot.app.dispatch(event_callback(signer, event=event, event_id="EvHomeAgain").to_bolt())
    assert len(publishes(fake_slack, Y)) == 2


def test_a_home_that_cannot_be_published_is_recorded_and_retried(settings, session_factory, clock, routing, signer) -> None:
    with FakeSlack(home_tab=False, clock=lambda: clock.now().timestamp()) as fake:
        bot = create_app(settings, client=make_client("xoxb-test", fake.api_url), session_factory=session_factory, clock=clock, routing=routing, process_before_response=True)
        response = open_home(bot, signer, fake, Y)

        assert response.status == 200  # the event is acknowledged; nobody is told anything
        with transaction(session_factory) as session:
            home = session.get(HomeView, Y)
        assert (home.attempts, home.error, home.content_hash) == (1, "not_enabled", "")
        report = bot.services.refresh_homes()
        assert report.problem and report.failed == 1
        with transaction(session_factory) as session:
            assert session.get(HomeView, Y).attempts == 2


def test_a_publish_raced_by_another_is_rendered_again_and_wins(bot, signer, fake_slack, session_factory, digest) -> None:
    open_home(bot, signer, fake_slack, Y)
    stale = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "an older render, published by another replica"}}]}
    make_client("xoxb-test", fake_slack.api_url).views_publish(user_id=Y, view=stale)  # Slack's hash moves on
    fake_slack.clear()

    command(bot, signer, fake_slack, f"confirm {WANG}", user=Y)

    first, second = publishes(fake_slack, Y)
    assert first.error == "hash_conflict" and "hash" not in second.params and second.error is None
    assert "an older render" not in text_of(fake_slack.home_view(Y))
    with transaction(session_factory) as session:
        assert session.get(HomeView, Y).slack_hash == fake_slack.home_view(Y)["hash"]


def test_a_publish_that_failed_after_slack_applied_it_is_not_left_half_done(bot, signer, fake_slack, session_factory, digest) -> None:
    open_home(bot, signer, fake_slack, Y)
    fake_slack.clear()
    fake_slack.fail_next("views.publish", "internal_error", status=500, applied=True)

    command(bot, signer, fake_slack, f"confirm {WANG}", user=Y)

    errors = [c.error for c in publishes(fake_slack, Y)]
    assert errors[0] == "internal_error" and errors[-1] is None
    with transaction(session_factory) as session:
        home = session.get(HomeView, Y)
    assert (home.error, home.slack_hash) == ("", fake_slack.home_view(Y)["hash"])
    assert ("item.confirm", str(item(session_factory, WANG).id)) not in buttons(fake_slack.home_view(Y))


def test_a_pass_publishes_a_bounded_number_and_the_next_passes_carry_on(bot, signer, fake_slack, session_factory, digest) -> None:
    from bot.services.home import HomeRefresher

    for user in (Y, CS_LEAD, OPS_HEAD):
        open_home(bot, signer, fake_slack, user)
    bot.services.homes = HomeRefresher(publish_most=1)
    bot.services.refresh_homes()
    command(bot, signer, fake_slack, f"confirm {WANG}", user=DELEGATE_Y)  # concerns all three; the delegate has no Home open
    fake_slack.clear()

    reports = [bot.services.refresh_homes() for _ in range(4)]

    assert [(r.published, r.unfinished, r.problem) for r in reports[:3]] == [(1, True, None), (1, True, None), (1, False, None)]
    assert reports[3].skipped
    assert sorted(c.params["user_id"] for c in publishes(fake_slack)) == sorted([Y, CS_LEAD, OPS_HEAD])


def test_without_any_change_a_home_still_catches_up_with_time(bot, signer, fake_slack, clock, digest) -> None:
    open_home(bot, signer, fake_slack, Y)
    clock.set(at("2026-11-27 17:58"))
    bot.services.refresh_homes()
    clock.set(at("2026-11-27 18:05"))  # the deadline passed; nothing in the database changed
    fake_slack.clear()

    assert bot.services.refresh_homes().skipped  # within FULL_EVERY of the last pass
    clock.advance(timedelta(minutes=10))
    report = bot.services.refresh_homes()

    assert report.published == 1 and "Past its deadline (11-27 18:00)" in text_of(fake_slack.home_view(Y))
