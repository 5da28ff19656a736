"""The monthly notice's workbook (XLSX): the month's figures and every item's
history, for the channel (masked) and for the CS lead (unmasked).

Sheet 1, the summary:

- one row per owner (branch column "all branches", in bold), then one row per
  branch of that owner, with every figure of ``Counts``, the penalty, and the
  trend against the previous month (owner rows only); a total row below. The
  header row is frozen and the auto-filter covers the owner and branch rows;
- CS's own accuracy per callback agent, with a total row;
- CS's own corrections (voided records);
- the totals: month, as-of time, the per-item amount, the penalties.

Sheet 2, the items: one row per audit row of each item of the month (an item
without history gets one row), the item's facts repeated on each, in the
order ``items`` is given.

Every cell is written by ``_Writer.put``, which passes the value through
``bot.core.cells.safe_cell``: a text starting with ``=``, ``+``, ``-`` or
``@`` is written as text, never as a formula. Times are aware UTC in the
shapes; cells hold them as naive local time in ``tz`` (Excel has no time
zones) with a date or date-time number format. ``masked=True`` masks the
customer cell (``mask_customer``) and every free text — the callback note,
audit notes, correction reasons — (``mask_note(text, customer)``) exactly as
the channel posts do; ``masked=False`` is the CS lead's full copy.

Working-time medians are written in working hours (one decimal); the share
fixed in time is ``fixed_in_window / fixed`` (empty when nothing was fixed);
a branch's penalty is its mistaken rejections × the per-item amount, the same
rule as the owner's.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from bot.core.cells import CellValue, safe_cell
from bot.core.masking import mask_customer, mask_note
from bot.core.monthly import Counts, MonthFigures, MonthItem
from bot.i18n import Catalog

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
HOURS_FORMAT = "0.0"
SHARE_FORMAT = "0%"
CHANGE_FORMAT = "+0%;-0%;0%"
YUAN_FORMAT = "#,##0"
MIN_WIDTH, MAX_WIDTH, HEADER_WIDTH = 6, 50, 18  # column widths, in characters
HEADER_HEIGHT = 45  # points: three lines of a wrapped header

ROLE_KEYS = {
    "system": "workbook.role_system",
    "owner": "workbook.role_owner",
    "delegate": "workbook.role_delegate",
    "manager": "workbook.role_manager",
    "cs_agent": "workbook.role_cs_agent",
    "cs_lead": "workbook.role_cs_lead",
    "other": "workbook.role_other",
}
ACTION_KEYS = {
    "post": "workbook.action_post",
    "confirm": "workbook.action_confirm",
    "dispute": "workbook.action_dispute",
    "undo_confirm": "workbook.action_undo_confirm",
    "deem": "workbook.action_deem",
    "fix": "workbook.action_fix",
    "uphold": "workbook.action_uphold",
    "overrule": "workbook.action_overrule",
    "void": "workbook.action_void",
    "reopen": "workbook.action_reopen",
}
OWNER_COLUMNS = (
    "workbook.owner", "workbook.branch", "workbook.posted", "workbook.confirmed", "workbook.deemed", "workbook.disputed",
    "workbook.upheld", "workbook.overruled", "workbook.open", "workbook.mistaken", "workbook.fixed", "workbook.fixed_in_window",
    "workbook.fixed_share", "workbook.answer_median", "workbook.fix_median", "workbook.escalations", "workbook.penalty",
    "workbook.previous", "workbook.trend", "workbook.change",
)
AGENT_COLUMNS = (
    "workbook.agent", "workbook.agent_posted", "workbook.agent_disputed", "workbook.agent_upheld", "workbook.agent_penalty",
    "workbook.agent_voided",
)
CORRECTION_COLUMNS = (
    "workbook.correction_order", "workbook.correction_rejected_on", "workbook.correction_agent", "workbook.correction_owner",
    "workbook.correction_at", "workbook.correction_actor", "workbook.correction_note",
)
ITEM_COLUMNS = (
    "workbook.order_no", "workbook.rejected_on", "workbook.digest_day", "workbook.branch", "workbook.category", "workbook.owner",
    "workbook.agent", "workbook.customer", "workbook.callback_note", "workbook.at", "workbook.actor", "workbook.role",
    "workbook.surface", "workbook.action", "workbook.from_status", "workbook.to_status", "workbook.note",
)


class Formatted(NamedTuple):
    """A number with its own number format."""

    value: CellValue
    number_format: str


def render_workbook(figures: MonthFigures, items: Sequence[MonthItem], *, catalog: Catalog, tz: ZoneInfo, masked: bool) -> bytes:
    """The workbook as XLSX bytes: the summary of ``figures`` and the history
    of ``items``, headers in ``catalog``'s language, times in ``tz``;
    ``masked`` for the channel's copy."""
    book = Workbook()
    summary = book.active
    summary.title = catalog.t("workbook.sheet_summary")
    _write_summary(_Writer(summary, tz), figures, items, catalog=catalog, masked=masked)
    _write_items(_Writer(book.create_sheet(catalog.t("workbook.sheet_items")), tz), items, catalog=catalog, masked=masked)
    book.properties.creator = "rejectbot"
    book.properties.title = f"{catalog.t('workbook.sheet_summary')} {figures.month}"
    return _repeatable_bytes(book, figures.as_of)


