"""Logging and importing in Slack (CS only): the ``/reject log`` modal, and
a CSV or XLSX sent to the app in its DM, imported exactly as ``rejectbot
import`` does (``bot.services.importing.import_export``, the same
``[import]`` limits).

**The log modal.** ``open_log_modal`` (CS only, else a private refusal);
``log_record`` turns the submission into the cells of one import row and
checks them with the importer's own ``RowChecker``: problems go back on their
fields, a known (order number, rejection date) on the order number's. A good
record is stored as an import of one row stores it (``store_records``: an
``ImportBatch`` named ``slack:log:<user>``, the user as its actor).

**Files.** ``receive_upload`` (the ``message.im`` ``file_share`` event) runs
in an inbox worker and stays short: nothing is fetched for someone who is not
CS (they are told why); for CS, ``files.info`` gives the file's name and
size, and a file that is not CSV/XLSX or is over ``max_bytes`` is refused
before anything is downloaded. Every file gets one ``slack_import`` row (its
Slack file id is unique: a retried or redelivered event adds nothing) and
one reply in the DM. The import itself runs off the request path in
``run_imports``: a dedicated thread (``ImportRunner``) wakes at once for a
new row and every ``RECHECK`` seconds otherwise. Not an inbox worker: a
100,000-row file takes tens of seconds and the pool has only a few workers;
not the ticker: it would wait up to a minute to start and hold the digest,
sweep and letters behind it. A run claims its row under a lease (renewed as
rows are read); one that dies is redone once the lease runs out, safely: the
import is one transaction that also records the batch, the summary and the
rejected rows in the row, so a rerun either imports (nothing had committed)
or only tells what was stored; the rejected rows' CSV (the file read again)
is built before that transaction opens, which stays short. Records already known are skipped by the
import's own rule, so the same file sent twice adds nothing and says so.
While the file is read, the reply shows the rows read so far (``chat.update``,
Tier 3, ~50 a minute: at most one every ``PROGRESS_SECONDS``); then the
summary, and the rejected rows with their reasons as a CSV in its thread,
shared once (``upload_once``, keyed by the Slack file).

Errors: none raised to callers for Slack or file trouble (told, retried, or
recorded); database errors propagate.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

from slack_sdk.errors import SlackApiError

from bot.core.importing import ExportError, Record, RowProblem, check_row, check_size, read_rows
from bot.core.slack_import import (
    duplicate_error,
    field_errors,
    import_summary,
    is_importable,
    log_cells,
    log_modal,
    rejected_rows_csv,
)
from bot.gateway import DownloadRefused, ReplyTo, SlackUnavailable
from bot.services.deps import Deps
from bot.services.importing import ImportReport, import_export, store_records
from bot.services.reports import send_pending_report_reviews
from bot.services.uploads import UploadBusy, upload_once
from storage import imports
from storage import slack_imports as store
from storage.db import transaction
from storage.models import ImportBatch, SlackImport

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # renewed every PROGRESS_EVERY rows read; a dead run's file is redone after it
RETRY_AFTER = timedelta(minutes=1)  # after Slack failed us (files.info, the download, the reply)
MAX_ATTEMPTS = 5  # then the file is given up and its sender told
PROGRESS_SECONDS = 3.0  # at most one progress update this often: 20 a minute, under chat.update's ~50
RECHECK = 30.0  # seconds between the runner's looks for a row whose lease ran out
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})
SLACK_TROUBLE = (SlackApiError, SlackUnavailable, DownloadRefused, OSError)


class _LostLease(Exception):
    """Another run took the row over: this one stops and changes nothing."""


def agent_name(deps: Deps, user: str) -> str:
    """The caller's callback-agent name in ``[cs] agents``; empty when none."""
    return next((name for name, agent in deps.routing.cs_agents.items() if agent == user), "")


# --- /reject log ----------------------------------------------------------------------


def open_log_modal(deps: Deps, *, actor: str, trigger_id: str, reply_to: ReplyTo) -> bool:
    """``/reject log``: the modal for one record (CS only)."""
    catalog = deps.catalog_for(actor)
    if not deps.routing.is_cs(actor):
        deps.notifier.reply(reply_to, catalog.t("slackimport.log_cs_only"))
        return False
    today = deps.clock.now().astimezone(deps.timezone).date()
    try:
        deps.notifier.open_view(trigger_id, log_modal(catalog=catalog, today=today, agent=agent_name(deps, actor)))
    except SlackApiError as exc:
        if exc.response.get("error") not in TRIGGER_ERRORS:
            raise
        # Slack gives 3 seconds to open a modal (views.open: expired_trigger_id)
        deps.notifier.reply(reply_to, catalog.t("slackimport.log_expired"))
        return False
    return True


