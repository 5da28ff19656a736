"""The ``file_upload`` rows on SQLite and PostgreSQL: one row per key, the
claim's four outcomes, a lease taken over when it runs out, and a holder
that lost its lease changing nothing but the truth that the file is shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from storage import uploads as su
from storage.db import transaction
from storage.models import FileUpload
from storage.queries import Claim

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
FACTS = dict(channel="C0LOGISTICS", filename="chart.png", title="Chart", sha256="ab" * 32, length=1234)


def claim(session_factory, now: datetime = NOW, key: str = "k") -> tuple[Claim, datetime | None, str | None]:
    with transaction(session_factory) as session:
        outcome, row = su.claim_upload(session=session, key=key, now=now, lease=LEASE, **FACTS)
        return outcome, row.claimed_at, row.file_id


def test_claims_new_busy_resumed_done(session_factory) -> None:
    outcome, holder, _ = claim(session_factory)
    assert outcome is Claim.NEW and holder == NOW
    assert claim(session_factory, NOW + LEASE - timedelta(seconds=1))[0] is Claim.BUSY
    with transaction(session_factory) as session:
        assert su.set_upload_prepared(session=session, key="k", file_id="F1", now=NOW, holder=NOW)
    later = NOW + LEASE
    outcome, holder, file_id = claim(session_factory, later)
    assert (outcome, holder, file_id) == (Claim.RESUMED, later, "F1")
    with transaction(session_factory) as session:
        assert su.set_upload_shared(session=session, key="k", file_id="F1", now=later)
        assert not su.set_upload_shared(session=session, key="k", file_id="F1", now=later)  # once
    assert claim(session_factory, later + LEASE * 3)[0] is Claim.DONE
    with transaction(session_factory) as session:
        rows = session.exec(select(FileUpload)).all()
        assert [(r.key, r.file_id, r.shared_at, r.sha256, r.length) for r in rows] == [("k", "F1", later, "ab" * 32, 1234)]


def test_a_holder_whose_lease_was_taken_over_changes_nothing(session_factory) -> None:
    claim(session_factory)
    taken_at = NOW + LEASE
    assert claim(session_factory, taken_at)[0] is Claim.RESUMED
    with transaction(session_factory) as session:
        assert not su.set_upload_prepared(session=session, key="k", file_id="F-old", now=taken_at, holder=NOW)
        assert not su.release_upload(session=session, key="k", now=taken_at, holder=NOW, error="late")
        assert su.set_upload_prepared(session=session, key="k", file_id="F-new", now=taken_at, holder=taken_at)
        assert not su.forget_upload_file(session=session, key="k", file_id="F-new", holder=NOW)
        row = su.find_upload(session=session, key="k")
        assert (row.file_id, row.attempts, row.error, row.lease_until) == ("F-new", 0, "", taken_at + LEASE)


def test_release_counts_the_attempt_and_lets_the_next_claim_resume(session_factory) -> None:
    claim(session_factory)
    with transaction(session_factory) as session:
        assert su.release_upload(session=session, key="k", now=NOW + timedelta(seconds=5), holder=NOW, error="SlackUnavailable: x")
    outcome, holder, _ = claim(session_factory, NOW + timedelta(seconds=6))
    assert outcome is Claim.RESUMED and holder == NOW + timedelta(seconds=6)
    with transaction(session_factory) as session:
        row = su.find_upload(session=session, key="k")
        assert (row.attempts, row.error) == (1, "SlackUnavailable: x")
        assert su.forget_upload_file(session=session, key="k", file_id="F-none", holder=holder) is False  # no such file id stored


def test_keys_are_separate_rows(session_factory) -> None:
    assert claim(session_factory, key="a")[0] is Claim.NEW
    assert claim(session_factory, key="b")[0] is Claim.NEW
    with transaction(session_factory) as session:
        assert su.find_upload(session=session, key="c") is None
        assert sorted(r.key for r in session.exec(select(FileUpload)).all()) == ["a", "b"]
