"""The App Home's queries (``storage.home``) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.core.home import FailedKind
from bot.core.lifecycle import Status
from storage import home as store
from storage.db import transaction
from storage.models import AuditEntry, DigestMessage, FileUpload, FollowUp, Item

NOW = datetime(2026, 11, 27, 1, 15, tzinfo=UTC)


def add_item(session, n: int, status: Status) -> Item:
    item = Item(
        order_no=f"SO{n}", rejected_on=date(2026, 11, 26), branch="杭州分公司", category="large", status=status,
        imported_at=NOW, updated_at=NOW,
    )
    session.add(item)
    session.flush()
    return item


def test_opening_twice_keeps_one_row_and_what_was_published(session_factory) -> None:
    with transaction(session_factory) as session:
        store.note_opened(session=session, user="U1", now=NOW)
        store.set_published(session=session, user="U1", content_hash="c" * 64, slack_hash="123.456", now=NOW)
    with transaction(session_factory) as session:
        store.note_opened(session=session, user="U1", now=NOW + timedelta(hours=1))
        store.note_opened(session=session, user="U2", now=NOW)
    with transaction(session_factory) as session:
        home = store.find_home(session=session, user="U1")
        homes = [h.user for h in store.list_homes(session=session)]
    assert (home.opened_at, home.content_hash, home.slack_hash, home.published_at) == (NOW + timedelta(hours=1), "c" * 64, "123.456", NOW)
    assert homes == ["U2", "U1"]  # never published first


def test_a_failed_publish_counts_and_a_good_one_clears_it(session_factory) -> None:
    with transaction(session_factory) as session:
        store.note_opened(session=session, user="U1", now=NOW)
        store.set_failed(session=session, user="U1", error="not_enabled")
        store.set_failed(session=session, user="U1", error="ratelimited")
    with transaction(session_factory) as session:
        failed = store.find_home(session=session, user="U1")
        assert (failed.attempts, failed.error, failed.content_hash) == (2, "ratelimited", "")
        store.set_published(session=session, user="U1", content_hash="h", slack_hash="s", now=NOW)
    with transaction(session_factory) as session:
        home = store.find_home(session=session, user="U1")
    assert (home.attempts, home.error) == (0, "")


def test_failed_sends_are_the_unsent_digest_messages_given_up_follow_ups_and_unshared_files(session_factory) -> None:
    with transaction(session_factory) as session:
        failed = DigestMessage(digest_day=date(2026, 11, 27), owner="大件配送", channel="C1", deadline=NOW, created_at=NOW, last_error="channel_not_found", attempted_at=NOW)
        posted = DigestMessage(digest_day=date(2026, 11, 27), owner="小件配送", channel="C1", deadline=NOW, created_at=NOW, ts="1.2")
        waiting = DigestMessage(digest_day=date(2026, 11, 28), owner="小件配送", channel="C1", deadline=NOW, created_at=NOW)  # not tried yet
        session.add_all([failed, posted, waiting])
        session.flush()
        session.add(FollowUp(key="k1", kind="escalate", thread_id=posted.id, recipient="U0OPSHEAD", sent_at=NOW, gave_up_at=NOW, error="user_not_found"))
        session.add(FollowUp(key="k2", kind="nudge", thread_id=posted.id, recipient="U0OWNERZ", sent_at=NOW, ts="1.3"))
        session.add(FileUpload(key="f1", channel="C1", filename="a.xlsx", sha256="0" * 64, length=1, created_at=NOW, attempts=1, error="HTTP 500"))
        session.add(FileUpload(key="f2", channel="C1", filename="b.xlsx", sha256="0" * 64, length=1, created_at=NOW, shared_at=NOW, attempts=1))
    with transaction(session_factory) as session:
        found = store.list_failed_sends(session=session, limit=10)
    assert [(f.kind, f.what, f.error) for f in found] == [
        (FailedKind.DIGEST, "2026-11-27 大件配送 #1", "channel_not_found"),
        (FailedKind.FOLLOW_UP, "U0OPSHEAD", "user_not_found"),
        (FailedKind.UPLOAD, "a.xlsx", "HTTP 500"),
    ]


def test_change_marks_move_with_every_change_a_home_shows(session_factory) -> None:
    with transaction(session_factory) as session:
        before = store.change_marks(session=session)
        same = store.change_marks(session=session)
    with transaction(session_factory) as session:
        item = add_item(session, 1, Status.AWAITING)
    with transaction(session_factory) as session:
        after_import = store.change_marks(session=session)
        session.add(AuditEntry(item_id=item.id, at=NOW, actor="U1", role="owner", surface="button", action="confirm", from_status="awaiting", to_status="confirmed"))
    with transaction(session_factory) as session:
        after_change = store.change_marks(session=session)
    assert before == same
    assert len({before, after_import, after_change}) == 3
