"""Tests of our fake Slack, driven by the real slack_sdk WebClient and Bolt App."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.fakeslack import (
    BOT_USER_ID,
    MAX_BLOCK_TEXT,
    TRIGGER_TTL,
    FakeSlack,
    SignedRequest,
    SlackSigner,
    block_actions,
    count_block_text,
    event_callback,
    new_trigger_id,
    reaction_event,
    slash_command,
    view_submission,
)

SECRET = "test-signing-secret"
OWNER = {"name": "y", "real_name": "Owner Y", "email": "y@example.com", "tz": "Asia/Shanghai", "locale": "zh-CN"}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(users={"U0OWNERY": OWNER}) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return block | ({"block_id": block_id} if block_id else {})


def interactive_payload(request: SignedRequest) -> dict[str, Any]:
    return json.loads(parse_qs(request.body)["payload"][0])


def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


# --- Web API ----------------------------------------------------------------
def test_auth_test_answers_with_the_bot_identity(client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == ("UBOT", "BBOT", "T0001")


def test_post_reply_update_and_ephemeral_are_recorded_and_change_message_state(
    fake: FakeSlack, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel="C1", text="Order 42", blocks=[section("Order 42", "item")])
    reply = client.chat_postMessage(channel="C1", thread_ts=parent["ts"], text="follow-up")
    client.chat_update(channel="C1", ts=parent["ts"], text="Order 42 confirmed", blocks=[section("done", "item")])
    ephemeral = client.chat_postEphemeral(channel="C1", user="U0OWNERY", text="only you")

    assert parent["ts"] < reply["ts"] < ephemeral["message_ts"]
    assert parent["message"]["blocks"][0]["block_id"] == "item"
    state = fake.messages[("C1", parent["ts"])]
    assert (state["text"], state["blocks"][0]["text"]["text"], state["user"]) == ("Order 42 confirmed", "done", "UBOT")
    assert state["thread_ts"] is None and state["reply_count"] == 1
    assert [m["text"] for m in fake.thread("C1", parent["ts"])] == ["follow-up"]
    assert fake.thread("C1", parent["ts"])[0]["thread_ts"] == parent["ts"]
    assert [m["ts"] for m in fake.channel_history("C1")] == [parent["ts"]]
    assert [c.method for c in fake.calls] == [
        "chat.postMessage",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
    ]
    assert fake.calls_to("chat.postEphemeral")[0].params["user"] == "U0OWNERY"
    assert all(c.token == "xoxb-test" and c.error is None for c in fake.calls)


def test_update_without_blocks_keeps_the_previous_blocks(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="a", blocks=[section("a", "b1")])
    client.chat_update(channel="C1", ts=posted["ts"], text="b")
    assert fake.messages[("C1", posted["ts"])]["blocks"][0]["block_id"] == "b1"
    assert error_of(lambda: client.chat_update(channel="C1", ts="1.2", text="x")).response["error"] == (
        "message_not_found"
    )


def test_posting_to_a_user_lands_in_the_same_dm_as_conversations_open(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0OWNERY", text="hi")
    opened = client.conversations_open(users="U0OWNERY")
    assert posted["channel"] == opened["channel"]["id"] == "DU0OWNERY"
    assert ("DU0OWNERY", posted["ts"]) in fake.messages


def test_dm_user_names_the_person_of_a_dm_and_nobody_for_a_channel(fake: FakeSlack, client: WebClient) -> None:
    opened = client.conversations_open(users="U0OPSHEAD")
    assert fake.dm_user(opened["channel"]["id"]) == "U0OPSHEAD"
    assert fake.dm_user("C0LOGISTICS") is None
    assert fake.dm_user("G0PRIVATE") is None


def test_timestamps_are_unique_and_increasing_across_threads(fake: FakeSlack, client: WebClient) -> None:
    def post() -> None:
        for _ in range(5):
            client.chat_postMessage(channel="C1", text="x")

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timestamps = [ts for (_, ts) in fake.messages]
    assert len(set(timestamps)) == 30 and timestamps == sorted(timestamps)


def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps([section("form")])})
    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == [section("form")]


def test_views_get_ids_and_are_echoed(fake: FakeSlack, client: WebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "item.reject",
        "title": {"type": "plain_text", "text": "Reject"},
        "blocks": [],
    }
    opened = client.views_open(trigger_id=fake.trigger_id(), view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], view=modal | {"private_metadata": "42"})["view"]
    home = client.views_publish(user_id="U0OWNERY", view={"type": "home", "blocks": [section("home")]})["view"]

    assert opened["id"].startswith("V") and opened["callback_id"] == "item.reject"
    assert updated["id"] == opened["id"] and fake.views[opened["id"]]["private_metadata"] == "42"
    assert fake.home_view("U0OWNERY") == home
    too_long = modal | {"title": {"type": "plain_text", "text": "x" * 25}}
    assert error_of(lambda: client.views_open(trigger_id=fake.trigger_id(), view=too_long)).response["error"] == "invalid_arguments"


def test_users_directory(client: WebClient) -> None:
    user = client.users_lookupByEmail(email="Y@example.com")["user"]
    assert (user["id"], user["profile"]["email"], user["tz"], user["tz_offset"]) == (
        "U0OWNERY",
        "y@example.com",
        "Asia/Shanghai",
        8 * 3600,
    )
    assert client.users_info(user="U0OWNERY", include_locale=True)["user"]["locale"] == "zh-CN"
    assert error_of(lambda: client.users_lookupByEmail(email="nobody@example.com")).response["error"] == (
        "users_not_found"
    )
    assert error_of(lambda: client.users_info(user="UNOBODY")).response["error"] == "user_not_found"


def test_reactions_and_permalinks(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x")
    client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    link = client.chat_getPermalink(channel="C1", message_ts=posted["ts"])["permalink"]
    assert fake.messages[("C1", posted["ts"])]["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]
    assert link.endswith(f"/archives/C1/p{posted['ts'].replace('.', '')}")
    again = error_of(lambda: client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes"))
    assert again.response["error"] == "already_reacted"


# --- Slack's limits -----------------------------------------------------------
@pytest.mark.parametrize(
    ("blocks", "reason"),
    [
        ([section(str(i)) for i in range(51)], "no more than 50 items allowed [json-pointer:/blocks]"),
        ([section("x" * 3001)], "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        ([section("a", "same"), section("b", "same")], "duplicate block_id 'same' [json-pointer:/blocks/1/block_id]"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "ok"}},
                        {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}},
                    ],
                }
            ],
            "duplicate action_id 'a' [json-pointer:/blocks/0/elements/1/action_id]",
        ),
    ],
    ids=["51-blocks", "3001-char-section", "duplicate-block-id", "long-header", "duplicate-action-id"],
)
def test_invalid_blocks_are_rejected_like_slack(
    fake: FakeSlack, client: WebClient, blocks: list[dict[str, Any]], reason: str
) -> None:
    error = error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    assert reason in error.response["errors"]
    assert fake.messages == {} and fake.calls_to("chat.postMessage")[0].error == "invalid_blocks"


def test_fifty_blocks_and_a_full_section_pass(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x", blocks=[section("y" * 100) for _ in range(50)])
    client.chat_postMessage(channel="C1", text="x", blocks=[section("y" * 3000)])


def test_message_text_limits(client: WebClient) -> None:
    assert (
        error_of(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001)).response["error"] == "msg_too_long"
    )
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        assert error_of(lambda: client.chat_postMessage(channel="C1")).response["error"] == "no_text"


# --- auth, failures, unknown methods -------------------------------------------
def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    anonymous = WebClient(base_url=fake.api_url)
    assert error_of(lambda: anonymous.chat_postMessage(channel="C1", text="x")).response["error"] == "not_authed"
    assert WebClient(token="xoxb-anything", base_url=fake.api_url).auth_test()["ok"] is True


def test_unknown_method(client: WebClient) -> None:
    error = error_of(lambda: client.api_call("chat.nonsense"))
    assert (error.response.status_code, error.response["error"]) == (200, "unknown_method")


def test_rate_limit_injection_answers_429_with_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    error = error_of(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert (error.response.status_code, error.response["error"]) == (429, "ratelimited")
    assert error.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert [c.error for c in fake.calls_to("chat.postMessage")] == ["ratelimited", None]


def test_error_injection_answers_200_ok_false(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        error = error_of(lambda: client.chat_postMessage(channel="C1", text="x"))
        assert (error.response.status_code, error.response["error"]) == (200, "channel_not_found")
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_latency_is_added_per_call() -> None:
    with FakeSlack(latency=0.05) as slow:
        started = time.monotonic()
        WebClient(token="xoxb-test", base_url=slow.api_url).auth_test()
        assert time.monotonic() - started >= 0.05


# --- response_url -------------------------------------------------------------
def test_response_url_posts_are_recorded_and_can_replace_the_message(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="pending", blocks=[section("pending")])
    url = fake.response_url("r1", channel="C1", ts=posted["ts"])

    answer = WebhookClient(url).send(text="confirmed", blocks=[section("confirmed")], replace_original=True)

    assert (answer.status_code, answer.body) == (200, "ok")
    (call,) = fake.calls_to("response_url")
    assert (call.hook, call.params["text"], call.params["replace_original"]) == ("r1", "confirmed", True)
    assert fake.messages[("C1", posted["ts"])]["text"] == "confirmed"
    assert WebhookClient(url).send(text="x", blocks=[section("y" * 3001)]).status_code == 400


# --- signed requests ----------------------------------------------------------
def command(signer: SlackSigner, fake: FakeSlack) -> SignedRequest:
    return slash_command(
        signer, text="42 wrong address", user_id="U0OWNERY", channel_id="C1", response_url=fake.response_url()
    )


def test_slash_command_signature_verifies_only_with_the_right_secret_and_fresh_timestamp(fake: FakeSlack) -> None:
    request = command(SlackSigner(SECRET), fake)
    stale = command(SlackSigner(SECRET, clock=lambda: time.time() - 301), fake)

    assert SignatureVerifier(SECRET).is_valid_request(request.body, request.headers) is True
    assert SignatureVerifier("wrong-secret").is_valid_request(request.body, request.headers) is False
    assert SignatureVerifier(SECRET).is_valid_request(stale.body, stale.headers) is False
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "command=%2Freject&text=42+wrong+address" in request.body


def test_retry_headers_are_added_when_asked() -> None:
    headers = SlackSigner(SECRET).headers("{}", content_type="application/json", retry_num=1, retry_reason="timeout")
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "timeout")


@pytest.fixture
def app(fake: FakeSlack) -> App:
    return App(
        signing_secret=SECRET,
        client=WebClient(token="xoxb-test", base_url=fake.api_url),
        process_before_response=True,
    )


def test_bolt_dispatches_a_signed_slash_command_and_rejects_a_bad_signature(fake: FakeSlack, app: App) -> None:
    received: list[dict[str, Any]] = []

    @app.command("/reject")
    def handle_reject_command(ack: Any, command: dict[str, Any]) -> None:
        ack()
        received.append(command)

    good = app.dispatch(command(SlackSigner(SECRET), fake).to_bolt())
    bad = app.dispatch(command(SlackSigner("wrong-secret"), fake).to_bolt())

    assert good.status == 200 and bad.status == 401
    assert [(c["text"], c["user_id"], c["channel_id"]) for c in received] == [("42 wrong address", "U0OWNERY", "C1")]


def test_bolt_dispatches_a_button_click_on_a_posted_message(fake: FakeSlack, app: App, client: WebClient) -> None:
    button = {
        "type": "button",
        "action_id": "item.confirm",
        "text": {"type": "plain_text", "text": "Confirm"},
        "value": "42",
    }
    posted = client.chat_postMessage(channel="C1", text="x", blocks=[section("x", "item") | {"accessory": button}])
    clicked: list[dict[str, Any]] = []

    @app.action("item.confirm")
    def handle_item_confirm(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        clicked.append(body)
        respond(text="confirmed", replace_original=True)

    request = block_actions(
        SlackSigner(SECRET),
        user_id="U0OWNERY",
        action_id="item.confirm",
        value="42",
        block_id="item",
        channel_id="C1",
        message_ts=posted["ts"],
        message=fake.messages[("C1", posted["ts"])],
        response_url=fake.response_url("click", channel="C1", ts=posted["ts"]),
    )
    assert app.dispatch(request.to_bolt()).status == 200
    (body,) = clicked
    assert body["actions"][0]["text"]["text"] == "Confirm"
    assert body["message"]["ts"] == body["container"]["message_ts"] == posted["ts"]
    assert fake.messages[("C1", posted["ts"])]["text"] == "confirmed"


def test_bolt_dispatches_view_submission_and_reaction_event(app: App) -> None:
    seen: list[Any] = []

    @app.view("item.reject")
    def handle_reject_submission(ack: Any, view: dict[str, Any]) -> None:
        ack()
        seen.append((view["private_metadata"], view["state"]["values"]["reason"]["reason.input"]["value"]))

    @app.event("reaction_added")
    def handle_reaction(event: dict[str, Any]) -> None:
        seen.append((event["reaction"], event["item"]["ts"]))

    signer = SlackSigner(SECRET)
    submission = view_submission(
        signer,
        user_id="U0OWNERY",
        callback_id="item.reject",
        private_metadata="42",
        values={"reason": {"reason.input": "typo"}},
    )
    reaction = reaction_event(
        kind="reaction_added", user="U0OWNERY", reaction="white_check_mark", channel="C1", ts="1.2"
    )
    event = event_callback(signer, event=reaction, event_id="Ev1", retry_num=1, retry_reason="timeout")

    assert app.dispatch(submission.to_bolt()).status == 200
    assert app.dispatch(event.to_bolt()).status == 200
    assert seen == [("42", "typo"), ("white_check_mark", "1.2")]
    assert json.loads(event.body)["authorizations"][0]["user_id"] == BOT_USER_ID


def test_socket_mode_connection_needs_an_app_level_token(fake: FakeSlack, client: WebClient) -> None:
    app_client = WebClient(token="xapp-1-test", base_url=fake.api_url)
    assert app_client.apps_connections_open(app_token="xapp-1-test")["url"].startswith("ws://127.0.0.1:")
    error = error_of(lambda: client.apps_connections_open(app_token="xoxb-test"))
    assert error.response["error"] == "not_allowed_token_type"


# --- the block text budget (msg_blocks_too_long) -------------------------------
def blocks_with_text(total: int) -> list[dict[str, Any]]:
    """Sections whose "text" strings add up to exactly ``total`` characters."""
    sizes = [3000] * (total // 3000) + ([total % 3000] if total % 3000 else [])
    return [section("t" * size) for size in sizes]


def test_block_text_counts_every_text_string_anywhere() -> None:
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "Confirm"}, "value": "v" * 50}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Head"}},
        section("12345") | {"accessory": button},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "ab"}, {"type": "mrkdwn", "text": "cde"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}]},
        {"type": "divider"},
    ]
    assert count_block_text(blocks) == len("Head") + 5 + len("Confirm") + 2 + 3 + 3
    assert count_block_text(blocks_with_text(MAX_BLOCK_TEXT)) == MAX_BLOCK_TEXT == 11_000


def test_posting_over_the_block_text_budget_is_refused_and_stores_nothing(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x", blocks=blocks_with_text(MAX_BLOCK_TEXT))
    error = error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=blocks_with_text(MAX_BLOCK_TEXT + 1)))
    assert (error.response.status_code, error.response["error"]) == (200, "msg_blocks_too_long")
    assert len(fake.messages) == 1
    assert [(c.error, c.applied) for c in fake.calls_to("chat.postMessage")] == [
        (None, True),
        ("msg_blocks_too_long", False),
    ]


def test_update_and_ephemeral_over_the_budget_are_refused(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x", blocks=[section("before")])
    too_long = blocks_with_text(MAX_BLOCK_TEXT + 1)
    update = error_of(lambda: client.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=too_long))
    ephemeral = error_of(lambda: client.chat_postEphemeral(channel="C1", user="U0OWNERY", text="x", blocks=too_long))
    assert update.response["error"] == ephemeral.response["error"] == "msg_blocks_too_long"
    assert fake.messages[("C1", posted["ts"])]["blocks"][0]["text"]["text"] == "before"


def test_response_url_over_the_budget_answers_400(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x", blocks=[section("before")])
    url = fake.response_url("r1", channel="C1", ts=posted["ts"])
    answer = WebhookClient(url).send(text="x", blocks=blocks_with_text(MAX_BLOCK_TEXT + 1), replace_original=True)
    assert (answer.status_code, answer.body) == (400, "msg_blocks_too_long")
    assert fake.messages[("C1", posted["ts"])]["blocks"][0]["text"]["text"] == "before"


def test_top_level_text_keeps_its_own_40000_limit(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x" * 40_000)
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001)).response["error"] == "msg_too_long"


# --- trigger ids: 3 seconds, once -------------------------------------------------
MODAL = {"type": "modal", "callback_id": "m", "title": {"type": "plain_text", "text": "T"}, "blocks": []}


def test_a_trigger_id_opens_one_view_then_is_exchanged(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id()
    client.views_open(trigger_id=trigger, view=MODAL)
    again = error_of(lambda: client.views_open(trigger_id=trigger, view=MODAL))
    assert again.response["error"] == "exchanged_trigger_id"
    assert len(fake.views) == 1


def test_a_trigger_id_older_than_3_seconds_is_expired(fake: FakeSlack, client: WebClient) -> None:
    stale = new_trigger_id(now=time.time() - 3.2)
    assert error_of(lambda: client.views_open(trigger_id=stale, view=MODAL)).response["error"] == "expired_trigger_id"
    assert error_of(lambda: client.views_push(trigger_id=stale, view=MODAL)).response["error"] == "expired_trigger_id"
    assert fake.views == {}


@pytest.mark.parametrize("trigger", ["t", "111.222.xxx", "1764200000001.1.fake-trigger", "12.34"])
def test_a_malformed_trigger_id_is_invalid(fake: FakeSlack, client: WebClient, trigger: str) -> None:
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=MODAL)).response["error"] == "invalid_trigger_id"


def test_views_push_exchanges_the_trigger_too(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id()
    client.views_push(trigger_id=trigger, view=MODAL)
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=MODAL)).response["error"] == (
        "exchanged_trigger_id"
    )


def test_a_refused_view_does_not_use_up_the_trigger(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id()
    bad = MODAL | {"title": {"type": "plain_text", "text": "x" * 25}}
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=bad)).response["error"] == "invalid_arguments"
    assert client.views_open(trigger_id=trigger, view=MODAL)["ok"] is True


def test_request_builders_issue_fresh_slack_shaped_trigger_ids(fake: FakeSlack) -> None:
    signer = SlackSigner(SECRET)
    issued = [
        parse_qs(command(signer, fake).body)["trigger_id"][0],
        interactive_payload(
            block_actions(
                signer, user_id="U0OWNERY", action_id="a", value="1", block_id="b", channel_id="C1",
                message_ts="1.2", response_url=fake.response_url(),
            )
        )["trigger_id"],
        interactive_payload(
            view_submission(signer, user_id="U0OWNERY", callback_id="c", private_metadata="", values={})
        )["trigger_id"],
    ]  # fmt: skip
    assert len(set(issued)) == 3
    for trigger in issued:
        millis, serial, secret = trigger.split(".")
        assert abs(int(millis) / 1000 - time.time()) < TRIGGER_TTL and serial.isdigit() and int(secret, 16) >= 0


def test_a_clicked_button_opens_a_modal_with_its_own_trigger_id(fake: FakeSlack, app: App, client: WebClient) -> None:
    refused: list[str] = []

    @app.action("item.dispute")
    def handle_item_dispute(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            client.views_open(trigger_id=body["trigger_id"], view=MODAL)
        except SlackApiError as e:
            refused.append(e.response["error"])

    def click() -> SignedRequest:
        return block_actions(
            SlackSigner(SECRET), user_id="U0OWNERY", action_id="item.dispute", value="1", block_id="b",
            channel_id="C1", message_ts="1.2", response_url=fake.response_url(),
        )  # fmt: skip

    first = click()
    assert app.dispatch(first.to_bolt()).status == 200
    assert app.dispatch(first.to_bolt()).status == 200  # Slack's retry of the same click
    assert app.dispatch(click().to_bolt()).status == 200
    assert [c.error for c in fake.calls_to("views.open")] == [None, "exchanged_trigger_id", None]
    assert refused == ["exchanged_trigger_id"] and len(fake.views) == 2


# --- fault injection ----------------------------------------------------------------
def test_a_500_before_applying_stores_nothing(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", "internal_error", status=500)
    error = error_of(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert (error.response.status_code, error.response.data) == (500, {"ok": False, "error": "internal_error"})
    assert fake.messages == {}
    (call,) = fake.calls
    assert (call.status, call.applied, call.error) == (500, False, "internal_error")


def test_a_500_after_applying_keeps_the_message(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", "internal_error", status=500, applied=True)
    error = error_of(lambda: client.chat_postMessage(channel="C1", text="x", metadata=META))
    assert error.response.status_code == 500
    (message,) = fake.messages.values()
    assert (message["text"], message["metadata"]) == ("x", META)
    (call,) = fake.calls
    assert (call.status, call.applied, call.error) == (500, True, "internal_error")


def test_an_applied_failure_on_update_changes_the_message(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="before")
    fake.fail_next("chat.update", "internal_error", status=500, applied=True)
    error_of(lambda: client.chat_update(channel="C1", ts=posted["ts"], text="after"))
    assert fake.messages[("C1", posted["ts"])]["text"] == "after"


def test_a_call_slack_refuses_is_not_applied_even_when_the_failure_says_so(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.update", "internal_error", status=500, applied=True)
    error = error_of(lambda: client.chat_update(channel="C1", ts="1.2", text="x"))
    assert (error.response.status_code, error.response["error"]) == (200, "message_not_found")


def test_a_hang_after_applying_times_the_client_out_but_the_message_is_there(fake: FakeSlack) -> None:
    impatient = WebClient(token="xoxb-test", base_url=fake.api_url, timeout=0.3)  # type: ignore[arg-type]
    fake.hang_next("chat.postMessage", 30, applied=True)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C1", text="x")
    assert [m["text"] for m in fake.messages.values()] == ["x"]
    (call,) = fake.calls
    assert (call.status, call.applied, call.delay) == (200, True, 30)
    assert impatient.chat_postMessage(channel="C1", text="y")["ok"] is True  # only the next call hangs


def test_a_hang_before_applying_stores_nothing(fake: FakeSlack) -> None:
    impatient = WebClient(token="xoxb-test", base_url=fake.api_url, timeout=0.3)  # type: ignore[arg-type]
    fake.hang_next("chat.postMessage", 30)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C1", text="x")
    assert fake.messages == {}
    (call,) = fake.calls
    assert (call.status, call.applied, call.error) == (500, False, "internal_error")


def test_a_short_hang_answers_the_real_result_to_a_patient_client(fake: FakeSlack, client: WebClient) -> None:
    fake.hang_next("chat.postMessage", 0.05, applied=True)
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def attempt_posts(client: WebClient, count: int) -> list[str]:
    outcomes = []
    for i in range(count):
        try:
            client.chat_postMessage(channel="C1", text=f"m{i}")
            outcomes.append("ok")
        except SlackApiError as e:
            outcomes.append(f"{e.response.status_code}")
        except TimeoutError:
            outcomes.append("timeout")
    return outcomes


def test_random_failures_are_reproducible_from_the_seed_and_recorded() -> None:
    runs = []
    for _ in range(2):
        with FakeSlack() as fake:
            client = WebClient(token="xoxb-test", base_url=fake.api_url, timeout=0.3)  # type: ignore[arg-type]
            fake.fail_randomly(0.5, seed=7, timeout=5)
            outcomes = attempt_posts(client, 40)
            client.auth_test()  # never fails
            calls = fake.calls_to("chat.postMessage")
            stored = sorted(m["text"] for m in fake.messages.values())
            runs.append((outcomes, [(c.status, c.applied, c.delay) for c in calls], stored))
            assert sorted(c.params["text"] for c in calls if c.applied) == stored
    assert runs[0] == runs[1]
    outcomes, calls, _ = runs[0]
    assert {"ok", "500", "429", "timeout"} <= set(outcomes)
    assert (500, True, 0.0) in calls and (500, False, 0.0) in calls and (200, True, 5) in calls


def test_random_failures_only_hit_the_methods_named_and_can_be_turned_off(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_randomly(1.0, seed=1, methods={"chat.update"})
    posted = client.chat_postMessage(channel="C1", text="x")
    error_of(lambda: client.chat_update(channel="C1", ts=posted["ts"], text="y"))
    fake.fail_randomly(0, seed=0)
    assert client.chat_update(channel="C1", ts=posted["ts"], text="z")["ok"] is True
    assert [c.status for c in fake.calls_to("chat.update")][1] == 200


def test_a_random_429_carries_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_randomly(1.0, seed=3, methods={"chat.postMessage"})
    seen = set()
    for _ in range(12):
        try:
            client.chat_postMessage(channel="C1", text="x")
        except SlackApiError as e:
            if e.response.status_code == 429:
                assert e.response.headers["Retry-After"] == "1"
            seen.add(e.response.status_code)
    assert seen == {429, 500}


# --- history and metadata ----------------------------------------------------------------
META = {"event_type": "rejectbot_page", "event_payload": {"key": "digest:2026-11-27:1"}}


def test_history_is_newest_first_top_level_and_broadcasts_with_metadata_on_request(
    fake: FakeSlack, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C1", text="first", metadata=META)
    client.chat_postMessage(channel="C1", thread_ts=first["ts"], text="quiet reply")
    loud = client.chat_postMessage(channel="C1", thread_ts=first["ts"], text="broadcast", reply_broadcast=True)
    second = client.chat_postMessage(channel="C1", text="second")
    client.chat_postMessage(channel="C2", text="elsewhere")

    plain = client.conversations_history(channel="C1")
    assert [m["ts"] for m in plain["messages"]] == [second["ts"], loud["ts"], first["ts"]]
    assert all("metadata" not in m for m in plain["messages"])
    assert plain["has_more"] is False
    assert plain["messages"][2]["thread_ts"] == first["ts"] and plain["messages"][2]["reply_count"] == 2
    with_metadata = client.conversations_history(channel="C1", include_all_metadata=True)["messages"]
    assert with_metadata[2]["metadata"] == META and "metadata" not in with_metadata[0]


def test_history_pages_with_a_cursor(fake: FakeSlack, client: WebClient) -> None:
    posted = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        page = client.conversations_history(channel="C1", limit=2, cursor=cursor)
        seen += [m["ts"] for m in page["messages"]]
        pages += 1
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    assert seen == posted[::-1] and pages == 3
    bad = error_of(lambda: client.conversations_history(channel="C1", cursor="not-a-cursor"))
    assert bad.response["error"] == "invalid_cursor"


def test_history_limit_defaults_to_100_and_stops_at_999(fake: FakeSlack, client: WebClient) -> None:
    for i in range(101):
        client.chat_postMessage(channel="C1", text=str(i))
    first = client.conversations_history(channel="C1")
    assert (len(first["messages"]), first["has_more"]) == (100, True)
    assert len(client.conversations_history(channel="C1", limit=5000)["messages"]) == 101


def test_history_oldest_latest_and_inclusive(fake: FakeSlack, client: WebClient) -> None:
    ts = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(4)]

    def between(**kwargs: Any) -> list[str]:
        return [m["ts"] for m in client.conversations_history(channel="C1", **kwargs)["messages"]]

    assert between(oldest=ts[0], latest=ts[3]) == [ts[2], ts[1]]
    assert between(oldest=ts[0], latest=ts[3], inclusive=True) == ts[::-1]
    assert between(oldest=ts[2]) == [ts[3]]
    assert error_of(lambda: between(latest="soon")).response["error"] == "invalid_ts_latest"


def test_history_of_an_unknown_channel(client: WebClient) -> None:
    assert error_of(lambda: client.conversations_history(channel="general")).response["error"] == "channel_not_found"
    assert error_of(lambda: client.conversations_history(channel="U0OWNERY")).response["error"] == "channel_not_found"


def test_a_workspace_with_listed_channels_knows_no_others() -> None:
    with FakeSlack(channels={"C1"}, users={"U0OWNERY": OWNER}) as strict:
        client = WebClient(token="xoxb-test", base_url=strict.api_url)
        client.chat_postMessage(channel="C1", text="x")
        client.chat_postMessage(channel="U0OWNERY", text="dm")
        for call in (
            lambda: client.chat_postMessage(channel="C2", text="x"),
            lambda: client.conversations_history(channel="C2"),
        ):
            assert error_of(call).response["error"] == "channel_not_found"
        assert [m["text"] for m in client.conversations_history(channel="DU0OWNERY")["messages"]] == ["dm"]


def test_dms_are_read_back_from_the_d_channel(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0OWNERY", text="hi", metadata=META)
    (message,) = client.conversations_history(channel=posted["channel"], include_all_metadata=True)["messages"]
    assert (posted["channel"], message["text"], message["metadata"]) == ("DU0OWNERY", "hi", META)


def test_replies_give_the_parent_then_replies_oldest_first(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent", metadata=META)
    replies = [client.chat_postMessage(channel="C1", thread_ts=parent["ts"], text=f"r{i}")["ts"] for i in range(3)]
    client.chat_postMessage(channel="C1", text="other")

    thread = client.conversations_replies(channel="C1", ts=replies[1])
    assert [m["ts"] for m in thread["messages"]] == [parent["ts"], *replies]
    assert "metadata" not in thread["messages"][0]
    assert client.conversations_replies(channel="C1", ts=parent["ts"], include_all_metadata=True)["messages"][0][
        "metadata"
    ] == META
    first = client.conversations_replies(channel="C1", ts=parent["ts"], limit=2)
    assert [m["ts"] for m in first["messages"]] == [parent["ts"], replies[0]] and first["has_more"] is True
    rest = client.conversations_replies(
        channel="C1", ts=parent["ts"], limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["ts"] for m in rest["messages"]] == replies[1:] and rest["has_more"] is False
    assert error_of(lambda: client.conversations_replies(channel="C1", ts="1.2")).response["error"] == (
        "thread_not_found"
    )


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("not json", "invalid_metadata_format"),
        ('["a list"]', "invalid_metadata_format"),
        (json.dumps({"event_type": "x"}), "invalid_metadata_schema"),
        (json.dumps({"event_payload": {}}), "invalid_metadata_schema"),
        (json.dumps({"event_type": "x", "event_payload": "text"}), "invalid_metadata_schema"),
    ],
)
def test_malformed_metadata_is_refused(fake: FakeSlack, client: WebClient, metadata: str, error: str) -> None:
    answer = error_of(lambda: client.api_call("chat.postMessage", params={"channel": "C1", "text": "x", "metadata": metadata}))
    assert answer.response["error"] == error
    assert fake.messages == {}


def test_update_keeps_metadata_unless_told_and_an_empty_object_removes_it(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x", metadata=META)
    client.chat_update(channel="C1", ts=posted["ts"], text="y")
    assert fake.messages[("C1", posted["ts"])]["metadata"] == META
    client.chat_update(channel="C1", ts=posted["ts"], text="z", metadata={})
    assert "metadata" not in fake.messages[("C1", posted["ts"])]


# --- scheduled messages ----------------------------------------------------------------
NOW = 1_796_000_000.0  # the fixed clock of the scheduling tests


@pytest.fixture
def clocked() -> Iterator[FakeSlack]:
    with FakeSlack(users={"U0OWNERY": OWNER}, clock=lambda: NOW) as server:
        yield server


def test_a_scheduled_message_is_listed_then_posted_when_due(clocked: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=clocked.api_url)
    answer = client.chat_scheduleMessage(channel="C1", post_at=int(NOW) + 3600, text="digest is late")
    assert answer["scheduled_message_id"].startswith("Q")
    assert (answer["channel"], answer["post_at"]) == ("C1", int(NOW) + 3600)
    listed = client.chat_scheduledMessages_list(channel="C1")["scheduled_messages"]
    assert [(m["id"], m["channel_id"], m["text"]) for m in listed] == [(answer["scheduled_message_id"], "C1", "digest is late")]
    assert [m["id"] for m in clocked.scheduled] == [answer["scheduled_message_id"]]

    assert clocked.deliver_scheduled(NOW + 3599) == [] and clocked.messages == {}
    (posted,) = clocked.deliver_scheduled(NOW + 3600)
    assert [m["text"] for m in clocked.channel_history("C1")] == ["digest is late"] == [posted["text"]]
    assert clocked.scheduled == []
    gone = error_of(lambda: client.chat_deleteScheduledMessage(channel="C1", scheduled_message_id=answer["scheduled_message_id"]))
    assert gone.response["error"] == "invalid_scheduled_message_id"


def test_a_deleted_scheduled_message_is_never_posted(clocked: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=clocked.api_url)
    scheduled = client.chat_scheduleMessage(channel="U0OWNERY", post_at=int(NOW) + 600, text="late")
    assert scheduled["channel"] == "DU0OWNERY"
    client.chat_deleteScheduledMessage(channel="DU0OWNERY", scheduled_message_id=scheduled["scheduled_message_id"])
    assert clocked.deliver_scheduled(NOW + 86_400) == [] and clocked.messages == {}
    unknown = error_of(lambda: client.chat_deleteScheduledMessage(channel="C1", scheduled_message_id="Q123"))
    assert unknown.response["error"] == "invalid_scheduled_message_id"


def test_a_scheduled_message_due_within_a_minute_can_no_longer_be_deleted(clocked: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=clocked.api_url)
    soon = client.chat_scheduleMessage(channel="C1", post_at=int(NOW) + 30, text="soon")
    error = error_of(lambda: client.chat_deleteScheduledMessage(channel="C1", scheduled_message_id=soon["scheduled_message_id"]))
    assert error.response["error"] == "invalid_scheduled_message_id"
    assert [m["text"] for m in clocked.deliver_scheduled(NOW + 30)] == ["soon"]


def test_a_scheduled_message_with_metadata_is_accepted_but_never_posted(clocked: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=clocked.api_url)
    client.chat_scheduleMessage(channel="C1", post_at=int(NOW) + 60, text="warning", metadata=META)
    assert len(clocked.scheduled) == 1
    assert clocked.deliver_scheduled(NOW + 120) == []
    assert clocked.messages == {} and clocked.scheduled == []


@pytest.mark.parametrize(
    ("post_at", "error"),
    [(NOW - 1, "time_in_past"), (NOW + 120 * 86_400 + 1, "time_too_far"), ("tomorrow", "invalid_time")],
)
def test_scheduling_outside_the_window_is_refused(clocked: FakeSlack, post_at: Any, error: str) -> None:
    client = WebClient(token="xoxb-test", base_url=clocked.api_url)
    assert error_of(lambda: client.chat_scheduleMessage(channel="C1", post_at=post_at, text="x")).response["error"] == error
    assert clocked.scheduled == []


def test_scheduling_checks_the_message_like_posting(clocked: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=clocked.api_url)
    too_long = blocks_with_text(MAX_BLOCK_TEXT + 1)
    answer = error_of(lambda: client.chat_scheduleMessage(channel="C1", post_at=int(NOW) + 60, text="x", blocks=too_long))
    assert answer.response["error"] == "msg_blocks_too_long"


def test_more_than_30_scheduled_in_five_minutes_in_one_channel_is_refused(clocked: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=clocked.api_url)
    for i in range(30):
        client.chat_scheduleMessage(channel="C1", post_at=int(NOW) + 600 + i, text=str(i))
    crowded = error_of(lambda: client.chat_scheduleMessage(channel="C1", post_at=int(NOW) + 700, text="x"))
    assert crowded.response["error"] == "restricted_too_many"
    client.chat_scheduleMessage(channel="C2", post_at=int(NOW) + 700, text="x")


# --- rate limits (opt-in) -------------------------------------------------------------
class SteppedClock:
    """A clock the test moves by hand, so windows open and close without sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rate_limits_are_off_by_default(client: WebClient) -> None:
    for _ in range(10):
        client.chat_postMessage(channel="C1", text="x")


