"""Engines, sessions and schema upgrades.

Errors: none of its own; SQLAlchemy's and Alembic's propagate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from storage.queries import watch_changes

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PROBE_TIMEOUT_S = 2  # a health probe that waits longer answers "does not answer"

SessionFactory = Callable[[], Session]


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``: PostgreSQL through psycopg 3, or SQLite tuned
    for several writers (WAL, a busy timeout, ``BEGIN IMMEDIATE`` so that a
    transaction takes the write lock up front and two writers queue instead of
    deadlocking on a lock upgrade)."""
    url = _driver_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _driver_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_probe_engine(url: str, *, connect_args: dict | None = None) -> Engine:
    """An engine for health's plain reads: a fresh connection per look, no
    ``BEGIN IMMEDIATE`` (so it never queues behind a writer: SQLite's WAL
    lets it read beside one), and it gives up within ``PROBE_TIMEOUT_S``
    (connecting, and on PostgreSQL each statement) instead of hanging."""
    from sqlalchemy.pool import NullPool

    parsed = make_url(_driver_url(url))
    args = dict(connect_args or {})
    if parsed.drivername.startswith("sqlite"):
        args.update(check_same_thread=False, timeout=PROBE_TIMEOUT_S)
    else:  # keep the URL's own options (a search_path, say): connect_args would replace them
        in_url = parsed.query.get("options")
        in_url = " ".join(in_url) if isinstance(in_url, tuple) else in_url
        args["connect_timeout"] = PROBE_TIMEOUT_S
        args["options"] = " ".join(o for o in (f"-c statement_timeout={PROBE_TIMEOUT_S * 1000}", in_url, args.get("options")) if o)
        parsed = parsed.difference_update_query(["options"])
    return create_engine(parsed, poolclass=NullPool, connect_args=args)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite's busy handler polls with growing sleeps (up to 100 ms), so
    # threads of one process queueing for the write lock wait far longer than
    # the transaction ahead of them takes. They queue on a lock of ours
    # instead, and only other processes meet the busy handler.
    writer = threading.RLock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):  # ``reading``: a snapshot that blocks no writer (WAL)
            connection.exec_driver_sql("BEGIN")
            return
        held = writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        connection.info["writer_lock"] = held
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(connection)
            raise

    def _release(connection) -> None:
        try:
            info = connection.info
        except (NotImplementedError, AttributeError):  # the dialect's first-connect probe: no transaction of ours
            return
        if info.pop("writer_lock", False):
            try:
                writer.release()
            except RuntimeError:  # ended by another thread than began it: nothing of ours to release
                pass

    # Released once the COMMIT or ROLLBACK has run: SQLAlchemy's ``commit``
    # and ``rollback`` events fire before it, and a thread let in then met
    # SQLite's busy handler after all. The dialect is this engine's own.
    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def _commit_then_release(dbapi_connection) -> None:
        try:
            do_commit(dbapi_connection)
        finally:
            _release(dbapi_connection)

    def _rollback_then_release(dbapi_connection) -> None:
        try:
            do_rollback(dbapi_connection)
        finally:
            _release(dbapi_connection)

    dialect.do_commit = _commit_then_release
    dialect.do_rollback = _rollback_then_release


def make_session_factory(engine: Engine) -> SessionFactory:
    """Sessions that keep digest messages' versions up to date with their
    items (``storage.queries.watch_changes``)."""
    def factory() -> Session:
        return watch_changes(Session(engine, expire_on_commit=False))

    return factory


@contextmanager
def transaction(session_factory: SessionFactory) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on error."""
    with session_factory() as session:
        with session.begin():
            yield session


ANALYSIS_LIMIT = 1000  # rows SQLite samples per index when it refreshes statistics: approximate, and quick on millions


def optimize(session_factory: SessionFactory) -> bool:
    """SQLite: refresh the planner's statistics where they are stale
    (``PRAGMA optimize``, sampling at most ``ANALYSIS_LIMIT`` rows an index), as
    SQLite's docs advise for long-lived connections ("run PRAGMA optimize
    periodically, perhaps once per day or once per hour";
    https://sqlite.org/pragma.html#pragma_optimize). The queries are written to
    stay index lookups with statistics (``storage.models.OPEN_ITEM_WHERE``).
    PostgreSQL's autovacuum does this itself: nothing to do there. True when it ran."""
    with transaction(session_factory) as session:
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            return False
        connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        connection.exec_driver_sql("PRAGMA optimize")
    return True


READ_ONLY = "rejectbot_read_only"  # execution option of a ``reading`` session's connection


@contextmanager
def reading(session_factory: SessionFactory) -> Iterator[Session]:
    """A session for reads only, rolled back at the end. On SQLite it begins
    a plain (deferred) transaction instead of ``BEGIN IMMEDIATE`` and takes
    no writer lock: a long read (the App Home's, over every open item) sees
    one snapshot and holds up no writer. Writing in it is a bug (on SQLite
    it would wait for the write lock it never took, then fail as busy)."""
    with session_factory() as session:
        session.connection(execution_options={READ_ONLY: True})  # begins the transaction on this connection
        try:
            yield session
        finally:
            session.rollback()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def database_problem(engine: Engine) -> str | None:
    """Does the database answer, with our schema? A problem in a few words,
    or None. Pass a ``make_probe_engine``: a fresh connection each look,
    which neither waits on a writer nor hangs."""
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM inbox WHERE 1 = 0")).all()
    except Exception as exc:  # any driver error means: it does not answer
        return f"database does not answer ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]})"
    return None
