"""The tables. Alembic migrations in ``storage/migrations`` create them.

Statuses and other enums are stored as plain strings (the core's ``StrEnum``
values), so the schema does not change when an enum grows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, LargeBinary, String, Text, UniqueConstraint, desc, text
from sqlalchemy import select as sa_select
from sqlalchemy.orm import column_property
from sqlmodel import Field, SQLModel

from bot.core.lifecycle import Action, Status
from bot.core.reports import REPORT_SEPARATOR
from storage.types import UTCDateTime


def _utc(*, nullable: bool = False, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class ImportBatch(SQLModel, table=True):
    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(sa_type=String(255))
    sha256: str = Field(sa_type=String(64), index=True)
    imported_at: datetime = Field(sa_column=_utc())
    actor: str = Field(sa_type=String(64))
    added: int = 0
    skipped: int = 0
    rejected: int = 0


# Open items — awaiting an answer, a fix, or CS's review — are a few thousand
# among a history of millions. The sweep finds them through the partial index
# ``ix_item_open``, which holds only them: with planner statistics (ANALYZE,
# PRAGMA optimize) SQLite takes any one status for a sixth of the table and
# would rather scan it whole. SQLite uses a partial index only for a query
# whose WHERE holds the index's condition as written (an IN list of bound
# parameters does not match it): ``storage.followups.open_item()`` renders it
# from the same tuple, in the same order.
OPEN_ITEM_STATUSES = (Status.AWAITING, Status.CONFIRMED, Status.DEEMED_CONFIRMED, Status.DISPUTED)
OPEN_ITEM_WHERE = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_ITEM_STATUSES) + ")"


class Item(SQLModel, table=True):
    """One mistaken-rejection record: one (order number, rejection date)."""

    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("order_no", "rejected_on", name="uq_item_order_day"),
        Index("ix_item_status_owner", "status", "owner"),
        # An App Home's lists: the items an owner covers, with what says whose they are now and their order (covering)
        Index("ix_item_home", "status", "category", "branch", "owner", "deadline", "rejected_on", "order_no"),
        Index("ix_item_unredacted", "redacted_at", "updated_at"),  # the retention job's rows still to do
        Index("ix_item_open", "status", "deadline", sqlite_where=text(OPEN_ITEM_WHERE), postgresql_where=text(OPEN_ITEM_WHERE)),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_no: str = Field(sa_type=String(64), index=True)
    rejected_on: date
    branch: str = Field(sa_type=String(128))
    category: str = Field(sa_type=String(16))
    scenario: str | None = Field(default=None, sa_type=String(32))
    customer: str = Field(default="", sa_type=Text)
    callback_agent: str = Field(default="", sa_type=String(64))
    callback_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    note: str = Field(default="", sa_type=Text)
    status: str = Field(sa_type=String(20))
    owner: str | None = Field(default=None, sa_type=String(128))
    digest_message_id: int | None = Field(default=None, foreign_key="digest_message.id", index=True)
    deadline: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    imported_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())
    last_actor: str | None = Field(default=None, sa_type=String(64))
    last_surface: str | None = Field(default=None, sa_type=String(16))
    decided_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # confirmed or deemed: the fix window runs from here
    review_channel: str | None = Field(default=None, sa_type=String(32))  # CS's re-verification DM, updated when resolved
    review_ts: str | None = Field(default=None, sa_type=String(32))
    redacted_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # customer data masked (retention)


class DigestMessage(SQLModel, table=True):
    """One Slack message of a daily digest: page 0 is the owner's message,
    later pages are continuations in its thread. ``ts`` is empty until posted."""

    __tablename__ = "digest_message"
    __table_args__ = (
        UniqueConstraint("digest_day", "owner", "page", name="uq_digest_page"),
        Index("ix_digest_channel_ts", "channel", "ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    digest_day: date
    owner: str = Field(sa_type=String(128))  # follows the thread when the routing hands its open items over
    posted_owner: str | None = Field(default=None, sa_type=String(128))  # whom it was posted to: never changes (the monthly figures)
    page: int = 0
    pages: int = 1
    channel: str = Field(sa_type=String(32))
    ts: str | None = Field(default=None, sa_type=String(32))
    thread_ts: str | None = Field(default=None, sa_type=String(32))
    late: bool = False
    deadline: datetime = Field(sa_column=_utc())
    created_at: datetime = Field(sa_column=_utc())
    posted_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # Follow-up state of the owner's thread (kept on page 0):
    policy: str = Field(default="", sa_type=Text)  # JSON of the follow-up policy in force when posted
    copied: str = Field(default="", sa_type=Text)  # escalated managers mentioned on this message, comma-separated
    last_activity_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # owner side
    acknowledged_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # 👀
    acknowledged_by: str | None = Field(default=None, sa_type=String(32))
    # Delivery (kept while ``ts`` is empty): tries so far, one per run, and why the last one failed
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    attempted_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    last_error: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    in_doubt: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # a try may have reached Slack: look before posting
    # What the message shows: ``version`` grows with every change to an item it
    # shows (in the change's transaction); ``shown_version`` is the version last
    # rendered to Slack. Behind (shown < version) means a refresh is owed.
    version: int = 0
    shown_version: int = 0
    refresh_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # lease of the refresher updating it; once released, when it was last tried


class AuditEntry(SQLModel, table=True):
    """Every state change: who, when, what, through which surface, note.
    An item's change has ``item_id``; a stand-in named or ended
    (``/reject away``) has ``stand_in_id`` instead, and empty statuses."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    stand_in_id: int | None = Field(default=None, foreign_key="stand_in.id", index=True)
    at: datetime = Field(sa_column=_utc())
    actor: str = Field(sa_type=String(64))
    role: str = Field(sa_type=String(16))
    surface: str = Field(sa_type=String(16))
    action: str = Field(sa_type=String(20))
    from_status: str = Field(sa_type=String(20))
    to_status: str = Field(sa_type=String(20))
    note: str = Field(default="", sa_type=Text)


