"""The callback export: from the file's bytes to records and row problems.

Pure: no database, no Slack, no clock. The format is docs/import-format.md (the *Import
format*): one header row (title rows above it are skipped), columns matched by
their Chinese or English name in any order, one record per row. Good rows
become ``Record``s; a bad row becomes one ``RowProblem`` per reason and is
left out; a row repeating an earlier (order number, rejection date) of the
same file is listed in ``duplicates`` and left out. Text is NFKC-normalised
(full-width characters become half-width) and trimmed.

Errors: ``ExportError`` (the whole file is unusable; ``key`` names its message
in the ``import`` catalog).
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import chain, islice
from operator import itemgetter
from pathlib import PurePath
from typing import Any

# The widths of item.order_no, .branch and .callback_agent: longer values are row problems.
MAX_LENGTHS = {"order_no": 64, "branch": 128, "callback_agent": 64}
HEADER_SEARCH_ROWS = 20

CATEGORIES = {"大件": "large", "large": "large", "小件": "small", "small": "small"}
SCENARIOS = {
    "客户已收货": "received",
    "received": "received",
    "客户要求改期": "reschedule",
    "reschedule": "reschedule",
}

# field -> (Chinese header, English header); the first four are required.
COLUMNS: dict[str, tuple[str, str]] = {
    "order_no": ("订单号", "order_no"),
    "rejected_on": ("拒收日期", "rejected_on"),
    "branch": ("分公司", "branch"),
    "category": ("配送类型", "category"),
    "scenario": ("场景", "scenario"),
    "customer": ("客户", "customer"),
    "callback_agent": ("回访人", "callback_agent"),
    "callback_at": ("回访时间", "callback_at"),
    "note": ("回访记录", "note"),
}
REQUIRED = ("order_no", "rejected_on", "branch", "category")
_HEADER_NAMES = {name.lower(): key for key, names in COLUMNS.items() for name in names}

EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 0, with Excel's 1900 leap-year bug folded in
# Serials taken for dates: 1970-01-01 to 2100-12-31. Outside that, a number in
# a date column is more likely a stray year or count than a date.
EXCEL_SERIALS = (25_569, 73_415)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S")
_DATETIME_FORMATS = tuple(d + t for t in _TIME_FORMATS for d in _DATE_FORMATS)


@dataclass(frozen=True, slots=True)
class Record:
    row: int  # as a spreadsheet shows it: 1-based, title rows and header counted
    order_no: str
    rejected_on: date
    branch: str
    category: str  # "large" or "small"
    scenario: str | None  # "received", "reschedule", or None when empty
    customer: str  # "name phone" as written
    callback_agent: str
    callback_at: datetime | None  # naive local wall time as written (aware only if the file gave an offset)
    note: str

    @property
    def key(self) -> tuple[str, date]:
        return self.order_no, self.rejected_on


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    key: str  # catalog key, e.g. "import.bad_date"
    params: dict[str, Any]  # str.format parameters of that message


@dataclass
class ParsedExport:
    header_row: int
    records: list[Record] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (row, row it repeats)

    @property
    def rejected_rows(self) -> int:
        return len({problem.row for problem in self.problems})

    @property
    def total_rows(self) -> int:
        """Non-blank data rows: good, bad and repeated."""
        return len(self.records) + len(self.duplicates) + self.rejected_rows


class ExportError(Exception):
    """The whole file is unusable; ``key`` and ``params`` give the message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        return f"{self.key} {self.params}" if self.params else self.key


# --- values ------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """NFKC (full-width to half-width) and trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def normalise_name(text: str) -> str:
    """As ``normalise_text``, with inner runs of whitespace collapsed to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def normalise_order_no(text: str) -> str:
    """NFKC, every whitespace character removed, upper case."""
    if text.isascii() and text.isalnum():
        return text.upper()  # the usual case, quickly
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def parse_category(text: object) -> str | None:
    """``"large"``/``"small"`` for 大件/large or 小件/small (any case), else None."""
    return CATEGORIES.get(normalise_text(_cell_text(text)).lower())


def parse_scenario(text: object) -> str | None:
    """``"received"``/``"reschedule"`` for 客户已收货/received or 客户要求改期/reschedule,
    else None (empty or unknown)."""
    return SCENARIOS.get(normalise_text(_cell_text(text)).lower())


def parse_datetime(value: object) -> datetime | None:
    """A callback time: a datetime cell, an Excel serial, or text such as
    ``2026-11-27 14:33``, ``2026/11/27 14:33:05`` or ``2026年11月27日 14:33``
    (a bare date means midnight). None when it is none of these."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_excel_serial(value)
    if not isinstance(value, str):
        return None
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        serial = float(text)
    except ValueError:
        return None
    return _from_excel_serial(serial)


