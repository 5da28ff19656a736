"""Logging and importing in Slack (issue 9, section 2), end to end: signed
slash commands, modal submissions and DM events through the real app from
``create_app`` into our fake Slack, on SQLite and PostgreSQL.

Assertions look at what people see (private answers, the DM's messages and
their updates, the files shared) and what is stored (items, import batches,
the ``slack_import`` rows), and at what the fake saw fetched (``url_private``)."""

from __future__ import annotations

import csv
import io
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import select
from test_core_loop import CS_AGENT, CS_LEAD, SAMPLE, Y, items, seed

from bot.app import create_app
from bot.core.routing import ImportLimits
from bot.fakeslack import DOWNLOAD_METHOD, event_callback, new_trigger_id, slash_command, view_submission
from bot.gateway import Backoff, DownloadRefused, SlackGateway, make_client
from bot.ids import ActionId, BlockId, ViewId
from bot.services import slack_import
from bot.services.importing import import_export
from storage import slack_imports
from storage.db import transaction
from storage.models import ImportBatch, SlackImport

HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"
AGENT_DM = f"D{CS_AGENT}"


# --- talking to the app --------------------------------------------------------------------


def command(bot, signer, fake, text: str, user: str, trigger_id: str | None = None):
    request = slash_command(signer, text=text, user_id=user, channel_id="C0LOGISTICS", response_url=fake.response_url(),
                            trigger_id=trigger_id or new_trigger_id())  # fmt: skip
    return bot.app.dispatch(request.to_bolt())


def replies(fake) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("response_url")]


def log_values(*, order: str = "SO20261127000001", day: str | None = "2026-11-27", branch: str = "南京分公司",
               category: str | None = "large", scenario: str | None = "received", customer: str = "王伟 13812341234",
               note: str = "客户称已收货") -> dict:  # fmt: skip
    def option(value: str | None) -> dict:
        return {"type": "static_select", "selected_option": None if value is None else {"value": value, "text": {"type": "plain_text", "text": value}}}

    return {
        BlockId.LOG_ORDER: {ActionId.LOG_ORDER: order},
        BlockId.LOG_REJECTED_ON: {ActionId.LOG_REJECTED_ON: {"type": "datepicker", "selected_date": day}},
        BlockId.LOG_BRANCH: {ActionId.LOG_BRANCH: branch},
        BlockId.LOG_CATEGORY: {ActionId.LOG_CATEGORY: option(category)},
        BlockId.LOG_SCENARIO: {ActionId.LOG_SCENARIO: option(scenario)},
        BlockId.LOG_CUSTOMER: {ActionId.LOG_CUSTOMER: customer},
        BlockId.LOG_NOTE: {ActionId.LOG_NOTE: note},
    }


def submit_log(bot, signer, user: str = CS_AGENT, **values):
    request = view_submission(signer, user_id=user, callback_id=ViewId.LOG, private_metadata="", values=log_values(**values))
    return bot.app.dispatch(request.to_bolt())


def errors_of(response) -> dict:
    import json

    body = json.loads(response.body) if response.body else {}
    assert body.get("response_action") == "errors", response.body
    return body["errors"]


def dm_texts(fake, user: str) -> list[str]:
    return [m["text"] for (channel, _), m in sorted(fake.messages.items(), key=lambda kv: kv[0][1]) if channel == f"D{user}"]


def batches(session_factory) -> list[ImportBatch]:
    with transaction(session_factory) as session:
        return list(session.exec(select(ImportBatch).order_by(ImportBatch.id)).all())


def slack_rows(session_factory) -> list[SlackImport]:
    with transaction(session_factory) as session:
        return list(session.exec(select(SlackImport).order_by(SlackImport.id)).all())


def upload(bot, signer, fake, *, user: str = CS_AGENT, filename: str = "callbacks.csv", content: bytes, event_id: str = "Ev0001"):
    event = fake.upload_as_user(user, filename, content)
    bot.app.dispatch(event_callback(signer, event=event, event_id=event_id).to_bolt())
    return event


