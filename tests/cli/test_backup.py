"""``rejectbot db backup FILE`` (issue 7, point 7): a consistent copy of the
SQLite database while the bot writes to it; PostgreSQL is refused with the
pg_dump command to use; an existing file is replaced only with --force."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from bot.cli import main
from storage.db import make_engine, make_session_factory, transaction
from storage.models import AuditEntry, Item


@pytest.fixture
def operator(tmp_path, monkeypatch):
    """A working directory, a fresh environment and a migrated SQLite database."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "DATABASE_URL", "ROUTING_FILE", "BOT_TIMEZONE", "BOT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("BOT_LOCALE", "en")
    assert main(["db", "upgrade"]) == 0
    return tmp_path


def add_item_with_audit(session: Session, n: int) -> None:
    """One transaction's worth: an item and its audit row (a consistent copy has as many of each)."""
    now = datetime.now(UTC)
    item = Item(order_no=f"SO{n:014d}", rejected_on=date(2026, 11, 26), branch="杭州分公司", category="large",
                customer="张三 13812341234", note="客户说已收到" * 20, status="new", imported_at=now, updated_at=now)
    session.add(item)
    session.flush()
    session.add(AuditEntry(item_id=item.id, at=now, actor="cli", role="system", surface="cli", action="post",
                           from_status="new", to_status="new", note="x" * 200))


def counts(path) -> tuple[list[str], int, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as copy:
        check = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        items = copy.execute("SELECT count(*) FROM item").fetchone()[0]
        audit = copy.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
    return check, items, audit


def test_a_backup_taken_while_the_bot_writes_is_consistent(operator, capsys) -> None:
    engine = make_engine(f"sqlite:///{operator / 'bot.db'}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        for n in range(2000):  # a database of some size, so that the copy takes a while
            add_item_with_audit(session, n)
    stop, written = threading.Event(), []

    def writer() -> None:
        n = 2000
        while not stop.is_set():
            with transaction(factory) as session:
                add_item_with_audit(session, n)
            written.append(n)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:  # the writer is under way
            threading.Event().wait(0.01)
        codes = [main(["db", "backup", f"copy-{i}.db"]) for i in range(5)]
        before_stop = len(written)
    finally:
        stop.set()
        thread.join(timeout=30)
    engine.dispose()
    assert codes == [0] * 5
    out = capsys.readouterr().out
    seen = []
    for i in range(5):
        check, items, audit = counts(operator / f"copy-{i}.db")
        assert check == ["ok"]
        assert items == audit  # each writer's transaction is in the copy whole, or not at all
        assert 2000 <= items <= 2000 + len(written)
        assert f"{items} item(s)" in out
        seen.append(items)
    assert seen == sorted(seen) and before_stop > 0  # each copy a later snapshot, while writes went on
    assert not list(operator.glob(".copy-*.partial-*"))  # nothing left behind
    with sqlite3.connect(operator / "copy-0.db") as copy:  # a self-contained file, not WAL
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_an_existing_file_is_replaced_only_with_force(operator, capsys) -> None:
    target = operator / "backup.db"
    target.write_bytes(b"last week's backup")
    assert main(["db", "backup", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{target} exists: nothing was written" in err and "--force" in err
    assert target.read_bytes() == b"last week's backup"
    assert main(["db", "backup", str(target), "--force"]) == 0
    assert counts(target)[0] == ["ok"]


def test_a_failed_backup_replaces_nothing(operator, monkeypatch, capsys) -> None:
    (operator / "not-a-database.db").write_bytes(b"this is not SQLite" * 100)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{operator / 'not-a-database.db'}")
    target = operator / "backup.db"
    target.write_bytes(b"last week's backup")
    assert main(["db", "backup", str(target), "--force"]) == 1
    err = capsys.readouterr().err
    assert f"Backup to {target} failed (DatabaseError: file is not a database); nothing was replaced." in err
    assert "Traceback" not in err
    assert target.read_bytes() == b"last week's backup"
    assert not list(operator.glob(".backup.db.partial-*"))


def test_postgresql_is_refused_with_the_pg_dump_command(operator, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://rejectbot:s3cret@db.internal:5432/rejectbot")
    assert main(["db", "backup", "rejectbot.dump"]) == 2
    err = capsys.readouterr().err
    assert "copies a SQLite database only" in err
    assert "pg_dump --format=custom --file=rejectbot.dump postgresql://rejectbot@db.internal:5432/rejectbot" in err
    assert "s3cret" not in err  # the password is never printed
    assert not (operator / "rejectbot.dump").exists()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["db", "backup"], 2, "rejectbot db backup needs the file to write"),
        (["db", "backup", "bot.db", "--force"], 2, "bot.db is the database itself"),
        (["db", "backup", "bot.db-wal", "--force"], 2, "bot.db-wal is the database itself"),
        (["db", "backup", "no/such/dir/copy.db"], 2, "No directory no/such/dir: create it first"),
    ],
)
def test_bad_usage_exits_2_with_a_message(operator, capsys, argv, code, message) -> None:
    before = contents(operator / "bot.db")
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert contents(operator / "bot.db") == before and (operator / "bot.db").stat().st_size > 0


def contents(path) -> list[str]:
    """The database as SQL. Not its bytes: SQLite rewrites the header's change
    counter whenever a WAL checkpoint lands, e.g. when an earlier command's
    last connection is collected."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_a_missing_database_is_not_created(operator, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{operator / 'elsewhere.db'}")
    assert main(["db", "backup", "copy.db"]) == 1
    assert f"No SQLite database at {operator / 'elsewhere.db'}" in capsys.readouterr().err
    assert not (operator / "elsewhere.db").exists() and not (operator / "copy.db").exists()


def test_the_messages_are_in_the_operators_language(operator, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BOT_LOCALE", "zh_CN")
    assert main(["db", "backup", "copy.db"]) == 0
    assert "完整性检查通过" in capsys.readouterr().out