def parse_date(value: object) -> date | None:
    """A rejection date in any form ``parse_datetime`` reads; a time part is dropped."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    moment = parse_datetime(value)
    return None if moment is None else moment.date()


def _from_excel_serial(serial: float) -> datetime | None:
    first, last = EXCEL_SERIALS
    if not first <= serial < last + 1:
        return None
    return EXCEL_EPOCH + timedelta(seconds=round(serial * 86_400))


def _cell_text(value: object) -> str:
    """A cell as text: numbers without a spurious ``.0``, empty for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return str(value)


class _Memo(dict[Any, Any]):
    """``fn`` with a cache for one file (exports repeat dates, branches and
    names); look up with ``memo[value]``."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, value: Any) -> Any:
        result = self[value] = self.fn(value)
        return result


# --- reading the file --------------------------------------------------------


def _read_rows(data: bytes, filename: str) -> Iterator[Sequence[object]]:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ExportError("import.unsupported_type", filename=filename)
    if not data.strip():
        raise ExportError("import.empty")
    return _csv_rows(data) if suffix == ".csv" else _xlsx_rows(data)


def _csv_rows(data: bytes) -> Iterator[Sequence[object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ExportError("import.undecodable") from None
    if "\x00" in text:
        raise ExportError("import.undecodable")  # most likely UTF-16, which no export should be
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from reader
    except csv.Error as exc:
        raise ExportError("import.bad_csv", row=reader.line_num, detail=str(exc)) from exc


def _xlsx_rows(data: bytes) -> Iterator[Sequence[object]]:
    from openpyxl import load_workbook  # slow to import; only XLSX files need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise ExportError("import.unreadable_xlsx", detail=str(exc)) from exc
    try:
        if not workbook.worksheets:
            raise ExportError("import.empty")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # exporters often write a wrong size, which would cut rows off
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _find_header(rows: Iterable[Sequence[object]]) -> tuple[int, dict[str, int]]:
    """The header row's number and its field -> column index map."""
    best: dict[str, int] = {}
    seen_any = False
    for number, row in enumerate(rows, start=1):
        seen_any = seen_any or any(_cell_text(c).strip() for c in row)
        columns: dict[str, int] = {}
        repeated: list[str] = []
        for index, cell in enumerate(row):
            key = _HEADER_NAMES.get(normalise_text(_cell_text(cell)).lower())
            if key is not None:
                if key in columns:
                    repeated.append(key)
                columns.setdefault(key, index)
        if all(key in columns for key in REQUIRED):
            if repeated:
                raise ExportError("import.duplicate_column", column=_column_label(repeated[0]), row=number)
            return number, columns
        if len(columns) > len(best):
            best = columns
    if not seen_any:
        raise ExportError("import.empty")
    missing = [key for key in REQUIRED if key not in best]
    raise ExportError(
        "import.missing_columns",
        columns=", ".join(_column_label(key) for key in missing),
        rows=HEADER_SEARCH_ROWS,
    )


def _column_label(key: str) -> str:
    chinese, english = COLUMNS[key]
    return f"{chinese}/{english}"


# --- the parser --------------------------------------------------------------