def reply_text(fake, row: SlackImport) -> str:
    return fake.messages[(row.channel, row.reply_ts)]["text"]


def csv_rows(*lines: str) -> bytes:
    return "\n".join([HEADER, *lines]).encode()


GOOD = "SO20261126100001,2026-11-26,南京分公司,大件,客户已收货,张先生 13812341234,王丽,2026-11-26 16:00,已签收"
GOOD2 = "SO20261126100002,2026-11-26,杭州分公司,小件,,李女士 13912341234,王丽,,"
BAD_DATE = "SO20261126100003,2026-13-45,南京分公司,大件,,,王丽,,=HYPERLINK(\"http://x\")"
BAD_TYPE = "SO20261126100004,2026-11-26,南京分公司,中件,,,王丽,,@SUM(1)"


# --- /reject log ---------------------------------------------------------------------------


def test_log_opens_a_modal_for_cs_with_the_importers_choices(bot, signer, fake_slack) -> None:
    command(bot, signer, fake_slack, "log", CS_AGENT)
    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error is None
    view = opened.params["view"]
    assert view["callback_id"] == ViewId.LOG
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks[BlockId.LOG_REJECTED_ON]["element"]["type"] == "datepicker"
    assert blocks[BlockId.LOG_REJECTED_ON]["element"]["initial_date"] == "2026-11-27"
    assert [o["value"] for o in blocks[BlockId.LOG_CATEGORY]["element"]["options"]] == ["large", "small"]
    assert [o["text"]["text"] for o in blocks[BlockId.LOG_CATEGORY]["element"]["options"]] == ["large item", "small item"]
    assert [o["value"] for o in blocks[BlockId.LOG_SCENARIO]["element"]["options"]] == ["received", "reschedule"]
    assert "王丽" in view["blocks"][0]["elements"][0]["text"]
    assert replies(fake_slack) == []


def test_log_is_refused_to_someone_outside_cs(bot, signer, fake_slack, session_factory) -> None:
    command(bot, signer, fake_slack, "登记", Y)
    assert fake_slack.calls_to("views.open") == []
    (text,) = replies(fake_slack)
    assert "Only customer service" in text
    response = submit_log(bot, signer, user=Y)
    assert response.status == 200
    assert items(session_factory) == {}
    assert any("Only customer service" in t for t in dm_texts(fake_slack, Y))


def test_log_with_an_expired_trigger_says_to_try_again(bot, signer, fake_slack) -> None:
    command(bot, signer, fake_slack, "log", CS_AGENT, trigger_id=new_trigger_id(now=time.time() - 10))
    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error == "expired_trigger_id"
    (text,) = replies(fake_slack)
    assert "/reject log again" in text


def test_a_good_record_is_stored_as_an_import_of_one_row_and_told(bot, signer, fake_slack, session_factory) -> None:
    response = submit_log(bot, signer)
    assert response.status == 200 and not response.body
    item = items(session_factory)["SO20261127000001"]
    assert (item.rejected_on, item.branch, item.category, item.scenario) == (date(2026, 11, 27), "南京分公司", "large", "received")
    assert (item.customer, item.callback_agent, item.note, item.status) == ("王伟 13812341234", "王丽", "客户称已收货", "new")
    (batch,) = batches(session_factory)
    assert (batch.filename, batch.actor, batch.added, batch.skipped, batch.rejected) == (f"slack:log:{CS_AGENT}", CS_AGENT, 1, 0, 0)
    assert item.batch_id == batch.id
    (told,) = dm_texts(fake_slack, CS_AGENT)
    assert "Stored: SO20261127000001, rejected on 2026-11-27, 南京分公司, large item." in told
    assert "next daily digest (2026-11-30 08:30)" in told  # Friday 08:30 has passed: Monday's


