"""Uploading files to Slack exactly once: the fake's upload flow, the gateway
over it, and ``upload_once`` across failures, kills and replicas (SQLite and
PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from urllib.error import HTTPError

import pytest
from conftest import ROUTING, SHANGHAI, at
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.clock import FixedClock
from bot.fakeslack import UPLOAD_METHOD, FakeSlack
from bot.gateway import Backoff, SlackGateway, SlackUnavailable, UploadRefused, make_client
from bot.i18n import Catalog
from bot.services.deps import Deps, RoutingHolder
from bot.services.uploads import LEASE, UploadBusy, UploadConflict, find_shared, upload_once
from storage import uploads as su
from storage.db import make_session_factory, transaction
from storage.models import FileUpload

CHANNEL = "C0LOGISTICS"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40 + "月度通报".encode()  # every byte value, and UTF-8
XLSX = os.urandom(5000)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def gateway_for(fake: FakeSlack, *, timeout: int = 10, share_settle: float = 0.0) -> SlackGateway:
    return SlackGateway(make_client("xoxb-test", fake.api_url, timeout=timeout), backoff=Backoff(first=0.01), share_settle=share_settle)


def deps_for(session_factory, gateway: SlackGateway, clock: FixedClock) -> Deps:
    return Deps(
        holder=RoutingHolder(ROUTING), session_factory=session_factory, notifier=gateway,
        clock=clock, catalog=Catalog("en"), timezone=SHANGHAI,
    )  # fmt: skip


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at("2026-12-01 09:00"))


@pytest.fixture
def deps(fake, session_factory, clock) -> Deps:
    return deps_for(session_factory, gateway_for(fake), clock)


def shares(fake: FakeSlack) -> list[tuple[str, str, str | None]]:
    """Every share of every file: (file id, channel, thread_ts)."""
    return [(f["id"], s["channel"], s["thread_ts"]) for f in fake.files() for s in f["shares"]]


def file_messages(fake: FakeSlack) -> list[dict]:
    return [m for m in fake.messages.values() if m.get("files")]


def upload(deps: Deps, key: str = "monthly:2026-11:chart", **overrides) -> str:
    params = dict(key=key, channel=CHANNEL, filename="chart.png", content=PNG, title="月度通报 2026-11", comment="图表")
    return upload_once(deps, **(params | overrides))


# --- the fake's upload flow, driven by slack_sdk ------------------------------------------


def test_files_upload_v2_puts_the_bytes_in_a_shared_message_in_a_thread(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="月度通报")["ts"]
    answer = client.files_upload_v2(content=PNG, filename="chart.png", title="Chart", channel=CHANNEL, initial_comment="the chart", thread_ts=parent)
    file_id = answer["file"]["id"]
    assert fake.file_bytes(file_id) == PNG
    [reply] = client.conversations_replies(channel=CHANNEL, ts=parent)["messages"][1:]
    assert reply["text"] == "the chart" and reply["thread_ts"] == parent
    assert [(f["id"], f["name"], f["title"], f["size"]) for f in reply["files"]] == [(file_id, "chart.png", "Chart", len(PNG))]
    info = client.files_info(file=file_id)["file"]
    assert info["shares"] == {"public": {CHANNEL: [info["shares"]["public"][CHANNEL][0]]}}
    assert info["shares"]["public"][CHANNEL][0]["ts"] == reply["ts"]
    assert info["shares"]["public"][CHANNEL][0]["thread_ts"] == parent
    assert info["channels"] == [CHANNEL] and info["mimetype"] == "image/png"
    assert client.conversations_history(channel=CHANNEL)["messages"][0]["ts"] == parent  # the reply is not at top level


def test_a_share_in_a_dm_is_private_and_at_top_level(fake: FakeSlack, client: WebClient) -> None:
    dm = client.conversations_open(users="U0CSLEAD")["channel"]["id"]
    file_id = client.files_upload_v2(content=XLSX, filename="notice.xlsx", channel=dm)["file"]["id"]
    info = client.files_info(file=file_id)["file"]
    assert list(info["shares"]) == ["private"] and dm in info["shares"]["private"] and info["ims"] == [dm]
    [message] = client.conversations_history(channel=dm)["messages"]
    assert message["files"][0]["id"] == file_id and fake.file_bytes(file_id) == XLSX


def test_the_upload_url_refuses_a_length_other_than_the_one_announced(fake: FakeSlack, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=10)
    with pytest.raises(HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(ticket["upload_url"], data=b"123456789", method="POST"))
    assert refused.value.code == 400
    with pytest.raises(SlackApiError) as error:  # nothing arrived: nothing to complete
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "a"}], channel_id=CHANNEL)
    assert error.value.response["error"] == "file_not_found"
    assert fake.files() == [] and file_messages(fake) == []


def test_an_upload_url_works_once(fake: FakeSlack, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=3)
    urllib.request.urlopen(urllib.request.Request(ticket["upload_url"], data=b"abc", method="POST"))
    with pytest.raises(HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(ticket["upload_url"], data=b"xyz", method="POST"))
    assert refused.value.code == 410
    assert fake.file_bytes(ticket["file_id"]) == b"abc"


def test_an_upload_url_expires() -> None:
    with FakeSlack(upload_url_ttl=0.05) as fake:
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        ticket = client.files_getUploadURLExternal(filename="a.txt", length=3)
        time.sleep(0.1)
        with pytest.raises(HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(ticket["upload_url"], data=b"abc", method="POST"))
        assert refused.value.code == 410 and fake.files() == []


def test_files_upload_is_retired(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.api_call("files.upload", data={"content": "abc", "channels": CHANNEL, "filename": "a.txt"})
    assert error.value.response["error"] == "method_deprecated"
    assert fake.files() == [] and file_messages(fake) == []


def test_complete_refuses_user_ids_and_unknown_files(fake: FakeSlack, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=3)
    urllib.request.urlopen(urllib.request.Request(ticket["upload_url"], data=b"abc", method="POST"))
    with pytest.raises(SlackApiError) as user_id:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="U0CSLEAD")
    assert user_id.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as unknown:
        client.files_completeUploadExternal(files=[{"id": "F99999999"}], channel_id=CHANNEL)
    assert unknown.value.response["error"] == "file_not_found"
    assert file_messages(fake) == []


def test_sharing_lags_behind_the_completion_when_slack_is_slow(client: WebClient) -> None:
    with FakeSlack(share_delay=0.3) as slow:
        client = WebClient(token="xoxb-test", base_url=slow.api_url)
        answer = client.files_upload_v2(content=b"abc", filename="a.txt", channel=CHANNEL)
        file_id = answer["file"]["id"]
        assert answer["file"]["shares"] == {} and client.files_info(file=file_id)["file"]["shares"] == {}
        time.sleep(0.35)
        assert CHANNEL in client.files_info(file=file_id)["file"]["shares"]["public"]
        assert len(file_messages(slow)) == 1


def test_fail_next_after_applying_keeps_the_bytes(fake: FakeSlack, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=3)
    fake.fail_next(UPLOAD_METHOD, "internal_error", status=500, applied=True)
    with pytest.raises(HTTPError) as failed:
        urllib.request.urlopen(urllib.request.Request(ticket["upload_url"], data=b"abc", method="POST"))
    assert failed.value.code == 500 and fake.file_bytes(ticket["file_id"]) == b"abc"
    [call] = fake.calls_to(UPLOAD_METHOD)
    assert (call.status, call.applied) == (500, True)


# --- upload_once against the fake ---------------------------------------------------------


def test_upload_once_shares_the_bytes_in_the_channel_and_a_rerun_adds_nothing(fake: FakeSlack, deps: Deps) -> None:
    file_id = upload(deps)
    assert fake.file_bytes(file_id) == PNG
    [message] = file_messages(fake)
    assert message["text"] == "图表" and message["thread_ts"] is None
    assert [(f["id"], f["title"]) for f in message["files"]] == [(file_id, "月度通报 2026-11")]
    assert fake.channel_history(CHANNEL) == [message]
    calls = len(fake.calls)
    assert upload(deps) == file_id
    assert len(fake.calls) == calls  # done: Slack is not even asked
    assert find_shared(deps, "monthly:2026-11:chart") == file_id


def test_upload_once_shares_in_a_thread_and_in_a_dm(fake: FakeSlack, deps: Deps, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="月度通报")["ts"]
    in_thread = upload(deps, key="k:thread", thread_ts=parent)
    to_lead = upload(deps, key="k:dm", channel="U0CSLEAD", filename="notice.xlsx", content=XLSX, comment=None)
    assert shares(fake) == [(in_thread, CHANNEL, parent), (to_lead, "DU0CSLEAD", None)]
    assert [m["files"][0]["id"] for m in fake.thread(CHANNEL, parent)] == [in_thread]
    assert fake.file_bytes(to_lead) == XLSX


def test_a_500_after_slack_shared_it_shares_it_once(fake: FakeSlack, deps: Deps) -> None:
    fake.fail_next("files.completeUploadExternal", "internal_error", status=500, applied=True)
    file_id = upload(deps)
    assert shares(fake) == [(file_id, CHANNEL, None)]
    assert len(fake.calls_to("files.completeUploadExternal")) == 1  # files.info showed it shared: not completed again


def test_a_timeout_after_slack_shared_it_shares_it_once(fake: FakeSlack, session_factory, clock) -> None:
    deps = deps_for(session_factory, gateway_for(fake, timeout=1), clock)
    fake.hang_next("files.completeUploadExternal", 2, applied=True)
    file_id = upload(deps)
    assert shares(fake) == [(file_id, CHANNEL, None)]
    assert len(fake.calls_to("files.completeUploadExternal")) == 1


def test_a_500_before_slack_shared_it_is_retried_and_shared_once(fake: FakeSlack, deps: Deps) -> None:
    fake.fail_next("files.completeUploadExternal", "internal_error", status=500)
    file_id = upload(deps)
    assert shares(fake) == [(file_id, CHANNEL, None)]
    assert [c.status for c in fake.calls_to("files.completeUploadExternal")] == [500, 200]
    assert len(fake.calls_to("files.getUploadURLExternal")) == 1


def test_a_slow_share_after_a_500_is_waited_for_not_repeated(session_factory, clock) -> None:
    with FakeSlack(share_delay=0.4) as slow:
        deps = deps_for(session_factory, gateway_for(slow, share_settle=3.0), clock)
        slow.fail_next("files.completeUploadExternal", "internal_error", status=500, applied=True)
        file_id = upload(deps)
        assert shares(slow) == [(file_id, CHANNEL, None)]
        assert len(slow.calls_to("files.completeUploadExternal")) == 1


def test_a_failed_byte_upload_is_redone_from_a_fresh_url(fake: FakeSlack, deps: Deps) -> None:
    fake.fail_next(UPLOAD_METHOD, "internal_error", status=500, applied=True)  # the bytes arrived, the answer did not
    file_id = upload(deps)
    assert shares(fake) == [(file_id, CHANNEL, None)]
    first, second = (f["id"] for f in fake.files())
    assert file_id == second and not fake.files()[0]["completed"]  # the first upload is left to Slack to discard


def test_slack_down_leaves_the_key_to_resume_without_a_second_share(fake: FakeSlack, deps: Deps, clock: FixedClock) -> None:
    fake.fail_next("files.completeUploadExternal", "internal_error", status=500, times=4)
    with pytest.raises(SlackUnavailable):
        upload(deps)
    with transaction(deps.session_factory) as session:
        row = su.find_upload(session=session, key="monthly:2026-11:chart")
        assert row is not None and row.file_id is not None and row.shared_at is None
        assert row.attempts == 1 and "SlackUnavailable" in row.error and row.lease_until == clock.now()
        stored = row.file_id
    assert upload(deps) == stored  # the lease was released: the next call resumes at once
    assert shares(fake) == [(stored, CHANNEL, None)]
    assert len(fake.calls_to("files.getUploadURLExternal")) == 1


def prepare_then_die(deps: Deps, key: str) -> str:
    """What a run does before it is killed between prepare and share: claim
    the key, upload the bytes, store the file id, and never share."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        _, row = su.claim_upload(
            session=session, key=key, channel=CHANNEL, filename="chart.png", title="月度通报 2026-11",
            sha256=hashlib.sha256(PNG).hexdigest(), length=len(PNG), now=now, lease=LEASE,
        )  # fmt: skip
        holder = row.claimed_at
    file_id = deps.notifier.prepare_upload(filename="chart.png", content=PNG)
    with transaction(deps.session_factory) as session:
        assert su.set_upload_prepared(session=session, key=key, file_id=file_id, now=now, holder=holder)
    return file_id