def parse_export(data: bytes, *, filename: str) -> ParsedExport:
    """Parse a callback export (``.csv`` or ``.xlsx``, told apart by ``filename``)."""
    rows = _read_rows(data, filename)
    head = list(islice(rows, HEADER_SEARCH_ROWS))
    header_row, columns = _find_header(head)
    labels = {key: normalise_text(_cell_text(head[header_row - 1][i])) for key, i in columns.items()}
    cells = _cell_getter([columns.get(key) for key in COLUMNS])

    names = _Memo(lambda value: normalise_name(_cell_text(value)))
    categories = _Memo(parse_category)
    dates = _Memo(parse_date)
    scenarios = _Memo(_given(parse_scenario))  # -> (given, value)
    moments = _Memo(_given(parse_datetime))

    parsed = ParsedExport(header_row=header_row)
    first_row_of: dict[tuple[str, date], int] = {}
    for number, row in enumerate(chain(head[header_row:], rows), start=header_row + 1):
        (order_raw, date_raw, branch_raw, category_raw, scenario_raw,
         customer_raw, agent_raw, at_raw, note_raw) = cells(row)

        order_no = normalise_order_no(_cell_text(order_raw))
        rejected_on = dates[date_raw]
        branch = names[branch_raw]
        agent = names[agent_raw]
        category = categories[category_raw]
        scenario_given, scenario = scenarios[scenario_raw]
        time_given, callback_at = moments[at_raw]

        if (
            not order_no
            or len(order_no) > MAX_LENGTHS["order_no"]
            or len(branch) > MAX_LENGTHS["branch"]
            or len(agent) > MAX_LENGTHS["callback_agent"]
            or rejected_on is None
            or not branch
            or category is None
            or (scenario is None and scenario_given)
            or (callback_at is None and time_given)
        ):
            if not all(map(_is_blank, row)):
                problems = _row_problems(labels, order_no, date_raw, branch, category_raw, scenario_raw, agent, at_raw)
                parsed.problems.extend(RowProblem(number, key, params) for key, params in problems)
            continue

        first = first_row_of.setdefault((order_no, rejected_on), number)
        if first != number:
            parsed.duplicates.append((number, first))
            continue
        parsed.records.append(
            Record(
                row=number,
                order_no=order_no,
                rejected_on=rejected_on,
                branch=branch,
                category=category,
                scenario=scenario,
                customer=normalise_name(_cell_text(customer_raw)),
                callback_agent=agent,
                callback_at=callback_at,
                note=_cell_text(note_raw).strip(),  # free text: Chinese punctuation kept
            )
        )
    return parsed


def _cell_getter(indices: list[int | None]) -> Callable[[Sequence[object]], tuple[object, ...]]:
    """A function picking the cells at ``indices`` from a row: None where the
    file lacks the column (None in ``indices``) or the row is short."""
    width = max(i for i in indices if i is not None) + 1
    pick = itemgetter(*(width if i is None else i for i in indices))  # cell ``width`` is padding
    pad = (None,) * (width + 1)
    return lambda row: pick((*row[:width], *pad))


def _is_blank(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, str) and value.isspace())


def _given(parse: Callable[[object], Any]) -> Callable[[object], tuple[bool, Any]]:
    """``parse`` for an optional cell: (whether it has a value, the parsed value or None)."""
    return lambda value: (False, None) if _is_blank(value) else (True, parse(value))


def _row_problems(
    labels: dict[str, str],
    order_no: str,
    date_raw: object,
    branch: str,
    category_raw: object,
    scenario_raw: object,
    agent: str,
    at_raw: object,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every reason a row is bad, as (catalog key, parameters). Slow; only for bad rows."""
    date_text = normalise_text(_cell_text(date_raw))
    category_text = normalise_text(_cell_text(category_raw))
    scenario_text = normalise_text(_cell_text(scenario_raw))
    required = {"order_no": order_no, "rejected_on": date_text, "branch": branch, "category": category_text}
    for key, value in required.items():
        if not value:
            yield "import.missing_value", {"column": labels[key]}
    for key, value in (("order_no", order_no), ("branch", branch), ("callback_agent", agent)):
        if len(value) > MAX_LENGTHS[key]:
            yield "import.too_long", {"column": labels[key], "length": len(value), "limit": MAX_LENGTHS[key]}
    if date_text and parse_date(date_raw) is None:
        yield "import.bad_date", {"column": labels["rejected_on"], "value": date_text}
    if category_text and parse_category(category_text) is None:
        yield "import.unknown_category", {"column": labels["category"], "value": category_text}
    if scenario_text and parse_scenario(scenario_text) is None:
        yield "import.unknown_scenario", {"column": labels["scenario"], "value": scenario_text}
    if not _is_blank(at_raw) and parse_datetime(at_raw) is None:
        at_text = normalise_text(_cell_text(at_raw))
        yield "import.bad_callback_at", {"column": labels["callback_at"], "value": at_text}
