"""Tests of our fake Slack, driven by the real slack_sdk WebClient and Bolt App."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.fakeslack import (
    BOT_USER_ID,
    FakeSlack,
    SignedRequest,
    SlackSigner,
    block_actions,
    event_callback,
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
    opened = client.views_open(trigger_id="t", view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], view=modal | {"private_metadata": "42"})["view"]
    home = client.views_publish(user_id="U0OWNERY", view={"type": "home", "blocks": [section("home")]})["view"]

    assert opened["id"].startswith("V") and opened["callback_id"] == "item.reject"
    assert updated["id"] == opened["id"] and fake.views[opened["id"]]["private_metadata"] == "42"
    assert fake.home_view("U0OWNERY") == home
    too_long = modal | {"title": {"type": "plain_text", "text": "x" * 25}}
    assert error_of(lambda: client.views_open(trigger_id="t", view=too_long)).response["error"] == "invalid_arguments"


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


def test_fifty_blocks_and_long_but_legal_text_pass(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x", blocks=[section("y" * 3000) for _ in range(50)])


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