@dataclass(frozen=True, slots=True)
class LogOutcome:
    """A submitted log modal: ``errors`` by block (the modal stays open), or
    the ``record`` stored; ``refused`` when the submitter is not CS."""

    errors: dict[str, str] | None = None
    record: Record | None = None
    refused: bool = False
    held: bool = False  # an order someone reported: held for its callback agent's Keep or Drop


class _Known(Exception):
    pass


def log_record(deps: Deps, *, actor: str, view: Mapping) -> LogOutcome:
    """Check a submitted log modal with the importer's rules and store it as
    an import of one row would; errors on fields, or a known record, keep it open."""
    catalog = deps.catalog_for(actor)
    if not deps.routing.is_cs(actor):
        return LogOutcome(refused=True)
    cells = log_cells(view, agent=agent_name(deps, actor))
    checked = check_row(cells)
    if not isinstance(checked, Record):
        return LogOutcome(errors=field_errors(checked, catalog))
    now = deps.clock.now()
    digest = hashlib.sha256(json.dumps([str(c) for c in cells], ensure_ascii=False).encode()).hexdigest()
    try:
        with transaction(deps.session_factory) as session:
            if imports.list_known_keys(session=session, keys=[checked.key]):
                raise _Known
            batch, added = store_records(
                session, records=[checked], filename=f"slack:log:{actor}", sha256=digest, actor=actor,
                now=now, timezone=deps.timezone,
            )  # fmt: skip
            if added != 1:  # stored meanwhile by someone else: nothing of ours is kept
                raise _Known
            assert batch.id is not None
            held = store.count_held(session=session, batch_id=batch.id) > 0
    except _Known:
        return LogOutcome(errors=duplicate_error(catalog, order_no=checked.order_no, rejected_on=checked.rejected_on))
    log.info("%s logged %s@%s in Slack%s", actor, checked.order_no, checked.rejected_on, " (held: reported)" if held else "")
    return LogOutcome(record=checked, held=held)


def tell_logged(deps: Deps, outcome: LogOutcome, *, actor: str, reply_to: ReplyTo) -> None:
    """Privately: what was stored and when it will be posted (or that no owner
    covers it, or that it is held: its order was reported); the errors when they could not be shown on the modal; or the refusal."""
    catalog = deps.catalog_for(actor)
    if outcome.refused:
        deps.notifier.reply(reply_to, catalog.t("slackimport.log_cs_only"))
        return
    if outcome.record is None:
        deps.notifier.reply(reply_to, catalog.t("slackimport.log_not_stored", errors="\n".join((outcome.errors or {}).values())))
        return
    r = outcome.record
    lines = [catalog.t(
        "slackimport.log_stored", order=r.order_no, day=r.rejected_on.isoformat(), branch=r.branch,
        category=catalog.t(f"digest.category_{r.category}"),
    )]  # fmt: skip
    if outcome.held:
        lines.append(catalog.t("slackimport.log_held"))
    elif deps.routing.owner_for(r.category, r.branch) is None:
        lines.append(catalog.t("slackimport.log_unrouted"))
    else:
        lines.append(catalog.t("slackimport.log_when", when=_next_digest(deps).strftime("%Y-%m-%d %H:%M")))
    deps.notifier.reply(reply_to, "\n".join(lines))


def _next_digest(deps: Deps) -> datetime:
    """When the next daily digest goes out (local time): today's if it is
    still ahead on a working day, else the next working day's."""
    now = deps.clock.now().astimezone(deps.timezone)
    at = deps.routing.timings.digest_at
    day = now.date()
    calendar = deps.calendar
    if not (calendar.is_working_day(day) and now.time() < at):
        day = calendar.next_working_day(day)
    return datetime.combine(day, at)


# --- files sent to the app --------------------------------------------------------------