def test_a_logged_record_of_a_reported_order_is_said_to_be_held_not_posted(bot, signer, fake_slack, session_factory) -> None:
    command(bot, signer, fake_slack, "report SO20261127000001 refused the customer sent it back", Y)
    assert submit_log(bot, signer).status == 200
    assert items(session_factory)["SO20261127000001"].status == "held"
    (told,) = dm_texts(fake_slack, CS_AGENT)
    assert "Stored: SO20261127000001" in told and "held back from the digest" in told and "Keep or Drop" in told
    assert "next daily digest" not in told


def test_the_upload_summary_says_how_many_records_were_held(bot, signer, fake_slack, session_factory) -> None:
    command(bot, signer, fake_slack, "report SO20261126100001 refused", Y)
    upload(bot, signer, fake_slack, content=csv_rows(GOOD, GOOD2))
    assert bot.services.run_imports() == 1
    assert [i.status for _, i in sorted(items(session_factory).items())] == ["held", "new"]
    (row,) = slack_rows(session_factory)
    assert "1 record(s) were reported as legitimate rejections" in reply_text(fake_slack, row)
    upload(bot, signer, fake_slack, content=csv_rows(GOOD2), event_id="Ev0002")  # nothing held: not said
    bot.services.run_imports()
    assert "legitimate rejections" not in reply_text(fake_slack, slack_rows(session_factory)[1])


def test_a_record_no_owner_covers_is_stored_and_said_to_go_to_the_cs_lead(bot, signer, fake_slack, session_factory) -> None:
    submit_log(bot, signer, category="small", branch="上海浦东分公司")
    assert "SO20261127000001" in items(session_factory)
    (told,) = dm_texts(fake_slack, CS_AGENT)
    assert "No owner covers" in told


def test_bad_fields_get_the_importers_messages_on_the_fields_and_nothing_is_stored(bot, signer, fake_slack, session_factory) -> None:
    response = submit_log(bot, signer, order="SO2026\u200b1127", day="1999-12-31", branch="分" * 129, category=None)
    errors = errors_of(response)
    assert set(errors) == {BlockId.LOG_ORDER, BlockId.LOG_REJECTED_ON, BlockId.LOG_BRANCH, BlockId.LOG_CATEGORY}
    assert "U+200B" in errors[BlockId.LOG_ORDER]
    assert "2000-01-01" in errors[BlockId.LOG_REJECTED_ON]
    assert "129 characters" in errors[BlockId.LOG_BRANCH]
    assert "empty" in errors[BlockId.LOG_CATEGORY]
    assert items(session_factory) == {} and batches(session_factory) == []
    assert dm_texts(fake_slack, CS_AGENT) == []


def test_a_known_record_is_a_duplicate_on_the_order_field(bot, signer, fake_slack, session_factory, clock) -> None:
    seed(session_factory, clock)  # SO20261126000000 rejected on 2026-11-26 is in the sample
    before = len(items(session_factory))
    response = submit_log(bot, signer, order=" so20261126000000 ", day="2026-11-26")  # normalised as the importer does
    errors = errors_of(response)
    assert list(errors) == [BlockId.LOG_ORDER]
    assert "SO20261126000000 rejected on 2026-11-26 is already recorded" in errors[BlockId.LOG_ORDER]
    assert len(items(session_factory)) == before and batches(session_factory) == []


def test_import_explains_both_ways(bot, signer, fake_slack) -> None:
    command(bot, signer, fake_slack, "导入", Y)
    (text,) = replies(fake_slack)
    assert "/reject log" in text and "rejectbot import" in text and "200,000 rows" in text


# --- a file sent to the app's DM -------------------------------------------------------------


