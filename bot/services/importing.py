"""Importing a callback export: parse the file, store its good rows in one
transaction, and report what happened row by row.

A dry run reads the database to tell what would be added and writes nothing.
Rows that no owner in the routing file covers are imported all the same and
listed in the report, so that someone adds an owner for them.

Errors: ``bot.core.importing.ExportError`` (the whole file is unusable; render
it with ``catalog.t(error.key, **error.params)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.core.importing import Record, RowProblem, parse_export
from bot.core.routing import Routing
from bot.i18n import Catalog
from storage import imports
from storage.db import SessionFactory, transaction
from storage.models import ImportBatch


@dataclass
class ImportReport:
    filename: str
    header_row: int
    total_rows: int  # non-blank rows below the header
    added: int  # in a dry run: would be added
    skipped_known: int  # already in the database
    duplicates: list[tuple[int, int]]  # (row, row it repeats) within the file
    problems: list[RowProblem]  # rejected rows, one entry per reason
    unrouted: list[Record]  # good rows no owner covers (imported all the same)
    dry_run: bool

    @property
    def rejected_rows(self) -> int:
        return len({problem.row for problem in self.problems})


def import_export(
    *,
    session_factory: SessionFactory,
    now: datetime,
    timezone: ZoneInfo,
    routing: Routing,
    data: bytes,
    filename: str,
    actor: str,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    on_parsed: Callable[[Sequence[RowProblem]], None] | None = None,
    on_stored: Callable[[Session, ImportBatch, ImportReport], None] | None = None,
) -> ImportReport:
    """Import a callback export (CSV or XLSX) as new items, all or nothing,
    within the routing file's ``[import]`` limits. ``progress`` is told the
    rows read so far while the file is read (``parse_export``); ``on_stored``
    runs inside the import's transaction once the batch is stored (what it
    writes commits with the import, and if it raises nothing is imported):
    keep it short, on SQLite every other writer waits behind that transaction.
    ``on_parsed`` is told the rejected rows' problems once the file is read,
    before the transaction opens (not in a dry run): the place for slow work
    on the file, such as re-reading the rejected rows."""
    parsed = parse_export(data, filename=filename, limits=routing.imports, progress=progress)
    records = parsed.records
    if on_parsed is not None and not dry_run:
        on_parsed(parsed.problems)

    def report(added: int, known: int) -> ImportReport:
        return ImportReport(
            filename=filename,
            header_row=parsed.header_row,
            total_rows=parsed.total_rows,
            added=added,
            skipped_known=known,
            duplicates=parsed.duplicates,
            problems=parsed.problems,
            unrouted=[r for r in records if routing.owner_for(r.category, r.branch) is None],
            dry_run=dry_run,
        )

    if dry_run:
        with session_factory() as session:
            known = len(imports.list_known_keys(session=session, keys=[r.key for r in records]))
        return report(len(records) - known, known)
    with transaction(session_factory) as session:
        batch, added = store_records(
            session, records=records, filename=filename, sha256=hashlib.sha256(data).hexdigest(), actor=actor,
            now=now, timezone=timezone, skipped_in_file=len(parsed.duplicates), rejected=parsed.rejected_rows,
        )
        result = report(added, len(records) - added)
        if on_stored is not None:
            on_stored(session, batch, result)
    return result


def store_records(
    session: Session, *, records: Sequence[Record], filename: str, sha256: str, actor: str, now: datetime,
    timezone: ZoneInfo, skipped_in_file: int = 0, rejected: int = 0,
) -> tuple[ImportBatch, int]:
    """Store ``records`` as one import batch, in the caller's transaction:
    the batch, and how many records were new. The one way records are stored,
    from a file or from the ``/reject log`` modal."""
    batch = imports.create_batch(session=session, filename=filename, sha256=sha256, actor=actor, now=now)
    added = imports.insert_records(session=session, records=records, batch_id=batch.id, now=now, timezone=timezone)
    imports.set_batch_counts(
        session=session, batch=batch, added=added, skipped=len(records) - added + skipped_in_file, rejected=rejected
    )
    return batch, added


def render_import_report(report: ImportReport, catalog: Catalog) -> str:
    """The report as plain text, one fact a line, every bad row listed."""
    t = catalog.t
    lines = [t("import.report_title", filename=report.filename, total=report.total_rows, header_row=report.header_row)]
    if report.dry_run:
        lines.append(t("import.dry_run"))
    lines.append(t("import.would_add" if report.dry_run else "import.added", count=report.added))
    lines.append(t("import.skipped_known", count=report.skipped_known))
    if report.duplicates:
        lines.append(t("import.duplicates", count=len(report.duplicates)))
        lines.extend(t("import.duplicate_row", row=row, first=first) for row, first in report.duplicates)
    if report.problems:
        lines.append(t("import.rejected", count=report.rejected_rows))
        separator = t("import.reason_separator")
        for row, problems in groupby(report.problems, key=lambda problem: problem.row):
            reasons = separator.join(t(problem.key, **problem.params) for problem in problems)
            lines.append(t("import.rejected_row", row=row, reasons=reasons))
    if report.unrouted:
        lines.append(t("import.unrouted", count=len(report.unrouted)))
        lines.extend(
            t("import.unrouted_row", order_no=r.order_no, category=t(f"digest.category_{r.category}"), branch=r.branch)
            for r in report.unrouted
        )
    if report.dry_run:
        lines.append(t("import.dry_run"))
    return "\n".join(lines)