def test_post_message_is_limited_per_channel_and_recovers() -> None:
    clock = SteppedClock(NOW)
    with FakeSlack(rate_limits=True, clock=clock) as limited:
        client = WebClient(token="xoxb-test", base_url=limited.api_url)
        for _ in range(3):
            client.chat_postMessage(channel="C1", text="burst")
        error = error_of(lambda: client.chat_postMessage(channel="C1", text="one too many"))
        assert (error.response.status_code, error.response["error"]) == (429, "ratelimited")
        assert error.response.headers["Retry-After"] == "3"
        client.chat_postMessage(channel="C2", text="another channel is fine")
        clock.now += 3.01
        client.chat_postMessage(channel="C1", text="after the window")
        assert [c.status for c in limited.calls_to("chat.postMessage")] == [200, 200, 200, 429, 200, 200]
        assert len(limited.messages) == 5


@pytest.mark.parametrize(("method", "allowed"), [("chat.update", 50), ("views.update", 100)])
def test_tiered_methods_allow_their_calls_per_minute(method: str, allowed: int) -> None:
    clock = SteppedClock(NOW)
    with FakeSlack(rate_limits=True, clock=clock) as limited:
        client = WebClient(token="xoxb-test", base_url=limited.api_url)
        if method == "chat.update":
            ts = client.chat_postMessage(channel="C1", text="x")["ts"]
            call = lambda: client.chat_update(channel="C1", ts=ts, text="y")  # noqa: E731
        else:
            view_id = client.views_open(trigger_id=limited.trigger_id(), view=MODAL)["view"]["id"]
            call = lambda: client.views_update(view_id=view_id, view=MODAL)  # noqa: E731
        for _ in range(allowed):
            call()
            clock.now += 0.5
        error = error_of(call)
        assert error.response.status_code == 429
        assert 1 <= int(error.response.headers["Retry-After"]) <= 60
        clock.now += int(error.response.headers["Retry-After"])
        assert call()["ok"] is True