def test_a_good_file_is_imported_off_the_request_and_summarised(bot, signer, fake_slack, session_factory) -> None:
    event = upload(bot, signer, fake_slack, content=SAMPLE.read_bytes(), filename="callbacks-2026-11-26.csv")
    (row,) = slack_rows(session_factory)
    assert (row.file_id, row.user, row.channel, row.finished_at) == (event["files"][0]["id"], CS_AGENT, AGENT_DM, None)
    assert reply_text(fake_slack, row) == "Received callbacks-2026-11-26.csv; importing it…"
    assert fake_slack.calls_to(DOWNLOAD_METHOD) == [] and items(session_factory) == {}  # nothing on the request path

    assert bot.services.run_imports() == 1
    (fetched,) = fake_slack.calls_to(DOWNLOAD_METHOD)
    assert (fetched.status, fetched.token) == (200, "xoxb-test")
    assert len(items(session_factory)) == 40
    (batch,) = batches(session_factory)
    assert (batch.filename, batch.actor, batch.added) == ("callbacks-2026-11-26.csv", CS_AGENT, 40)
    (row,) = slack_rows(session_factory)
    assert (row.outcome, row.batch_id) == ("imported", batch.id) and row.finished_at is not None
    summary = reply_text(fake_slack, row)
    assert "Import of callbacks-2026-11-26.csv: 40 row(s)" in summary and "Added: 40" in summary
    assert "No owner covers 2 record(s)" in summary
    assert [f for f in fake_slack.files() if f["name"].endswith("-rejected.csv")] == []
    assert bot.services.run_imports() == 0


def test_bad_rows_come_back_as_a_csv_with_their_reasons_shared_once(bot, signer, fake_slack, session_factory) -> None:
    upload(bot, signer, fake_slack, content=csv_rows(GOOD, BAD_DATE, GOOD2, BAD_TYPE), filename="day.csv")
    bot.services.run_imports()
    assert set(items(session_factory)) == {"SO20261126100001", "SO20261126100002"}
    (row,) = slack_rows(session_factory)
    summary = reply_text(fake_slack, row)
    assert "Rejected rows, not imported: 2" in summary and "row 3:" in summary and "row 5:" in summary
    (rejected,) = [f for f in fake_slack.files() if f["name"] == "day-rejected.csv"]
    assert [(s["channel"], s["thread_ts"]) for s in rejected["shares"]] == [(AGENT_DM, row.reply_ts)]
    table = list(csv.reader(io.StringIO(rejected["content"].decode("utf-8-sig"))))
    assert table[0] == ["row", "reasons", *HEADER.split(",")]
    assert [r[0] for r in table[1:]] == ["3", "5"]
    assert "is not a date" in table[1][1] and "中件" in table[2][1]
    assert table[1][2] == "SO20261126100003" and table[1][-1] == "'=HYPERLINK(\"http://x\")"  # safe_cell: never a formula
    assert table[2][-1] == "'@SUM(1)"

    # Slack delivers the event again (a retry, or a redelivery after a crash): nothing more
    bot.app.dispatch(event_callback(signer, event={
        "type": "message", "subtype": "file_share", "channel_type": "im", "user": CS_AGENT, "channel": AGENT_DM,
        "files": [{"id": row.file_id}], "ts": "1.0",
    }, event_id="Ev0002").to_bolt())  # fmt: skip
    assert bot.services.run_imports() == 0
    assert len([f for f in fake_slack.files() if f["name"] == "day-rejected.csv"]) == 1
    assert len(slack_rows(session_factory)) == 1 and len(batches(session_factory)) == 1


def test_the_rejected_rows_are_read_again_before_the_imports_transaction_opens(engine, session_factory, clock, routing) -> None:
    """On SQLite every writer waits behind the import's transaction: the slow
    re-read for the rejected rows' CSV (``on_parsed``) runs before it opens."""
    open_transactions = [0]
    for name, step in (("begin", 1), ("commit", -1), ("rollback", -1)):
        event.listen(engine, name, lambda *_, step=step: open_transactions.__setitem__(0, open_transactions[0] + step))
    seen: dict = {}
    import_export(
        session_factory=session_factory, now=clock.now(), timezone=ZoneInfo("Asia/Shanghai"), routing=routing,
        data=csv_rows(GOOD, BAD_DATE), filename="a.csv", actor=CS_AGENT,
        on_parsed=lambda problems: seen.setdefault("parsed", (open_transactions[0], sorted({p.row for p in problems}))),
        on_stored=lambda session, batch, report: seen.setdefault("stored", (open_transactions[0], report.added)),
    )  # fmt: skip
    assert seen == {"parsed": (0, [3]), "stored": (1, 1)}