def test_a_run_killed_between_prepare_and_share_is_resumed_without_uploading_again(fake: FakeSlack, deps: Deps, clock: FixedClock) -> None:
    prepared = prepare_then_die(deps, "monthly:2026-11:chart")
    with pytest.raises(UploadBusy):  # its lease still runs: another replica keeps off
        upload(deps)
    clock.advance(LEASE)
    assert upload(deps) == prepared
    assert shares(fake) == [(prepared, CHANNEL, None)]
    assert len(fake.calls_to("files.getUploadURLExternal")) == 1 and len(fake.calls_to(UPLOAD_METHOD)) == 1


def test_a_run_killed_after_sharing_is_recorded_without_sharing_again(fake: FakeSlack, deps: Deps, clock: FixedClock) -> None:
    prepared = prepare_then_die(deps, "monthly:2026-11:chart")
    deps.notifier.share_upload(prepared, CHANNEL, title="月度通报 2026-11", comment="图表")  # shared, then killed before recording it
    clock.advance(LEASE)
    assert upload(deps) == prepared
    assert shares(fake) == [(prepared, CHANNEL, None)]
    assert len(fake.calls_to("files.completeUploadExternal")) == 1


def test_an_upload_slack_discarded_meanwhile_is_uploaded_afresh(fake: FakeSlack, deps: Deps, clock: FixedClock) -> None:
    prepared = prepare_then_die(deps, "monthly:2026-11:chart")
    assert fake.abandon_uploads() == [prepared]
    clock.advance(LEASE)
    file_id = upload(deps)
    assert file_id != prepared and shares(fake) == [(file_id, CHANNEL, None)] and fake.file_bytes(file_id) == PNG
    with transaction(deps.session_factory) as session:
        assert su.find_upload(session=session, key="monthly:2026-11:chart").file_id == file_id