def _repeatable_bytes(book: Workbook, at: datetime) -> bytes:
    """The workbook's bytes, the same for the same content: its dates (the
    document's created and modified, each zip member's time) are ``at``, not
    the moment of saving, which ``Workbook.save`` stamps. A file shared once
    per key (``bot.services.uploads``) is rendered again by a resumed run and
    must come out identical."""
    stamp = at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None, microsecond=0)
    book.properties.created = book.properties.modified = stamp
    written = io.BytesIO()
    with zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()  # Workbook.save without its "modified = now"
    repacked = io.BytesIO()
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(member, source.read(info))
    return repacked.getvalue()


# --- the one place cells are written ---------------------------------------------------


@dataclass
class _Writer:
    """Writes a sheet row by row; every value goes through ``safe_cell``."""

    sheet: Worksheet
    tz: ZoneInfo
    row: int = 0
    widths: dict[int, int] = field(default_factory=dict)

    def put(self, row: int, column: int, value: CellValue | Formatted, *, bold: bool = False, measure: bool = True) -> None:
        number_format = None
        if isinstance(value, Formatted):
            value, number_format = value
        if value == "":
            value = None  # an empty cell, not an empty text
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.tz).replace(tzinfo=None)
            number_format = number_format or DATETIME_FORMAT
        elif isinstance(value, date):
            number_format = number_format or DATE_FORMAT
        cell = self.sheet.cell(row=row, column=column, value=safe_cell(value))
        if number_format:
            cell.number_format = number_format
        if bold:
            cell.font = Font(bold=True)
        if isinstance(cell.value, str) and "\n" in cell.value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        if measure:
            self.widths[column] = max(self.widths.get(column, 0), _width(cell.value))

    def line(self, values: Sequence[CellValue | Formatted], *, bold: bool = False) -> int:
        """The next row, ``values`` from column A on; returns its number."""
        self.row += 1
        for column, value in enumerate(values, start=1):
            self.put(self.row, column, value, bold=bold)
        return self.row

    def title(self, text: str) -> None:
        """A section title in column A, bold, not widening the column."""
        self.row += 1
        self.put(self.row, 1, text, bold=True, measure=False)

    def header(self, texts: Sequence[str]) -> int:
        """A row of column headers: bold, wrapped, widening a column at most to ``HEADER_WIDTH``."""
        self.row += 1
        for column, text in enumerate(texts, start=1):
            self.put(self.row, column, text, bold=True, measure=False)
            self.sheet.cell(row=self.row, column=column).alignment = Alignment(wrap_text=True, vertical="top")
            self.widths[column] = max(self.widths.get(column, 0), min(_width(text), HEADER_WIDTH))
        return self.row

    def skip(self) -> None:
        self.row += 1

    def finish(self, *, filter_columns: int, filter_last_row: int) -> None:
        """Frozen header row, auto-filter over rows 1..``filter_last_row``, column widths."""
        self.sheet.freeze_panes = "A2"
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(filter_columns)}{max(filter_last_row, 1)}"
        self.sheet.row_dimensions[1].height = HEADER_HEIGHT
        for column, width in self.widths.items():
            self.sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)