def test_a_person_reacts_once_per_emoji_and_removes_only_their_own(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="digest")["ts"]
    added = fake.react_as_user("U1", "C1", ts, "white_check_mark")
    assert added is not None and added["type"] == "reaction_added" and added["item"] == {"type": "message", "channel": "C1", "ts": ts, "channel_type": "channel"}
    assert added["item_user"] == "UBOT"
    assert fake.react_as_user("U1", "C1", ts, "white_check_mark") is None  # already_reacted
    assert fake.react_as_user("U2", "C1", ts, "white_check_mark") is not None
    assert fake.messages[("C1", ts)]["reactions"] == [{"name": "white_check_mark", "users": ["U1", "U2"], "count": 2}]
    assert fake.react_as_user("U3", "C1", ts, "white_check_mark", added=False) is None  # no_reaction
    removed = fake.react_as_user("U1", "C1", ts, "white_check_mark", added=False)
    assert removed is not None and removed["type"] == "reaction_removed"
    assert fake.messages[("C1", ts)]["reactions"] == [{"name": "white_check_mark", "users": ["U2"], "count": 1}]
    assert fake.react_as_user("U1", "C1", "1.000000", "eyes") is None  # no such message


def test_a_person_replies_in_a_thread_and_the_message_event_says_so(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="digest")["ts"]
    event = fake.post_as_user("U1", "C1", "on it", thread_ts=ts)
    assert event["type"] == "message" and event["thread_ts"] == ts and event["parent_user_id"] == "UBOT" and event["user"] == "U1"
    assert "bot_id" not in event and event["channel_type"] == "channel"
    assert [(m["user"], m["text"]) for m in fake.thread("C1", ts)] == [("U1", "on it")]
    assert fake.messages[("C1", ts)]["reply_count"] == 1
    top = fake.post_as_user("U1", "DU1", "hello")
    assert "thread_ts" not in top and top["channel_type"] == "im"