def receive_upload(deps: Deps, *, user: str, channel: str, files: Sequence[Mapping]) -> int:
    """Files ``user`` sent the app in its DM ``channel``: each refused with a
    message or queued for ``run_imports`` (one row and one reply per Slack
    file, however often the event comes). How many were queued.

    Each row is born held by this call (a lease) until its first reply is
    posted and its ts stored, so a run cannot answer in between (two replies);
    a post that fails is left to the runs (``_tell`` posts it, keyed), and one
    cut short is taken over once the lease runs out."""
    catalog = deps.catalog_for(user)
    now = deps.clock.now()
    queued = 0
    for file in files:
        file_id = file.get("id")
        if not isinstance(file_id, str) or not file_id:
            continue
        if not deps.routing.is_cs(user):  # nothing fetched, nothing imported
            _refuse(deps, user=user, channel=channel, file_id=file_id, filename=str(file.get("name") or file_id),
                    text=catalog.t("slackimport.upload_cs_only"), now=now)  # fmt: skip
            continue
        with transaction(deps.session_factory) as session:
            if store.find_import(session=session, file_id=file_id) is not None:
                continue  # the event again: this file has its row and its reply
        try:
            info = deps.notifier.file_info(file_id)
        except SlackApiError as exc:
            log.warning("files.info %s: %s", file_id, exc.response.get("error"))
            _refuse(deps, user=user, channel=channel, file_id=file_id, filename=file_id,
                    text=catalog.t("slackimport.upload_unreadable"), now=now)  # fmt: skip
            continue
        filename, size = str(info.get("name") or file_id), int(info.get("size") or 0)
        refusal = None
        if not is_importable(filename):
            refusal = catalog.t("import.unsupported_type", filename=filename)
        else:
            try:
                check_size(size, deps.routing.imports)  # before anything is downloaded
            except ExportError as exc:
                refusal = catalog.t(exc.key, **exc.params)
        if refusal is not None:
            _refuse(deps, user=user, channel=channel, file_id=file_id, filename=filename, text=refusal, now=now)
            continue
        holder = f"receive:{uuid.uuid4().hex}"
        with transaction(deps.session_factory) as session:
            row = store.add_import(session=session, file_id=file_id, user=user, channel=channel, filename=filename,
                                   size=size, now=now, holder=holder, lease_until=now + LEASE)  # fmt: skip
            row_id = row.id if row is not None else None
        if row_id is None:
            continue
        try:
            ts = deps.notifier.post_message(channel, text=catalog.t("slackimport.received", filename=filename), key=f"slackimport:{file_id}")
        except (SlackApiError, SlackUnavailable) as exc:  # the run posts the summary instead (keyed)
            log.warning("slack import %s: the first reply was not posted: %s", file_id, exc)
            ts = None
        with transaction(deps.session_factory) as session:
            if ts is not None:
                store.set_reply(session=session, import_id=row_id, ts=ts)
            store.hand_over(session=session, import_id=row_id, holder=holder)
        queued += 1
    return queued


def _refuse(deps: Deps, *, user: str, channel: str, file_id: str, filename: str, text: str, now: datetime) -> None:
    """One refusal per file: a row that says so (held by this call), the
    message (keyed), then the row finished. When the post fails the row waits
    for a run to post it (``_tell``) after ``RETRY_AFTER``: a redelivered
    event finds the row and posts nothing, but the sender is still told."""
    holder = f"receive:{uuid.uuid4().hex}"
    with transaction(deps.session_factory) as session:
        added = store.add_refused(session=session, file_id=file_id, user=user, channel=channel, filename=filename,
                                  summary=text, now=now, holder=holder, lease_until=now + LEASE)  # fmt: skip
        row = store.find_import(session=session, file_id=file_id) if added else None
        row_id = row.id if row is not None else None
    if row_id is None:
        return
    try:
        ts = deps.notifier.post_message(channel, text=text, key=f"slackimport:{file_id}")
    except (SlackApiError, SlackUnavailable) as exc:
        log.warning("refusal of slack file %s not posted (a run will): %s", file_id, exc)
        with transaction(deps.session_factory) as session:
            store.release(session=session, import_id=row_id, holder=holder, now=now, retry_at=now + RETRY_AFTER,
                          error=f"{type(exc).__name__}: {exc}")  # fmt: skip
        return
    with transaction(deps.session_factory) as session:
        store.set_reply(session=session, import_id=row_id, ts=ts)
        store.finish(session=session, import_id=row_id, holder=holder, now=deps.clock.now())


