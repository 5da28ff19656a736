"""The letters' queries on SQLite and PostgreSQL: one draft per key, numbers
per year without gaps (also when approvals race from two replicas), status
changes by compare-and-set, the files' bytes round trip, and the rows the
facts and the K-days trigger are read from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from support import run_together

from bot.core.letters import LetterStatus
from bot.core.lifecycle import Status
from storage import letters as store
from storage.db import make_session_factory, transaction
from storage.models import DigestMessage, FollowUp, Item, Letter

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def draft(key: str = "letter:大件配送:2026-11", owner: str = "大件配送") -> Letter:
    return Letter(draft_key=key, owner=owner, month="2026-11", reason="by_hand", status=LetterStatus.DRAFT, facts="{}", created_at=NOW)


def test_a_draft_key_is_taken_once(session_factory) -> None:
    with transaction(session_factory) as session:
        first = store.create_letter(session=session, letter=draft())
        again = store.create_letter(session=session, letter=draft())
    assert first is not None and first.id is not None and again is None
    with transaction(session_factory) as session:
        assert [l.id for l in store.list_letters(session=session)] == [first.id]
        assert store.find_letter_by_key(session=session, draft_key="letter:大件配送:2026-11").id == first.id


def test_numbers_run_per_year_and_start_again_each_year(session_factory) -> None:
    with transaction(session_factory) as session:
        taken = [store.next_number(session=session, year=2026) for _ in range(3)]
        taken.append(store.next_number(session=session, year=2027))
    assert taken == [1, 2, 3, 1]


def test_a_rolled_back_approval_gives_its_number_back(session_factory) -> None:
    with pytest.raises(RuntimeError):
        with transaction(session_factory) as session:
            store.next_number(session=session, year=2026)
            raise RuntimeError("rendering failed")
    with transaction(session_factory) as session:
        assert store.next_number(session=session, year=2026) == 1


def test_two_replicas_approving_at_once_take_consecutive_numbers(session_factory, replica_engine) -> None:
    factories = [session_factory, make_session_factory(replica_engine)] * 4
    numbers: list[int] = []

    def approve(factory):
        def job():
            with transaction(factory) as session:
                numbers.append(store.next_number(session=session, year=2026))
        return job

    assert run_together(*(approve(f) for f in factories)) == []
    assert sorted(numbers) == list(range(1, 9))


def test_the_same_number_twice_is_refused_by_the_database(session_factory) -> None:
    with transaction(session_factory) as session:
        a = store.create_letter(session=session, letter=draft("a"))
        b = store.create_letter(session=session, letter=draft("b"))
    with pytest.raises(IntegrityError):
        with transaction(session_factory) as session:
            for letter in (a, b):
                store.set_issued(
                    session=session, letter_id=letter.id, number=f"KF-2026-001-{letter.id}", year=2026, seq=1, facts="{}",
                    reply_by=date(2026, 12, 7), docx=b"d", docx_sha256="0" * 64, pdf=b"p", pdf_sha256="1" * 64,
                )


def test_status_changes_are_compare_and_set(session_factory) -> None:
    with transaction(session_factory) as session:
        letter = store.create_letter(session=session, letter=draft())
    with transaction(session_factory) as session:
        assert store.approve_letter(session=session, letter_id=letter.id, actor="U0CSLEAD", now=NOW)
        assert not store.approve_letter(session=session, letter_id=letter.id, actor="U0CSLEAD", now=NOW)  # the double click
        assert not store.discard_draft(session=session, letter_id=letter.id, actor="U0CSLEAD", now=NOW)
        assert not store.edit_draft(session=session, letter_id=letter.id, improvement="x", reply_days=3, facts="{}")
        assert not store.acknowledge_letter(session=session, letter_id=letter.id, user="U0OWNERY", now=NOW)  # not delivered yet
        assert store.set_delivered(session=session, letter_id=letter.id, now=NOW)
        assert store.mark_overdue(session=session, letter_id=letter.id, now=NOW)
        assert store.acknowledge_letter(session=session, letter_id=letter.id, user="U0OWNERY", now=NOW + timedelta(hours=1))
        assert not store.acknowledge_letter(session=session, letter_id=letter.id, user="U0LOGIBOSS", now=NOW + timedelta(hours=2))
    with transaction(session_factory) as session:
        stored = store.get_letter(session=session, letter_id=letter.id)
    assert (stored.status, stored.acknowledged_by, stored.acknowledged_at) == ("acknowledged", "U0OWNERY", NOW + timedelta(hours=1))


def test_an_acknowledgment_before_delivery_completed_is_kept_and_settles_on_delivery(session_factory) -> None:
    with transaction(session_factory) as session:
        letter = store.create_letter(session=session, letter=draft())
    with transaction(session_factory) as session:
        assert not store.record_early_ack(session=session, letter_id=letter.id, user="U0OWNERY", now=NOW)  # a draft: no
        assert store.approve_letter(session=session, letter_id=letter.id, actor="U0CSLEAD", now=NOW)
        assert not store.settle_early_ack(session=session, letter_id=letter.id)  # not delivered
        assert store.record_early_ack(session=session, letter_id=letter.id, user="U0OWNERY", now=NOW + timedelta(minutes=1))
        assert not store.record_early_ack(session=session, letter_id=letter.id, user="U0LOGIBOSS", now=NOW + timedelta(minutes=2))
        assert store.get_letter(session=session, letter_id=letter.id).status == "approved"
        assert store.set_delivered(session=session, letter_id=letter.id, now=NOW + timedelta(minutes=3))
        assert store.settle_early_ack(session=session, letter_id=letter.id)
        assert not store.settle_early_ack(session=session, letter_id=letter.id)
    with transaction(session_factory) as session:
        stored = store.get_letter(session=session, letter_id=letter.id)
    assert (stored.status, stored.acknowledged_by, stored.acknowledged_at) == ("acknowledged", "U0OWNERY", NOW + timedelta(minutes=1))


def test_a_delivered_letter_without_an_early_acknowledgment_stays_delivered(session_factory) -> None:
    with transaction(session_factory) as session:
        letter = store.create_letter(session=session, letter=draft())
        store.approve_letter(session=session, letter_id=letter.id, actor="U0CSLEAD", now=NOW)
        store.set_delivered(session=session, letter_id=letter.id, now=NOW)
        assert not store.settle_early_ack(session=session, letter_id=letter.id)
        assert store.get_letter(session=session, letter_id=letter.id).status == "delivered"


def test_the_files_bytes_and_events_round_trip(session_factory) -> None:
    blob = bytes(range(256)) * 400
    with transaction(session_factory) as session:
        letter = store.create_letter(session=session, letter=draft())
        store.set_issued(
            session=session, letter_id=letter.id, number="KF-2026-001", year=2026, seq=1, facts="{}", reply_by=date(2026, 12, 7),
            docx=blob, docx_sha256="a" * 64, pdf=blob[::-1], pdf_sha256="b" * 64,
        )
        store.add_event(session=session, letter_id=letter.id, at=NOW, actor="U0CSLEAD", action="approved", note="KF-2026-001")
    with transaction(session_factory) as session:
        stored = store.get_letter(session=session, letter_id=letter.id)
        events = store.list_events(session=session, letter_id=letter.id)
    assert stored.docx == blob and stored.pdf == blob[::-1] and stored.reply_by == date(2026, 12, 7)
    assert [(e.actor, e.action, e.note, e.at) for e in events] == [("U0CSLEAD", "approved", "KF-2026-001", NOW)]


def test_escalations_unfixed_items_and_the_next_digest_are_read(session_factory) -> None:
    with transaction(session_factory) as session:
        page = DigestMessage(
            digest_day=date(2026, 11, 27), owner="大件配送", channel="C0LOGISTICS", ts="100.1", deadline=NOW, created_at=NOW,
            posted_at=datetime(2026, 11, 27, 0, 30, tzinfo=UTC),
        )
        later = DigestMessage(
            digest_day=date(2026, 11, 30), owner="大件配送", channel="C0LOGISTICS", ts="200.1", deadline=NOW, created_at=NOW,
            posted_at=datetime(2026, 11, 30, 0, 30, tzinfo=UTC),
        )
        # a thread posted to 大件配送, handed over to 大件配送中心 by a rename later; and one posted to 小件配送
        renamed = DigestMessage(
            digest_day=date(2026, 11, 26), owner="大件配送中心", posted_owner="大件配送", channel="C0LOGISTICS", ts="90.1", deadline=NOW,
            created_at=NOW, posted_at=datetime(2026, 11, 26, 0, 30, tzinfo=UTC),
        )
        other = DigestMessage(
            digest_day=date(2026, 11, 26), owner="小件配送", posted_owner="小件配送", channel="C0LOGISTICS", ts="90.2", deadline=NOW,
            created_at=NOW, posted_at=datetime(2026, 11, 26, 0, 30, tzinfo=UTC),
        )
        session.add_all([page, later, renamed, other])
        session.flush()
        session.add_all([
            FollowUp(key="escalate:e:2:x", kind="escalate", thread_id=renamed.id, level=2, recipient="U0LOGIBOSS", sent_at=NOW - timedelta(days=4), ts="1.0"),
            FollowUp(key="escalate:a:2:x", kind="escalate", thread_id=page.id, level=2, recipient="U0LOGIBOSS", sent_at=NOW - timedelta(days=3), ts="1.1"),
            FollowUp(key="escalate:b:1:x:小件配送", kind="escalate", thread_id=page.id, level=1, recipient="U0OPSHEAD", sent_at=NOW - timedelta(days=2), ts="1.2"),
            FollowUp(key="escalate:c:2:x", kind="escalate", thread_id=page.id, level=2, recipient="U0LOGIBOSS", sent_at=NOW - timedelta(days=1)),  # never sent
            FollowUp(key="nudge:d:0:x", kind="nudge", thread_id=page.id, level=0, recipient="U0OWNERY", sent_at=NOW - timedelta(days=1), ts="1.3"),
        ])
        shelves = [  # (status, rejected on, the page it was posted on, Item.owner now)
            (Status.CONFIRMED, 26, page, "大件配送"), (Status.DEEMED_CONFIRMED, 20, page, "大件配送"), (Status.FIXED, 10, page, "大件配送"),
            (Status.CONFIRMED, 25, page, "大件配送"),
            (Status.CONFIRMED, 19, renamed, "大件配送中心"),  # posted to 大件配送: still theirs
            (Status.CONFIRMED, 5, other, "大件配送"),  # posted to 小件配送: not 大件配送's, whatever Item.owner says now
            (Status.CONFIRMED, 4, None, "大件配送"),  # never posted: nobody's yet
        ]
        for n, (status, day, posted_on, named) in enumerate(shelves):
            session.add(Item(
                order_no=f"SO{n}", rejected_on=date(2026, 11, day), branch="杭州分公司", category="large", status=status, owner=named,
                imported_at=NOW, updated_at=NOW, decided_at=NOW - timedelta(days=n), digest_message_id=None if posted_on is None else posted_on.id,
            ))
    with transaction(session_factory) as session:
        escalations = store.list_escalations(session=session, since=NOW - timedelta(days=10), until=NOW)
        unfixed = store.list_unfixed_items(session=session, owner="大件配送", limit=5)
        first = store.find_first_page_after(session=session, owner="大件配送", after=datetime(2026, 11, 28, tzinfo=UTC))
        none = store.find_first_page_after(session=session, owner="大件配送", after=NOW)
    assert escalations == [
        ("大件配送", 2, "U0LOGIBOSS", NOW - timedelta(days=4)),  # the owner it was posted to, not the rename's
        ("大件配送", 2, "U0LOGIBOSS", NOW - timedelta(days=3)),
        ("小件配送", 1, "U0OPSHEAD", NOW - timedelta(days=2)),  # the ladder's owner, from the key
    ]
    assert [(u.order_no, u.status, u.rejected_on.day) for u in unfixed] == [
        ("SO4", "confirmed", 19), ("SO1", "deemed_confirmed", 20), ("SO3", "confirmed", 25), ("SO0", "confirmed", 26),
    ]
    assert first.ts == "200.1" and none is None