def test_the_same_key_for_another_file_is_refused(fake: FakeSlack, deps: Deps) -> None:
    file_id = upload(deps)
    with pytest.raises(UploadConflict, match="monthly:2026-11:chart"):
        upload(deps, channel="C0OTHERCHAN")
    with pytest.raises(UploadConflict):
        upload(deps, filename="other.png")
    assert shares(fake) == [(file_id, CHANNEL, None)] and len(fake.calls_to("files.getUploadURLExternal")) == 1


def test_other_bytes_once_shared_share_nothing_more(fake: FakeSlack, deps: Deps) -> None:
    file_id = upload(deps)
    assert upload(deps, content=PNG + b"!") == file_id  # the key's file is the one in Slack
    assert shares(fake) == [(file_id, CHANNEL, None)] and len(fake.calls_to("files.getUploadURLExternal")) == 1


def test_other_bytes_on_resume_replace_the_ones_never_shared(fake: FakeSlack, deps: Deps, clock: FixedClock) -> None:
    # A run uploaded the bytes and died before sharing; the next run renders the file again and it
    # comes out different (the retention job masked a customer meanwhile): the new bytes are shared, once.
    prepared = prepare_then_die(deps, "monthly:2026-11:chart")
    clock.advance(LEASE)
    file_id = upload(deps, content=PNG + b"!")
    assert file_id != prepared and shares(fake) == [(file_id, CHANNEL, None)] and fake.file_bytes(file_id) == PNG + b"!"
    with transaction(deps.session_factory) as session:
        row = su.find_upload(session=session, key="monthly:2026-11:chart")
        assert (row.file_id, row.sha256) == (file_id, hashlib.sha256(PNG + b"!").hexdigest())