def run_imports(deps: Deps, *, holder: str | None = None, monotonic: Callable[[], float] = time.monotonic) -> int:
    """Import every waiting file, one at a time: new ones, and those whose
    run died (lease run out). How many were finished."""
    holder = holder or f"imports:{uuid.uuid4().hex}"
    finished = 0
    while True:
        now = deps.clock.now()
        with transaction(deps.session_factory) as session:
            row = store.claim_next(session=session, holder=holder, now=now, lease=LEASE)
            if row is not None:
                session.expunge(row)
        if row is None:
            return finished
        finished += _run_one(deps, row, holder=holder, monotonic=monotonic)


def _run_one(deps: Deps, row: SlackImport, *, holder: str, monotonic: Callable[[], float]) -> int:
    assert row.id is not None
    try:
        if row.outcome == "":
            if row.attempts > MAX_ATTEMPTS:
                _give_up(deps, row, holder=holder)
                return 1
            _import(deps, row, holder=holder, monotonic=monotonic)
        with transaction(deps.session_factory) as session:
            stored = session.get(SlackImport, row.id)
            assert stored is not None
            summary, rejected, outcome = stored.summary, stored.rejected_csv, stored.outcome
        _tell(deps, row, summary=summary, rejected=rejected)
    except _LostLease:
        log.warning("slack import %s (%s): another run took it over", row.id, row.file_id)
        return 0
    except (*SLACK_TROUBLE, UploadBusy) as exc:
        log.warning("slack import %s (%s) attempt %s: %s: %s", row.id, row.file_id, row.attempts, type(exc).__name__, exc)
        now = deps.clock.now()
        with transaction(deps.session_factory) as session:
            store.release(session=session, import_id=row.id, holder=holder, now=now, retry_at=now + RETRY_AFTER,
                          error=f"{type(exc).__name__}: {exc}")  # fmt: skip
        return 0
    with transaction(deps.session_factory) as session:
        store.finish(session=session, import_id=row.id, holder=holder, now=deps.clock.now(), outcome=outcome)
    _ask_about_held(deps)
    return 1


def _ask_about_held(deps: Deps) -> None:
    """A record this import held (its order was reported) goes to its callback
    agent now, in working time, not at the next tick; a failure leaves it to the tick."""
    try:
        send_pending_report_reviews(deps)
    except Exception:
        log.exception("could not ask CS about the records held by a report after a Slack import; the ticker asks")


def _import(deps: Deps, row: SlackImport, *, holder: str, monotonic: Callable[[], float]) -> None:
    """Download the file and import it; the outcome (and what to tell) is
    stored in the row, in the import's transaction."""
    catalog = deps.catalog_for(row.user)
    limits = deps.routing.imports
    try:
        info = deps.notifier.file_info(row.file_id)
        check_size(int(info.get("size") or 0), limits)  # again: the file may be another by now
        data = deps.notifier.download(str(info.get("url_private") or ""), limit=limits.max_bytes)
        check_size(len(data), limits)  # files.info's size is Slack's word; the download is capped at one byte past
    except ExportError as exc:
        _store_refusal(deps, row, holder=holder, text=catalog.t(exc.key, **exc.params))
        return
    last = [monotonic()]

    def progress(rows: int) -> None:
        _renew(deps, row, holder=holder)
        if monotonic() - last[0] < PROGRESS_SECONDS or row.reply_ts is None:
            return
        last[0] = monotonic()
        try:
            deps.notifier.update_message(row.channel, row.reply_ts, text=catalog.t("slackimport.reading", filename=row.filename, rows=f"{rows:,}"))
        except (SlackApiError, SlackUnavailable) as exc:  # progress only: the import goes on
            log.warning("progress of slack import %s not shown: %s", row.id, exc)

    rejected: list[bytes | None] = [None]

    def on_parsed(problems: Sequence[RowProblem]) -> None:
        """The rejected rows' CSV, before the import's transaction opens: the
        file is read again for their cells (19.7 s for 100,000 XLSX rows, 10%
        bad), and on SQLite every other writer would wait behind it."""
        if problems:
            cells = read_rows(data, filename=row.filename, wanted={p.row for p in problems}, limits=limits)
            rejected[0] = gzip.compress(rejected_rows_csv(cells, problems, catalog))
            _renew(deps, row, holder=holder)  # the re-read took a while

    def on_stored(session, batch: ImportBatch, report: ImportReport) -> None:
        csv = rejected[0]
        assert batch.id is not None and row.id is not None
        summary = import_summary(
            filename=row.filename, total=report.total_rows, added=report.added, skipped_known=report.skipped_known,
            duplicates=len(report.duplicates), problems=report.problems, unrouted=len(report.unrouted),
            has_file=csv is not None, held=store.count_held(session=session, batch_id=batch.id) if report.added else 0,
            catalog=catalog,
        )  # fmt: skip
        if not store.set_stored(session=session, import_id=row.id, holder=holder, batch_id=batch.id, summary=summary, rejected_csv=csv):
            raise _LostLease  # rolls the import back: the run holding the row now does it

    try:
        import_export(
            session_factory=deps.session_factory, now=deps.clock.now(), timezone=deps.timezone, routing=deps.routing,
            data=data, filename=row.filename, actor=row.user, progress=progress, on_parsed=on_parsed, on_stored=on_stored,
        )  # fmt: skip
    except ExportError as exc:  # the whole file is refused: nothing was imported
        _store_refusal(deps, row, holder=holder, text=catalog.t(exc.key, **exc.params))


