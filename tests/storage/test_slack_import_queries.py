"""The ``slack_import`` queries: one row per Slack file, one claimant at a
time, and a holder that lost its lease changes nothing (SQLite, and
PostgreSQL when ``TEST_DATABASE_URL`` is set)."""

from __future__ import annotations

from datetime import timedelta

from conftest import at
from support import run_together

from storage import slack_imports as store
from storage.db import transaction

NOW = at("2026-11-27 09:00")
LEASE = timedelta(minutes=2)


def _add(session_factory, file_id: str = "F0001") -> int | None:
    with transaction(session_factory) as session:
        row = store.add_import(session=session, file_id=file_id, user="U0CS0001", channel="DU0CS0001", filename="a.csv", size=10, now=NOW)
        return None if row is None else row.id


def test_one_row_per_file(session_factory) -> None:
    assert _add(session_factory) is not None
    assert _add(session_factory) is None
    with transaction(session_factory) as session:
        assert not store.add_refused(session=session, file_id="F0001", user="U1", channel="DU1", filename="x", summary="no", now=NOW)
        assert store.add_refused(session=session, file_id="F0002", user="U1", channel="DU1", filename="x", summary="no", now=NOW)
        assert store.claim_next(session=session, holder="a", now=NOW, lease=LEASE).file_id == "F0001"  # the refused one is finished


def test_two_claimants_one_row(session_factory, replica_engine) -> None:
    from storage.db import make_session_factory

    _add(session_factory)
    other = make_session_factory(replica_engine)
    won: list[str] = []

    def claim(factory, holder: str) -> None:
        with transaction(factory) as session:
            if store.claim_next(session=session, holder=holder, now=NOW, lease=LEASE) is not None:
                won.append(holder)

    assert run_together(lambda: claim(session_factory, "a"), lambda: claim(other, "b")) == []
    assert len(won) == 1


def test_a_holder_whose_lease_was_taken_over_changes_nothing(session_factory) -> None:
    import_id = _add(session_factory)
    with transaction(session_factory) as session:
        assert store.claim_next(session=session, holder="old", now=NOW, lease=LEASE) is not None
        assert store.claim_next(session=session, holder="new", now=NOW + timedelta(minutes=1), lease=LEASE) is None
        taken = store.claim_next(session=session, holder="new", now=NOW + LEASE + timedelta(seconds=1), lease=LEASE)
        assert taken is not None and taken.attempts == 2
    with transaction(session_factory) as session:
        assert not store.renew(session=session, import_id=import_id, holder="old", until=NOW + LEASE * 3)
        assert not store.set_refused(session=session, import_id=import_id, holder="old", summary="x")
        assert not store.finish(session=session, import_id=import_id, holder="old", now=NOW)
        assert store.renew(session=session, import_id=import_id, holder="new", until=NOW + LEASE * 3)
        assert store.finish(session=session, import_id=import_id, holder="new", now=NOW, outcome="imported")
        assert store.claim_next(session=session, holder="x", now=NOW + LEASE * 10, lease=LEASE) is None