def test_other_bytes_on_resume_after_the_old_ones_were_shared_share_nothing_more(fake: FakeSlack, deps: Deps, clock: FixedClock) -> None:
    prepared = prepare_then_die(deps, "monthly:2026-11:chart")
    deps.notifier.share_upload(prepared, CHANNEL, title="月度通报 2026-11", comment="图表")  # shared, then killed before recording it
    clock.advance(LEASE)
    assert upload(deps, content=PNG + b"!") == prepared
    assert shares(fake) == [(prepared, CHANNEL, None)] and len(fake.calls_to("files.getUploadURLExternal")) == 1


def test_two_replicas_racing_on_one_key_share_one_file(fake: FakeSlack, engine, replica_engine, clock: FixedClock) -> None:
    fake.hang_next("files.completeUploadExternal", 0.3, applied=True)  # the winner is still sharing when the other arrives
    replicas = [deps_for(make_session_factory(e), gateway_for(fake), clock) for e in (engine, replica_engine)]
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def run(deps: Deps) -> None:
        start.wait()
        try:
            outcomes.append(upload(deps))
        except UploadBusy as busy:
            outcomes.append(busy)

    threads = [threading.Thread(target=run, args=(d,)) for d in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and all(isinstance(o, str | UploadBusy) for o in outcomes)
    [file_id] = {o for o in outcomes if isinstance(o, str)}  # the loser was kept off (busy) or found it done
    assert shares(fake) == [(file_id, CHANNEL, None)] and len(fake.calls_to("files.getUploadURLExternal")) == 1
    with transaction(make_session_factory(engine)) as session:
        assert len(session.exec(select(FileUpload)).all()) == 1
    assert upload(replicas[1]) == file_id  # afterwards, the other replica finds it done


def test_a_refused_upload_is_not_retried_and_empty_content_is_refused_before_slack(fake: FakeSlack, deps: Deps) -> None:
    fake.fail_next(UPLOAD_METHOD, "upload refused", status=400)
    with pytest.raises(UploadRefused, match="HTTP 400"):
        upload(deps)
    assert len(fake.calls_to(UPLOAD_METHOD)) == 1 and shares(fake) == []
    with transaction(deps.session_factory) as session:
        row = su.find_upload(session=session, key="monthly:2026-11:chart")
        assert row.file_id is None and row.attempts == 1 and "UploadRefused" in row.error
    calls = len(fake.calls)
    with pytest.raises(ValueError, match="empty"):
        upload(deps, key="k:empty", content=b"")
    assert len(fake.calls) == calls