def test_the_same_file_twice_imports_nothing_new_and_says_so(bot, signer, fake_slack, session_factory) -> None:
    upload(bot, signer, fake_slack, content=csv_rows(GOOD, GOOD2), event_id="Ev1")
    bot.services.run_imports()
    upload(bot, signer, fake_slack, content=csv_rows(GOOD, GOOD2), event_id="Ev2")  # a new Slack file, the same bytes
    bot.services.run_imports()
    first, second = slack_rows(session_factory)
    assert first.file_id != second.file_id
    assert [b.added for b in batches(session_factory)] == [2, 0]
    summary = reply_text(fake_slack, second)
    assert "Added: 0" in summary and "Nothing new" in summary and "Already in the database, skipped: 2" in summary
    assert len(items(session_factory)) == 2


def test_a_file_from_someone_outside_cs_is_refused_and_never_fetched(bot, signer, fake_slack, session_factory) -> None:
    upload(bot, signer, fake_slack, user=Y, content=csv_rows(GOOD))
    assert fake_slack.calls_to("files.info") == [] and fake_slack.calls_to(DOWNLOAD_METHOD) == []
    texts = dm_texts(fake_slack, Y)
    assert any("Only customer service" in t and "nothing was imported" in t for t in texts)
    assert bot.services.run_imports() == 0
    assert fake_slack.calls_to(DOWNLOAD_METHOD) == [] and items(session_factory) == {}
    (row,) = slack_rows(session_factory)
    assert row.outcome == "refused" and row.finished_at is not None


def test_a_file_that_is_not_csv_or_xlsx_is_refused_before_download(bot, signer, fake_slack, session_factory) -> None:
    upload(bot, signer, fake_slack, filename="notes.txt", content=b"hello")
    assert fake_slack.calls_to(DOWNLOAD_METHOD) == []
    assert any("only .csv and .xlsx" in t for t in dm_texts(fake_slack, CS_AGENT))
    assert bot.services.run_imports() == 0 and items(session_factory) == {}


def test_a_file_over_max_bytes_is_refused_from_files_info_before_download(settings, fake_slack, session_factory, clock, routing, signer) -> None:
    small = replace(routing, imports=ImportLimits(max_bytes=200, max_rows=routing.imports.max_rows))
    bot = create_app(settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory,
                     clock=clock, routing=small, process_before_response=True)  # fmt: skip
    upload(bot, signer, fake_slack, content=csv_rows(GOOD, GOOD2, GOOD, GOOD2))
    assert len(fake_slack.calls_to("files.info")) == 1
    assert fake_slack.calls_to(DOWNLOAD_METHOD) == []
    assert any("too big" in t.lower() or "200" in t for t in dm_texts(fake_slack, CS_AGENT))
    assert bot.services.run_imports() == 0 and items(session_factory) == {}


@pytest.mark.parametrize(("user", "filename", "says"), [(Y, "callbacks.csv", "Only customer service"), (CS_AGENT, "notes.txt", "only .csv and .xlsx")])
def test_a_refusal_whose_post_fails_is_told_by_a_run_once_slack_is_back(bot, signer, fake_slack, session_factory, clock,
                                                                       user, filename, says) -> None:  # fmt: skip
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, times=Backoff().attempts)  # every try of one post
    event = upload(bot, signer, fake_slack, user=user, filename=filename, content=csv_rows(GOOD))
    bot.app.dispatch(event_callback(signer, event=event, event_id="Ev0001").to_bolt())  # redelivered: the row is there
    assert not any(says in t for t in dm_texts(fake_slack, user))
    (row,) = slack_rows(session_factory)
    assert row.outcome == "refused" and row.finished_at is None
    clock.set(clock.now() + slack_import.RETRY_AFTER + timedelta(seconds=1))
    assert bot.services.run_imports() == 1
    assert sum(says in t for t in dm_texts(fake_slack, user)) == 1
    assert bot.services.run_imports() == 0 and items(session_factory) == {}
    (row,) = slack_rows(session_factory)
    assert row.outcome == "refused" and row.finished_at is not None and says in reply_text(fake_slack, row)


