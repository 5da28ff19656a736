"""Storage for imports: import batches and the bulk insert of imported records.

A record is one (order number, rejection date): inserting one that the table
already holds does nothing (``INSERT … ON CONFLICT DO NOTHING`` on
``uq_item_order_day``), so importing a file twice adds nothing. A record of an
order someone reported as a legitimate rejection is held for CS, in the same
transaction (``storage.reports.hold_reported``).

Errors: none of its own; SQLAlchemy's propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from functools import partial
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from bot.core.importing import Record
from bot.core.lifecycle import Status
from storage import reports
from storage.models import ImportBatch, Item

KEY_QUERY_CHUNK = 1_000  # order numbers per ``IN (…)`` when looking up known keys
_DIALECT_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_INSERT_COLUMNS = (
    "order_no", "rejected_on", "branch", "category", "scenario", "customer", "callback_agent",
    "callback_at", "note", "status", "batch_id", "imported_at", "updated_at",
)


def create_batch(*, session: Session, filename: str, sha256: str, actor: str, now: datetime) -> ImportBatch:
    """A new import batch with zero counts, flushed so that it has an id."""
    batch = ImportBatch(filename=filename[:255], sha256=sha256, imported_at=now, actor=actor[:64])
    session.add(batch)
    session.flush()
    return batch


def set_batch_counts(*, session: Session, batch: ImportBatch, added: int, skipped: int, rejected: int) -> None:
    """Record what the batch did: rows added, skipped (known or repeated), rejected."""
    batch.added, batch.skipped, batch.rejected = added, skipped, rejected
    session.flush()


def insert_records(
    *,
    session: Session,
    records: Sequence[Record],
    batch_id: int | None,
    now: datetime,
    timezone: ZoneInfo,
) -> int:
    """Insert ``records`` as new items, skipping any whose (order number,
    rejection date) is already stored; return how many were added.

    ``callback_at`` is read as wall time in ``timezone``. The rows go in
    through one ``executemany`` of one statement, in the session's
    transaction. SQLAlchemy's per-row parameter processing would make a large
    import several times slower than the driver alone, so the statement is
    compiled once and values are converted with the columns' own bind
    processors, cached per distinct value (dates and times repeat).
    """
    if not records:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    statement = _DIALECT_INSERT[dialect.name](Item.__table__).on_conflict_do_nothing(
        index_elements=["order_no", "rejected_on"]
    )
    compiled = statement.compile(dialect=dialect, column_keys=list(_INSERT_COLUMNS))
    day = _cached_bind(Item.__table__.c.rejected_on.type, dialect)
    moment = _cached_bind(Item.__table__.c.callback_at.type, dialect, prepare=partial(_aware, timezone=timezone))
    stamp = moment(now)
    status = Status.NEW.value
    rows = [  # in _INSERT_COLUMNS order
        (
            r.order_no, day(r.rejected_on), r.branch, r.category, r.scenario, r.customer, r.callback_agent,
            moment(r.callback_at), r.note, status, batch_id, stamp, stamp,
        )
        for r in records
    ]
    if compiled.positional:  # SQLite: "?" parameters in the statement's order
        pick = itemgetter(*(_INSERT_COLUMNS.index(name) for name in compiled.positiontup))
        params: list = list(map(pick, rows))
    else:  # PostgreSQL: named parameters
        params = [dict(zip(_INSERT_COLUMNS, row, strict=True)) for row in rows]
    result = connection.exec_driver_sql(compiled.string, params)
    added = result.rowcount
    if added:  # a record of an order someone reported is held for CS, on every import path
        reports.hold_reported(
            session=session, now=now, first_day=min(r.rejected_on for r in records), last_day=max(r.rejected_on for r in records),
        )
    return added


def list_known_keys(*, session: Session, keys: Iterable[tuple[str, date]]) -> set[tuple[str, date]]:
    """Those of ``keys`` (order number, rejection date) already stored."""
    wanted = set(keys)
    known: set[tuple[str, date]] = set()
    order_nos = list({order_no for order_no, _ in wanted})
    for start in range(0, len(order_nos), KEY_QUERY_CHUNK):
        chunk = order_nos[start : start + KEY_QUERY_CHUNK]
        query = select(Item.order_no, Item.rejected_on).where(Item.order_no.in_(chunk))
        known.update(key for key in map(tuple, session.execute(query)) if key in wanted)
    return known


def _aware(moment: datetime | None, timezone: ZoneInfo) -> datetime | None:
    """A naive wall time in ``timezone`` made aware; an aware one as it is."""
    return moment.replace(tzinfo=timezone) if moment is not None and moment.tzinfo is None else moment


def _cached_bind(
    column_type: TypeEngine, dialect: Dialect, prepare: Callable[[Any], Any] | None = None
) -> Callable[[Any], Any]:
    """The column's own conversion (its bind processor, as SQLAlchemy would
    apply it) of a value, after ``prepare``, remembering each value's result."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            result = prepare(value) if prepare is not None else value
            result = cache[value] = result if process is None else process(result)
            return result

    return convert