class SideEffect(SQLModel, table=True):
    """The ledger of side effects. A unique key per effect
    (``digest:2026-11-27``, ``event:Ev123``) makes repeating it harmless;
    ``lease_until`` lets a crashed claimant's work be resumed, never doubled."""

    __tablename__ = "side_effect"
    __table_args__ = (  # the sweep's unfinished one-off messages, among every event ever handled
        Index("ix_side_effect_unfinished", "claimed_at", sqlite_where=text("done_at IS NULL"), postgresql_where=text("done_at IS NULL")),
    )

    key: str = Field(sa_type=String(200), primary_key=True)
    claimed_at: datetime = Field(sa_column=_utc())
    lease_until: datetime = Field(sa_column=_utc())
    done_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    detail: str = Field(default="", sa_type=Text)


class ReactionEffect(SQLModel, table=True):
    """What a reaction did, so that removing it soon after can undo exactly that."""

    __tablename__ = "reaction_effect"
    __table_args__ = (Index("ix_reaction_lookup", "channel", "message_ts", "user", "reaction"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(32))
    message_ts: str = Field(sa_type=String(32))
    user: str = Field(sa_type=String(32))
    reaction: str = Field(sa_type=String(64))
    at: datetime = Field(sa_column=_utc())
    item_ids: str = Field(default="", sa_type=Text)  # comma-separated ids it changed
    undone_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Penalty(SQLModel, table=True):
    """A penalty booked by a lifecycle event; one of each kind per item."""

    __tablename__ = "penalty"
    __table_args__ = (UniqueConstraint("item_id", "kind", name="uq_penalty_item_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    kind: str = Field(sa_type=String(32))  # cs_accuracy: CS's callback was wrong
    person: str = Field(sa_type=String(64))  # who is penalised (callback agent name, owner name)
    user: str = Field(default="", sa_type=String(32))
    amount: int  # yuan
    at: datetime = Field(sa_column=_utc())
    note: str = Field(default="", sa_type=Text)


# The remedy of a fixed item is the note of its latest ``fix`` audit row (the
# audit log stays the one record of it). Deferred: only queries that render
# items load it (``options(undefer(Item.fix_note))``); ``None`` without a fix.
Item.fix_note = column_property(
    sa_select(AuditEntry.note)
    .where(AuditEntry.item_id == Item.id, AuditEntry.action == Action.FIX)
    .order_by(desc(AuditEntry.id))
    .limit(1)
    .correlate_except(AuditEntry)
    .scalar_subquery(),
    deferred=True,
)


class FollowUp(SQLModel, table=True):
    """Every nudge, escalation and reminder sent; ``key`` makes each one
    happen once (``nudge:<thread>:<step>:<quiet since>``)."""

    __tablename__ = "follow_up"
    __table_args__ = (
        Index("ix_follow_up_recipient_at", "recipient", "sent_at"),
        Index(  # the sweep's count of follow-ups still failing, among every one ever sent
            "ix_follow_up_unsent", "attempts",
            sqlite_where=text("ts IS NULL AND gave_up_at IS NULL"), postgresql_where=text("ts IS NULL AND gave_up_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=String(200), unique=True)
    kind: str = Field(sa_type=String(24))
    thread_id: int | None = Field(default=None, foreign_key="digest_message.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    level: int = 0
    recipient: str = Field(sa_type=String(32))
    sent_at: datetime = Field(sa_column=_utc())
    channel: str | None = Field(default=None, sa_type=String(32))
    ts: str | None = Field(default=None, sa_type=String(32))
    # Sending: the key the message carries in its metadata (shared by the steps
    # sent as one message), how often sending failed and why, the lease of a
    # send in flight, and when the bot gave up (a definitive refusal, thrice).
    message_key: str | None = Field(default=None, sa_type=String(200))
    attempts: int = 0
    refusals: int = 0  # of the attempts, those Slack definitively refused (the give-up rule counts these)
    error: str = Field(default="", sa_type=Text)
    lease_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    gave_up_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class InboxEntry(SQLModel, table=True):
    """A request from Slack, stored before it is acknowledged, until a worker
    has dispatched it (``done_at``) or given up on it (``parked_at``).
    ``claimed_by``/``claimed_until`` are a lease: a row whose lease ran out
    (its process died) is taken by any replica. ``dedup_key`` (``event:<id>``)
    makes Slack's retries of an event store nothing new."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_waiting", "done_at", "parked_at", "claimed_until"),)

    id: int | None = Field(default=None, primary_key=True)
    mode: str = Field(sa_type=String(8))  # http | socket
    body: str = Field(sa_type=Text)  # the raw HTTP body, or the Socket Mode payload as JSON
    headers: str = Field(default="{}", sa_type=Text)  # JSON object
    dedup_key: str | None = Field(default=None, sa_type=String(200), unique=True)
    received_at: datetime = Field(sa_column=_utc())
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    claimed_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    attempts: int = 0
    done_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    parked_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    error: str = Field(default="", sa_type=Text)  # the last dispatch failure


class StandIn(SQLModel, table=True):
    """A stand-in for an owner on leave (``/reject away``): in force from
    ``starts_at`` until ``ends_at`` (the local midnight after the ``until``
    day) unless ended earlier (``ended_at``/``ended_by``). Rows are never
    deleted: with their audit rows they are the record of who stood in."""

    __tablename__ = "stand_in"
    __table_args__ = (Index("ix_stand_in_owner_user_ended", "owner_user", "ended_at"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_user: str = Field(sa_type=String(32))  # the owner's Slack user: a name in the routing file may change
    user: str = Field(sa_type=String(32))  # the stand-in
    starts_at: datetime = Field(sa_column=_utc())
    until: date  # the last day, as the user wrote it
    ends_at: datetime = Field(sa_column=_utc())
    set_by: str = Field(sa_type=String(32))
    ended_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    ended_by: str | None = Field(default=None, sa_type=String(32))


class Letter(SQLModel, table=True):
    """A work contact letter (工作联系函), from draft to acknowledgment.

    ``draft_key`` (``letter:<owner>:<YYYY-MM>``) makes the automatic draft
    happen at most once per owner and month. ``number`` (``KF-2026-007``),
    ``year`` and ``seq`` are given on approval, from ``letter_counter``, so a
    discarded draft leaves no gap. The files are rendered once, on approval,
    and kept with their SHA-256: what was delivered is what is stored."""

    __tablename__ = "letter"
    __table_args__ = (
        UniqueConstraint("year", "seq", name="uq_letter_year_seq"),
        Index("ix_letter_owner_month", "owner", "month"),
        Index("ix_letter_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draft_key: str = Field(sa_type=String(200), unique=True)
    number: str | None = Field(default=None, sa_type=String(64), unique=True)
    year: int | None = None
    seq: int | None = None
    owner: str = Field(sa_type=String(128))
    month: str = Field(sa_type=String(7))  # YYYY-MM
    reason: str = Field(sa_type=String(20))  # bot.core.letters.LetterReason
    status: str = Field(sa_type=String(20))  # bot.core.letters.LetterStatus
    facts: str = Field(sa_type=Text)  # JSON of LetterFacts (bot.core.letters.facts_to_json)
    improvement: str = Field(default="", sa_type=Text)
    reply_days: int = 5
    reply_by: date | None = None
    created_at: datetime = Field(sa_column=_utc())
    created_by: str = Field(default="", sa_type=String(32))  # who asked for it by hand; "" the bot
    draft_channel: str | None = Field(default=None, sa_type=String(32))  # the CS lead's DM with the buttons
    draft_ts: str | None = Field(default=None, sa_type=String(32))
    approved_by: str | None = Field(default=None, sa_type=String(32))
    approved_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    docx: bytes | None = Field(default=None, sa_type=LargeBinary)
    docx_sha256: str | None = Field(default=None, sa_type=String(64))
    pdf: bytes | None = Field(default=None, sa_type=LargeBinary)
    pdf_sha256: str | None = Field(default=None, sa_type=String(64))
    delivered_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    announced_ts: str | None = Field(default=None, sa_type=String(32))  # in the shared channel; acknowledgments go in its thread
    digest_ts: str | None = Field(default=None, sa_type=String(32))  # the owner's digest message the PDF was attached to
    acknowledged_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    acknowledged_by: str | None = Field(default=None, sa_type=String(32))
    overdue_told_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    discarded_by: str | None = Field(default=None, sa_type=String(32))
    discarded_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # failed deliveries so far
    last_error: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})


class LetterEvent(SQLModel, table=True):
    """Every step of a letter: drafted, edited, approved, discarded,
    delivered, acknowledged (each acknowledgment), reminded, overdue."""

    __tablename__ = "letter_event"

    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", index=True)
    at: datetime = Field(sa_column=_utc())
    actor: str = Field(sa_type=String(64))
    action: str = Field(sa_type=String(20))
    note: str = Field(default="", sa_type=Text)


class LetterCounter(SQLModel, table=True):
    """The last letter number given per year: incremented in the approving
    transaction (a row lock on PostgreSQL, the write lock on SQLite), so
    numbers are sequential without gaps even when two approvals race."""

    __tablename__ = "letter_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class FileUpload(SQLModel, table=True):
    """A file uploaded to Slack and shared once under ``key``
    (``bot.services.uploads.upload_once``). ``file_id`` is stored as soon as
    the bytes are in Slack (``prepared_at``), before the share, so a run that
    dies in between resumes by asking Slack whether the file is shared rather
    than by uploading again. ``claimed_at``/``lease_until`` are the lease of
    the one run working on it; ``sha256`` (with ``length``, ``filename`` and
    ``channel``) pins what the key stands for."""

    __tablename__ = "file_upload"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=String(200), unique=True)
    channel: str = Field(sa_type=String(32))
    filename: str = Field(sa_type=String(255))
    title: str = Field(default="", sa_type=Text)
    sha256: str = Field(sa_type=String(64))
    length: int
    file_id: str | None = Field(default=None, sa_type=String(32))
    created_at: datetime = Field(sa_column=_utc())
    prepared_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    shared_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    claimed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    lease_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    attempts: int = 0
    error: str = Field(default="", sa_type=Text)


class MonthlyNotice(SQLModel, table=True):
    """A monthly notice (月度通报) of one month: version 0 is the notice,
    version N its N-th correction (``--reissue``). ``as_of`` and ``figures``
    (``MonthFigures`` as JSON) are fixed when the notice is claimed, so a
    resumed run posts the same figures; ``ts`` is empty until posted."""

    __tablename__ = "monthly_notice"
    __table_args__ = (UniqueConstraint("month", "version", name="uq_monthly_notice_version"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(sa_type=String(7))  # YYYY-MM
    version: int = 0
    as_of: datetime = Field(sa_column=_utc())
    figures: str = Field(sa_type=Text)
    channel: str = Field(sa_type=String(32))
    ts: str | None = Field(default=None, sa_type=String(32))
    created_at: datetime = Field(sa_column=_utc())
    posted_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    correction_of: int | None = Field(default=None, foreign_key="monthly_notice.id")


class HomeView(SQLModel, table=True):
    """A person's App Home tab (``bot.services.home``): they opened it
    (``opened_at``), so it is kept up to date; ``content_hash`` is the
    SHA-256 of the view last published (``bot.core.home.view_hash``): a view
    rendered the same is not published again. ``slack_hash`` is Slack's own
    hash of that view (views.publish's ``hash``: a publish made from an
    older render than another one's is refused instead of overwriting it)."""

    __tablename__ = "home_view"

    user: str = Field(sa_type=String(32), primary_key=True)
    opened_at: datetime = Field(sa_column=_utc())
    published_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    content_hash: str = Field(default="", sa_type=String(64))
    slack_hash: str = Field(default="", sa_type=String(64))
    attempts: int = 0  # failed publishes since the last one that worked
    error: str = Field(default="", sa_type=Text)
class SlackImport(SQLModel, table=True):
    """A file a CS agent sent the app in its DM, to import (issue 9): one row
    per Slack file. ``claimed_by``/``lease_until`` hold the one run working on
    it (``bot.services.slack_import``); ``batch_id``, ``summary`` and
    ``rejected_csv`` (gzip) are stored in the import's own transaction, so a
    run that dies after it only has to tell the result, never import again."""

    __tablename__ = "slack_import"
    __table_args__ = (Index("ix_slack_import_waiting", "finished_at", "lease_until"),)

    id: int | None = Field(default=None, primary_key=True)
    file_id: str = Field(sa_type=String(32), unique=True)
    user: str = Field(sa_type=String(32))
    channel: str = Field(sa_type=String(32))  # the DM
    filename: str = Field(sa_type=String(255))
    size: int = 0
    reply_ts: str | None = Field(default=None, sa_type=String(32))  # the message showing progress, then the summary
    created_at: datetime = Field(sa_column=_utc())
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    lease_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    attempts: int = 0
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    outcome: str = Field(default="", sa_type=String(16))  # "", "imported", "refused", "failed"
    summary: str = Field(default="", sa_type=Text)
    rejected_csv: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    error: str = Field(default="", sa_type=Text)
    finished_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
class RejectionReport(SQLModel, table=True):
    """A legitimate-rejection report (上报, ``bot.core.reports``): who reported
    which order, why, when. ``item_id`` links the CS record it later matched
    (``matched_at``: when the import held that record); ``owner`` is the
    owner that record routes to, fixed when CS is asked to keep or drop it
    (the monthly notice counts the report for them). ``decision`` is CS's
    keep or drop (once: compare-and-set on ``decision IS NULL``).
    One report per order and day (``uq_report_order_day``)."""

    __tablename__ = "rejection_report"
    __table_args__ = (
        UniqueConstraint("order_no", "reported_on", name="uq_report_order_day"),
        Index("ix_report_unmatched", "item_id", "reported_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_no: str = Field(sa_type=String(64), index=True)
    reported_on: date  # the reporter's local day
    reason: str = Field(sa_type=String(20))  # bot.core.reports.Reason
    note: str = Field(default="", sa_type=Text)
    reporter: str = Field(sa_type=String(32))  # Slack user
    reporter_role: str = Field(sa_type=String(16))  # bot.core.lifecycle.Role value
    reporter_owner: str | None = Field(default=None, sa_type=String(128))  # the owner they act for, if any
    surface: str = Field(sa_type=String(16))
    created_at: datetime = Field(sa_column=_utc())
    item_id: int | None = Field(default=None, foreign_key="item.id", unique=True)
    matched_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    owner: str | None = Field(default=None, sa_type=String(128))
    review_channel: str | None = Field(default=None, sa_type=String(32))
    review_ts: str | None = Field(default=None, sa_type=String(32))
    decision: str | None = Field(default=None, sa_type=String(8))  # keep | drop
    decided_by: str | None = Field(default=None, sa_type=String(32))
    decided_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


# A kept record's report, for its digest line (``bot.core.reports.digest_report_line``):
# reason, reporter and note joined by ``REPORT_SEPARATOR`` (the note last: it
# may hold anything), None without a report. Loaded with the item (not
# deferred), so an item rendered after its session closed still has it.
Item.report_shown = column_property(
    sa_select(RejectionReport.reason + REPORT_SEPARATOR + RejectionReport.reporter + REPORT_SEPARATOR + RejectionReport.note)
    .where(RejectionReport.item_id == Item.id)
    .limit(1)
    .correlate_except(RejectionReport)
    .scalar_subquery(),
)