def test_a_received_reply_whose_post_fails_is_left_to_the_run_which_posts_the_summary(bot, signer, fake_slack, session_factory) -> None:
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, times=Backoff().attempts)  # every try of one post
    upload(bot, signer, fake_slack, content=csv_rows(GOOD))
    (row,) = slack_rows(session_factory)
    assert (row.reply_ts, row.lease_until, row.finished_at) == (None, None, None)
    assert bot.services.run_imports() == 1
    (row,) = slack_rows(session_factory)
    assert row.outcome == "imported" and "Added: 1" in reply_text(fake_slack, row)
    assert [t for t in dm_texts(fake_slack, CS_AGENT) if t] == [reply_text(fake_slack, row)]  # '': the file's own message


def test_a_new_row_is_held_by_its_receiver_until_its_reply_ts_is_stored(bot, signer, fake_slack, session_factory, clock) -> None:
    """A run's re-check between the row's commit and its reply's ts cannot
    claim it (it would post a second reply, the "Received" never updated)."""
    with transaction(session_factory) as session:
        row = slack_imports.add_import(session=session, file_id="F0RACE", user=CS_AGENT, channel=AGENT_DM, filename="a.csv",
                                       size=10, now=clock.now(), holder="receive:x", lease_until=clock.now() + slack_import.LEASE)  # fmt: skip
        assert row is not None
    assert bot.services.run_imports() == 0
    upload(bot, signer, fake_slack, content=csv_rows(GOOD))
    received = [r for r in slack_rows(session_factory) if r.file_id != "F0RACE"]
    assert [(r.reply_ts is not None, r.lease_until) for r in received] == [(True, None)]


def test_the_fake_refuses_a_download_without_the_bot_token_as_slack_does(bot, signer, fake_slack) -> None:
    event = upload(bot, signer, fake_slack, content=csv_rows(GOOD))
    url = event["files"][0]["url_private"]
    opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,), {"redirect_request": lambda *a: None}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(url)
    assert refused.value.code == 302
    assert refused.value.headers["Location"].startswith("https://rejectbot-test.slack.com/?redir=")
    assert b"Found" in refused.value.read()
    gateway = SlackGateway(make_client("not-a-token", fake_slack.api_url))
    with pytest.raises(DownloadRefused) as by_gateway:
        gateway.download(url, limit=10_000)
    assert by_gateway.value.status == 302
    assert SlackGateway(make_client("xoxb-test", fake_slack.api_url)).download(url, limit=10_000) == csv_rows(GOOD)
    assert [c.status for c in fake_slack.calls_to(DOWNLOAD_METHOD)] == [302, 302, 200]


def test_the_download_reads_at_most_one_byte_past_the_limit(bot, signer, fake_slack) -> None:
    content = csv_rows(*([GOOD] * 50))
    event = upload(bot, signer, fake_slack, content=content)
    data = SlackGateway(make_client("xoxb-test", fake_slack.api_url)).download(event["files"][0]["url_private"], limit=100)
    assert data == content[:101]