def test_a_response_url_works_five_times_within_thirty_minutes_with_limits() -> None:
    # Slack: "up to 5 times within 30 minutes" (RESPONSE_URL_USES, RESPONSE_URL_TTL).
    clock = SteppedClock(NOW)
    with FakeSlack(rate_limits=True, clock=clock) as limited:
        client = WebClient(token="xoxb-test", base_url=limited.api_url)
        ts = client.chat_postMessage(channel="C1", text="before")["ts"]
        hook = WebhookClient(limited.response_url("click", channel="C1", ts=ts))
        assert [hook.send(text=f"reply {n}").status_code for n in range(4)] == [200] * 4
        assert hook.send(text="fifth: replaced", replace_original=True).status_code == 200
        sixth = hook.send(text="sixth", replace_original=True)
        assert (sixth.status_code, sixth.body) == (404, "used_url")
        assert limited.messages[("C1", ts)]["text"] == "fifth: replaced"  # the refused one changed nothing
        late = WebhookClient(limited.response_url("late", channel="C1", ts=ts))
        clock.now += 30 * 60 + 1
        assert (late.send(text="too late").status_code, late.send(text="x").body) == (404, "expired_url")


def test_response_urls_are_not_counted_without_limits(client: WebClient, fake: FakeSlack) -> None:
    hook = WebhookClient(fake.response_url("many"))
    assert {hook.send(text="again").status_code for _ in range(7)} == {200}