def _width(value: CellValue) -> int:
    """Characters a value takes in a cell; a wide (CJK) character counts two."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len("2026-11-30 08:45")
    if isinstance(value, date):
        return len("2026-11-30")
    if isinstance(value, float):
        return len(f"{value:.1f}")
    text = str(value)
    longest = max(text.split("\n"), key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


# --- the summary -------------------------------------------------------------------------


def _hours(span: timedelta | None) -> Formatted | None:
    return None if span is None else Formatted(round(span.total_seconds() / 3600, 1), HOURS_FORMAT)


def _yuan(amount: int | None) -> Formatted | None:
    return None if amount is None else Formatted(amount, YUAN_FORMAT)


def _count_cells(counts: Counts) -> list[CellValue | Formatted]:
    share = Formatted(counts.fixed_in_window / counts.fixed, SHARE_FORMAT) if counts.fixed else None
    return [
        counts.posted, counts.confirmed, counts.deemed, counts.disputed, counts.upheld, counts.overruled, counts.open,
        counts.mistaken, counts.fixed, counts.fixed_in_window, share, _hours(counts.answer_median), _hours(counts.fix_median),
        counts.escalations,
    ]


def _write_summary(out: _Writer, figures: MonthFigures, items: Sequence[MonthItem], *, catalog: Catalog, masked: bool) -> None:
    out.header([catalog.t(key) for key in OWNER_COLUMNS])
    for owner in figures.owners:
        trend = owner.trend
        change = None if trend.percent is None else Formatted(trend.percent / 100, CHANGE_FORMAT)
        out.line([owner.owner, catalog.t("workbook.all_branches"), *_count_cells(owner.counts), _yuan(owner.penalty),
                  trend.previous, trend.arrow, change], bold=True)
        for branch in owner.branches:
            penalty = None if figures.per_item is None else branch.counts.mistaken * figures.per_item
            out.line([owner.owner, branch.branch, *_count_cells(branch.counts), _yuan(penalty)])
    last_filtered = out.row
    out.line([catalog.t("workbook.total"), None, *_count_cells(figures.totals), _yuan(figures.logistics_penalty)], bold=True)

    out.skip()
    out.title(catalog.t("workbook.agents_title"))
    out.header([catalog.t(key) for key in AGENT_COLUMNS])
    for agent in figures.agents:
        out.line([agent.agent, agent.posted, agent.disputed, agent.upheld, _yuan(agent.penalty), agent.voided])
    agents = figures.agents
    out.line([catalog.t("workbook.total"), sum(a.posted for a in agents), sum(a.disputed for a in agents),
              sum(a.upheld for a in agents), _yuan(figures.cs_penalty), sum(a.voided for a in agents)], bold=True)

    out.skip()
    out.title(catalog.t("workbook.corrections_title"))
    out.header([catalog.t(key) for key in CORRECTION_COLUMNS])
    customers = {(i.order_no, i.rejected_on): i.customer for i in items}
    for correction in figures.corrections:
        note = correction.note
        if masked:
            note = mask_note(note, correction.customer or customers.get((correction.order_no, correction.rejected_on), ""))
        out.line([correction.order_no, correction.rejected_on, correction.agent, correction.owner, correction.at,
                  correction.actor, note])
    if not figures.corrections:
        out.line([catalog.t("workbook.no_corrections")])

    out.skip()
    out.title(catalog.t("workbook.totals_title"))
    unset = catalog.t("workbook.per_item_unset")
    out.line([catalog.t("workbook.month"), str(figures.month)])
    out.line([catalog.t("workbook.as_of"), figures.as_of])
    out.line([catalog.t("workbook.per_item"), unset if figures.per_item is None else _yuan(figures.per_item)])
    out.line([catalog.t("workbook.logistics_penalty"), unset if figures.logistics_penalty is None else _yuan(figures.logistics_penalty)])
    out.line([catalog.t("workbook.cs_penalty"), _yuan(figures.cs_penalty)])
    out.finish(filter_columns=len(OWNER_COLUMNS), filter_last_row=last_filtered)


# --- the items ----------------------------------------------------------------------------


def _label(catalog: Catalog, key: str | None, value: str) -> str:
    """The catalog's word for a stored value; the value itself when there is none."""
    return catalog.t(key) if key and catalog.has(key) else value


def _write_items(out: _Writer, items: Sequence[MonthItem], *, catalog: Catalog, masked: bool) -> None:
    out.header([catalog.t(key) for key in ITEM_COLUMNS])
    for item in items:
        customer = mask_customer(item.customer) if masked else item.customer
        callback_note = mask_note(item.note, item.customer) if masked else item.note
        facts = [
            item.order_no, item.rejected_on, item.digest_day, item.branch,
            _label(catalog, f"digest.category_{item.category}", item.category), item.owner, item.callback_agent,
            customer, callback_note,
        ]
        if not item.history:
            out.line(facts)
        for row in item.history:
            out.line([
                *facts, row.at, row.actor, _label(catalog, ROLE_KEYS.get(row.role), row.role),
                _label(catalog, f"surface.{row.surface}", row.surface), _label(catalog, ACTION_KEYS.get(row.action), row.action),
                _label(catalog, f"status.{row.from_status}", row.from_status) if row.from_status else None,
                _label(catalog, f"status.{row.to_status}", row.to_status) if row.to_status else None,
                (mask_note(row.note, item.customer) if masked else row.note) or None,
            ])
    out.finish(filter_columns=len(ITEM_COLUMNS), filter_last_row=out.row)