def test_an_import_whose_run_died_is_redone_once_its_lease_runs_out(bot, signer, fake_slack, session_factory, clock) -> None:
    upload(bot, signer, fake_slack, content=csv_rows(GOOD, GOOD2, BAD_DATE))
    with transaction(session_factory) as session:  # a run claims it, then its process is killed
        assert slack_imports.claim_next(session=session, holder="dead-run", now=clock.now(), lease=slack_import.LEASE) is not None
    assert bot.services.run_imports() == 0  # its lease still holds
    clock.set(clock.now() + slack_import.LEASE + timedelta(seconds=1))
    assert bot.services.run_imports() == 1
    assert len(items(session_factory)) == 2
    (row,) = slack_rows(session_factory)
    assert row.attempts == 2 and row.outcome == "imported"
    with transaction(session_factory) as session:  # the dead run cannot record anything any more
        assert not slack_imports.renew(session=session, import_id=row.id, holder="dead-run", until=clock.now())


def test_a_run_that_dies_after_the_import_committed_only_tells_when_redone(bot, signer, fake_slack, session_factory, clock) -> None:
    upload(bot, signer, fake_slack, content=csv_rows(GOOD, BAD_TYPE))
    fake_slack.fail_next("chat.update", "channel_not_found")  # telling fails after the import is stored
    assert bot.services.run_imports() == 0
    (row,) = slack_rows(session_factory)
    assert row.outcome == "imported" and row.finished_at is None and "channel_not_found" in row.error
    assert len(items(session_factory)) == 1 and len(batches(session_factory)) == 1
    assert bot.services.run_imports() == 0  # waits RETRY_AFTER
    clock.set(clock.now() + slack_import.RETRY_AFTER + timedelta(seconds=1))
    assert bot.services.run_imports() == 1
    assert len(batches(session_factory)) == 1 and len(fake_slack.calls_to(DOWNLOAD_METHOD)) == 1  # not imported again
    (row,) = slack_rows(session_factory)
    assert "Added: 1" in reply_text(fake_slack, row) and row.finished_at is not None
    assert len([f for f in fake_slack.files() if f["name"].endswith("-rejected.csv")]) == 1


def test_a_download_slack_refuses_is_retried_then_given_up_and_told(bot, signer, fake_slack, session_factory, clock) -> None:
    upload(bot, signer, fake_slack, content=csv_rows(GOOD))
    for _ in range(slack_import.MAX_ATTEMPTS):
        fake_slack.fail_next("files.info", "file_not_found")
        assert bot.services.run_imports() == 0
        clock.set(clock.now() + slack_import.RETRY_AFTER + timedelta(seconds=1))
    assert bot.services.run_imports() == 1
    (row,) = slack_rows(session_factory)
    assert row.outcome == "failed" and "file_not_found" in row.error
    assert "kept failing" in reply_text(fake_slack, row)
    assert items(session_factory) == {}


def test_progress_is_shown_at_a_bounded_rate_while_a_big_file_is_read(bot, signer, fake_slack, session_factory) -> None:
    lines = [f"SO2026112690{i:05d},2026-11-26,南京分公司,大件,客户已收货,张先生 13812341234,王丽,2026-11-26 16:00,已签收" for i in range(30_000)]
    upload(bot, signer, fake_slack, content=csv_rows(*lines), filename="big.csv")
    ticks = iter(range(0, 10_000, 2))  # each look at the clock: 2 s later
    assert slack_import.run_imports(bot.services.deps, monotonic=lambda: float(next(ticks))) == 1
    updates = [c.params["text"] for c in fake_slack.calls_to("chat.update")]
    progress = [t for t in updates if "rows read" in t]
    assert progress == ["Importing big.csv: 20,000 rows read…"]  # 10,000 came 2 s after the start: too soon
    assert "Added: 30000 " in updates[-1]
    assert len(items(session_factory)) == 30_000


def test_a_whole_file_refused_by_the_importer_is_told_and_nothing_imported(bot, signer, fake_slack, session_factory) -> None:
    upload(bot, signer, fake_slack, content="名字,电话\n张三,1\n".encode())
    assert bot.services.run_imports() == 1
    (row,) = slack_rows(session_factory)
    assert row.outcome == "refused" and "missing" in reply_text(fake_slack, row)
    assert items(session_factory) == {} and batches(session_factory) == []


