"""``storage.db.reading``: a long read holds up no writer.

The App Home reads every open item; inside ``transaction`` that held SQLite's
write lock (``BEGIN IMMEDIATE`` and the process's writer lock) for seconds at
company scale, and every click waited behind it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlmodel import func, select

from storage.db import reading, transaction
from storage.models import ImportBatch


def _batch(name: str) -> ImportBatch:
    return ImportBatch(filename=name, sha256="0" * 64, imported_at=datetime(2026, 11, 30, tzinfo=UTC), actor="test")


def test_a_write_goes_through_while_a_read_is_open(session_factory) -> None:
    with transaction(session_factory) as session:
        session.add(_batch("before.csv"))
    written = threading.Event()

    def write() -> None:
        with transaction(session_factory) as session:
            session.add(_batch("during.csv"))
        written.set()

    with reading(session_factory) as session:
        before = session.exec(select(func.count()).select_from(ImportBatch)).one()
        writer = threading.Thread(target=write)
        writer.start()
        assert written.wait(timeout=5), "a writer waited for a read to end"
        writer.join()
        if session.bind.dialect.name == "sqlite":  # one snapshot from the first read on (WAL)
            assert session.exec(select(func.count()).select_from(ImportBatch)).one() == before == 1
    with transaction(session_factory) as session:
        assert session.exec(select(func.count()).select_from(ImportBatch)).one() == 2