def _renew(deps: Deps, row: SlackImport, *, holder: str) -> None:
    with transaction(deps.session_factory) as session:
        if not store.renew(session=session, import_id=row.id, holder=holder, until=deps.clock.now() + LEASE):
            raise _LostLease


def _store_refusal(deps: Deps, row: SlackImport, *, holder: str, text: str) -> None:
    with transaction(deps.session_factory) as session:
        if not store.set_refused(session=session, import_id=row.id, holder=holder, summary=text):
            raise _LostLease


def _tell(deps: Deps, row: SlackImport, *, summary: str, rejected: bytes | None) -> None:
    """The summary in place of the reply (idempotent), and the rejected rows
    in its thread, shared once for the file."""
    if row.reply_ts:
        deps.notifier.update_message(row.channel, row.reply_ts, text=summary)
    else:  # the reply was never posted (a crash right after the row): post it, keyed
        row.reply_ts = deps.notifier.post_message(row.channel, text=summary, key=f"slackimport:{row.file_id}")
        with transaction(deps.session_factory) as session:
            store.set_reply(session=session, import_id=row.id, ts=row.reply_ts)
    if rejected:
        catalog = deps.catalog_for(row.user)
        stem = PurePath(row.filename).stem or "import"
        upload_once(
            deps, key=f"slackimport:rejected:{row.file_id}", channel=row.channel, filename=f"{stem}-rejected.csv",
            content=gzip.decompress(rejected), title=catalog.t("slackimport.rejected_title", filename=row.filename),
            thread_ts=row.reply_ts,
        )  # fmt: skip


def _give_up(deps: Deps, row: SlackImport, *, holder: str) -> None:
    catalog = deps.catalog_for(row.user)
    text = catalog.t("slackimport.failed", filename=row.filename)
    with transaction(deps.session_factory) as session:
        store.finish(session=session, import_id=row.id, holder=holder, now=deps.clock.now(), outcome="failed", error=row.error)
    try:
        if row.reply_ts:
            deps.notifier.update_message(row.channel, row.reply_ts, text=text)
        else:
            deps.notifier.post_message(row.channel, text=text, key=f"slackimport:{row.file_id}")
    except (SlackApiError, SlackUnavailable) as exc:
        log.error("slack import %s given up; its sender could not be told: %s", row.id, exc)


def explain_import(deps: Deps, *, actor: str, reply_to: ReplyTo) -> None:
    """``/reject import``: the two ways, privately."""
    catalog = deps.catalog_for(actor)
    limits = deps.routing.imports
    deps.notifier.reply(reply_to, catalog.t("slackimport.explain", max_rows=f"{limits.max_rows:,}", max_mb=f"{limits.max_bytes / 1_048_576:,.0f}"))


class ImportRunner:
    """The thread that runs ``run`` (``Services.run_imports``): at once when
    woken (a file was queued), and every ``every`` seconds (a dead run's file,
    a retry). ``start`` wakes it once: files left by the last process."""

    def __init__(self, run: Callable[[], object], *, every: float = RECHECK) -> None:
        self._run = run
        self._every = every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="slack-imports", daemon=True)
        self._thread.start()
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the import under way (a daemon: an import cut short is redone at the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._every)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._run()
            except Exception:  # logged; the next wake tries again (rows keep their leases)
                log.exception("slack imports: run failed")