def test_the_import_runner_thread_imports_when_woken(bot, signer, fake_slack, session_factory) -> None:
    runner = slack_import.ImportRunner(bot.services.run_imports, every=60)
    bot.services.on_import_queued = runner.wake
    runner.start()
    try:
        upload(bot, signer, fake_slack, content=csv_rows(GOOD))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (slack_rows(session_factory) and slack_rows(session_factory)[0].finished_at):
            time.sleep(0.05)
    finally:
        runner.stop()
    assert set(items(session_factory)) == {"SO20261126100001"}


def test_cs_lead_uploads_too(bot, signer, fake_slack, session_factory) -> None:
    upload(bot, signer, fake_slack, user=CS_LEAD, content=csv_rows(GOOD))
    assert bot.services.run_imports() == 1 and set(items(session_factory)) == {"SO20261126100001"}


# --- through rejectbot run's inbox: the front answers before the app runs ---------------------


def test_the_front_answers_bad_log_fields_before_storing_anything(signer) -> None:
    from bot.fakeslack import payload_of
    from bot.handoff import triage
    from bot.i18n import Catalog

    bad = view_submission(signer, user_id=CS_AGENT, callback_id=ViewId.LOG, private_metadata="", values=log_values(day="2100-01-01"))
    verdict = triage(payload_of(bad), catalog=Catalog("en"))
    assert verdict.answer is not None and verdict.answer["response_action"] == "errors"
    assert list(verdict.answer["errors"]) == [BlockId.LOG_REJECTED_ON]
    good = view_submission(signer, user_id=CS_AGENT, callback_id=ViewId.LOG, private_metadata="", values=log_values())
    assert triage(payload_of(good), catalog=Catalog("en")).answer is None  # stored; the app checks the database


def test_a_duplicate_found_behind_the_inbox_is_told_privately(bot, signer, fake_slack, session_factory, clock) -> None:
    from handlers.context import ATTEMPT_HEADER, MAX_ATTEMPTS_HEADER

    seed(session_factory, clock)
    request = view_submission(signer, user_id=CS_AGENT, callback_id=ViewId.LOG, private_metadata="",
                              values=log_values(order="SO20261126000000", day="2026-11-26"))  # fmt: skip
    request.headers.update({ATTEMPT_HEADER: "1", MAX_ATTEMPTS_HEADER: "5"})
    response = bot.app.dispatch(request.to_bolt())
    assert response.status == 200 and not response.body  # Slack has had its answer from the front
    (told,) = dm_texts(fake_slack, CS_AGENT)
    assert "Nothing was stored" in told and "already recorded" in told


def test_an_xlsx_file_is_imported_like_the_csv(bot, signer, fake_slack, session_factory) -> None:
    xlsx = SAMPLE.with_suffix(".xlsx").read_bytes()
    upload(bot, signer, fake_slack, content=xlsx, filename="callbacks-2026-11-26.xlsx")
    assert bot.services.run_imports() == 1
    assert len(items(session_factory)) == 40


def test_the_apps_own_file_in_the_dm_is_not_taken_for_an_upload(bot, signer, fake_slack, session_factory) -> None:
    from bot.fakeslack import BOT_USER_ID

    event = {  # the rejected rows the app shares in a CS agent's DM come back as a message.im event
        "type": "message", "subtype": "file_share", "channel_type": "im", "user": BOT_USER_ID, "channel": AGENT_DM,
        "files": [{"id": "F0BOTS0001"}], "upload": True, "display_as_bot": False, "ts": "2.0",
    }  # fmt: skip
    bot.app.dispatch(event_callback(signer, event=event, event_id="EvSelf").to_bolt())
    assert slack_rows(session_factory) == [] and fake_slack.calls_to("files.info") == []
    assert dm_texts(fake_slack, CS_AGENT) == []
