"""The callback export: from the file's bytes to records and row problems.

Pure: no database, no Slack, no clock. The format is docs/import-format.md (the *Import
format*): one header row (title rows above it are skipped), columns matched by
their Chinese or English name in any order, one record per row. Good rows
become ``Record``s; a bad row becomes one ``RowProblem`` per reason and is
left out; a row repeating an earlier (order number, rejection date) of the
same file is listed in ``duplicates`` and left out. Text is NFKC-normalised
(full-width characters become half-width) and trimmed.

Hostile and broken files (docs/import-format.md, *Limits and hostile files*):
the file's size, an XLSX's unpacked size, and the rows are checked against
``ImportLimits`` while the file is read, before anything is kept; a broken zip,
truncated or malformed XML and XML entities (read through defusedxml, which
openpyxl uses when it is installed) refuse the file with one message; a cell
holding a formula is read as the formula's text and never evaluated; control
characters and dates outside ``DATE_RANGE`` make a bad row.

Errors: ``ExportError`` (the whole file is unusable; ``key`` names its message
in the ``import`` or ``files`` catalog).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import chain, islice
from operator import itemgetter
from pathlib import PurePath
from typing import Any
from xml.etree.ElementTree import ParseError

from bot.core.routing import ImportLimits

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
# Rejection dates and callback times outside these days are bad rows: a typo
# (2062), an empty date some system writes (0001-01-01, 1900-01-01), or one
# that would overflow when converted to another timezone.
DATE_RANGE = (date(2000, 1, 1), date(2099, 12, 31))
# Rows a file may have in all, blank rows included: Excel's last row. Data rows
# are limited by ``ImportLimits.max_rows``; this bounds blank rows and gaps.
MAX_SHEET_ROWS = 1_048_576
# An XLSX (a zip) may unpack to at most this many times ``max_bytes``; a real
# export unpacks to 4-8 times its size, a zip bomb to thousands.
UNPACK_FACTOR = 10
# An XLSX's table of shared strings (the distinct texts of its cells) may hold
# at most this many per allowed row: a real export has a few distinct texts a
# row (order number, customer, note, time).
STRINGS_PER_ROW = 5
# Control characters other than tab and line breaks, C1 controls and DEL: never
# in a name or a note someone typed (and PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
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
    field: str | None = None  # the column it is about (a ``COLUMNS`` key), e.g. "rejected_on"


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
    formula = getattr(value, "text", None)  # openpyxl's ArrayFormula: its text, "=…"
    if isinstance(formula, str):
        return formula
    if getattr(value, "t", None) == "dataTable":  # openpyxl's DataTableFormula, as Excel shows it
        return f"=TABLE({getattr(value, 'r1', None) or ''},{getattr(value, 'r2', None) or ''})"
    return str(value)


def in_range(day: date | datetime) -> bool:
    """Whether a rejection date or callback time lies within ``DATE_RANGE``."""
    first, last = DATE_RANGE
    return first <= (day.date() if isinstance(day, datetime) else day) <= last


def unprintable(text: str) -> str | None:
    """The first character of ``text`` that is not printable (a control or an
    invisible format character, such as NUL, a tab or U+200B), as ``U+200B``; None if there is none."""
    if text.isprintable():
        return None
    return next(f"U+{ord(c):04X}" for c in text if not c.isprintable())


def control_character(text: str) -> str | None:
    """The first control character of ``text`` other than a tab or a line break, as ``U+0000``; None if none."""
    if text.isprintable():
        return None
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


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


def check_size(size: int, limits: ImportLimits) -> None:
    """Refuse a file of ``size`` bytes over ``limits.max_bytes`` (before reading it, where the caller can)."""
    if size > limits.max_bytes:
        raise ExportError("files.too_big", **_sizes(size=size, limit=limits.max_bytes))


def _sizes(**sizes: int) -> dict[str, str]:
    """Message parameters for byte counts: ``name`` as ``12,345,678`` and ``name_mb`` as ``11.8``."""
    params = {}
    for name, size in sizes.items():
        params[name] = f"{size:,}"
        params[f"{name}_mb"] = f"{size / 1_048_576:,.1f}"
    return params


def _read_rows(data: bytes, filename: str, limits: ImportLimits) -> Iterator[Sequence[object]]:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ExportError("import.unsupported_type", filename=filename)
    check_size(len(data), limits)
    if not data.strip():
        raise ExportError("import.empty")
    return _csv_rows(data) if suffix == ".csv" else _xlsx_rows(data, limits)


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


# What openpyxl raises, or lets through, on a damaged or hostile file. Its
# reader is a parser of untrusted input: any of these means the file, not the
# bot, is broken.
_XLSX_FAILURES = (
    ParseError, zipfile.BadZipFile, zlib.error, EOFError, OSError,
    ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError,
)


def _xlsx_rows(data: bytes, limits: ImportLimits) -> Iterator[Sequence[object]]:
    """The first worksheet's rows, read one by one.

    openpyxl's own reading parts are used (its reader of the package, its
    parser of the sheet XML, both through defusedxml), but not
    ``load_workbook``: in read-only mode that parses every sheet whole at
    opening when the sheet does not state its size, which is what kept a
    4-million-row file running for minutes.
    """
    _check_archive(data, limits)
    # Slow to import; only XLSX files need them.
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._reader import WorkSheetParser

    # openpyxl warns (on stderr) about files it repairs: no default style, a
    # date cell out of range; the row reports say what matters.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # keep_links=False: external links hold cached copies of other
            # workbooks, read whole; an export has none to keep.
            reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
        except Exception as exc:  # _XLSX_FAILURES, and openpyxl's own InvalidFileException
            raise _xlsx_error(exc, default="import.unreadable_xlsx") from exc
        try:
            try:
                _check_parts_read_whole(reader, limits)
                reader.read_manifest()
                _check_parts_read_whole(reader, limits)
                reader.shared_strings = _shared_strings(reader, limits)
                reader.read_workbook()
                apply_stylesheet(reader.archive, reader.wb)  # which number formats are dates
                path = next(
                    (rel.target for _, rel in reader.parser.find_sheets()
                     if rel.target in reader.valid_files and "chartsheet" not in rel.Type),
                    None,
                )
            except ExportError:  # a limit
                raise
            except Exception as exc:  # as above
                raise _xlsx_error(exc, default="import.unreadable_xlsx") from exc
            if path is None:
                raise ExportError("import.empty")
            workbook = reader.wb
            try:
                with reader.archive.open(path) as source:
                    # data_only=False: a formula cell reads as its text
                    # ("=A1+1"), not the value some program cached for it;
                    # nothing is ever evaluated.
                    parser = WorkSheetParser(
                        source, reader.shared_strings, data_only=False, epoch=workbook.epoch,
                        date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats,
                    )
                    yield from _sheet_rows(_parsed_rows(parser, source))
            except _XLSX_FAILURES as exc:
                raise _xlsx_error(exc, default="files.broken_xml") from exc
        finally:
            reader.archive.close()


def _check_parts_read_whole(reader: Any, limits: ImportLimits) -> None:
    """Refuse an XLSX whose parts that openpyxl reads whole (the manifest,
    the shared strings, the workbook, its relations, the styles) would unpack
    to more than ``max_bytes`` together: the sheet is read row by row, these
    are not. Called before the manifest is read (it alone is known then) and
    again after (it names the others)."""
    from openpyxl.packaging.relationship import get_rels_path
    from openpyxl.reader.excel import _find_workbook_part
    from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_STYLE, SHARED_STRINGS

    parts = {ARC_CONTENT_TYPES, ARC_STYLE}
    package = getattr(reader, "package", None)
    if package is not None:
        strings = package.find(SHARED_STRINGS)
        if strings is not None:
            parts.add(strings.PartName[1:])
        workbook = _find_workbook_part(package).PartName[1:]
        parts.update((workbook, get_rels_path(workbook)))
    known = reader.archive.NameToInfo
    size = sum(known[name].file_size for name in parts if name in known)
    if size > limits.max_bytes:
        raise ExportError("files.parts_too_big", **_sizes(size=size, limit=limits.max_bytes))


def _shared_strings(reader: Any, limits: ImportLimits) -> list[str]:
    """The workbook's shared strings, as openpyxl's ``read_string_table``
    reads them (through defusedxml), but refused past
    ``STRINGS_PER_ROW * max_rows`` strings: each costs time and memory
    before the first row is read, and a table of tiny strings packs millions
    into a few megabytes."""
    from openpyxl.cell.text import Text
    from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    part = reader.package.find(SHARED_STRINGS)
    if part is None:
        return []
    limit = STRINGS_PER_ROW * (limits.max_rows + HEADER_SEARCH_ROWS)
    tag = f"{{{SHEET_MAIN_NS}}}si"
    strings: list[str] = []
    with reader.archive.open(part.PartName[1:]) as source:
        for _, node in iterparse(source):
            if node.tag == tag:
                if len(strings) == limit:
                    raise ExportError("files.too_many_strings", limit=f"{limit:,}", per_row=str(STRINGS_PER_ROW))
                strings.append(Text.from_tree(node).content.replace("x005F_", ""))
                node.clear()
    return strings


def _parsed_rows(parser: Any, source: Any) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """openpyxl's ``WorkSheetParser.parse``, rows only: (row number, cells)
    for each row, up to the end of the sheet's data. What follows it (merged
    cells, links, formatting) is not read, and nothing is kept of a row once
    it is passed on (openpyxl keeps each formatted row's height and style)."""
    from openpyxl.worksheet._reader import DATA_TAG, ROW_TAG
    from openpyxl.xml.functions import iterparse  # defusedxml's, when installed

    for _, element in iterparse(source):
        if element.tag == ROW_TAG:
            yield parser.parse_row(element)
            element.clear()
            if parser.row_dimensions:
                parser.row_dimensions.clear()
        elif element.tag == DATA_TAG:
            return


def _sheet_rows(parsed: Iterable[tuple[int, list[dict[str, Any]]]]) -> Iterator[Sequence[object]]:
    """Rows as a spreadsheet shows them, from openpyxl's parsed rows (row
    number, cells): each row's values by column, and an empty row for each
    row number the sheet skips (a sheet lists only rows that hold something)."""
    next_row = 1
    for number, cells in parsed:
        if number > MAX_SHEET_ROWS:
            raise ExportError("files.past_last_row", last=f"{MAX_SHEET_ROWS:,}")
        if number < next_row:
            raise ExportError("files.broken_xml", detail=f"row {number} after row {next_row - 1}")
        for _ in range(next_row, number):
            yield ()
        values: list[object] = [None] * max((cell["column"] for cell in cells), default=0)
        for cell in cells:
            values[cell["column"] - 1] = cell["value"]
        yield values
        next_row = number + 1


def _check_archive(data: bytes, limits: ImportLimits) -> None:
    """Refuse an XLSX that is no zip, or whose members would unpack to more
    than ``UNPACK_FACTOR`` times ``max_bytes`` (a zip bomb), before openpyxl
    opens it. The sizes are the ones the zip declares; Python's zipfile never
    unpacks a member past its declared size."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise ExportError("files.broken_zip", detail=str(exc) or type(exc).__name__) from exc
    limit = UNPACK_FACTOR * limits.max_bytes
    if unpacked > limit:
        raise ExportError("files.unpacks_too_big", factor=str(UNPACK_FACTOR), **_sizes(size=unpacked, limit=limit))
    _refuse_doctypes(data)


_DOCTYPE_MARKS = tuple(mark.encode(encoding) for mark in ("<!DOCTYPE", "<!ENTITY") for encoding in ("utf-8", "utf-16-le", "utf-16-be"))
PROLOG_BYTES = 4096  # a DOCTYPE comes before the root element: within the first bytes of a part


def _refuse_doctypes(data: bytes) -> None:
    """Refuse a package with a DOCTYPE or an entity declaration in any of
    its parts: spreadsheet programs never write one. Checked here, whatever
    XML parser openpyxl uses: with lxml installed (python-docx brings it)
    openpyxl parses the workbook with lxml, which leaves entities
    unexpanded instead of refusing them through defusedxml."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    prolog = member.read(PROLOG_BYTES)
                if any(mark in prolog for mark in _DOCTYPE_MARKS):
                    raise ExportError("files.xml_entities")
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError) as exc:
        raise ExportError("files.broken_zip", detail=str(exc) or type(exc).__name__) from exc


def _xlsx_error(exc: BaseException, *, default: str) -> ExportError:
    """The message for what openpyxl raised: XML entities, a damaged zip,
    broken XML, or ``default``. openpyxl wraps some errors, so the chain is read."""
    from defusedxml import DefusedXmlException

    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    detail = str(exc) or type(exc).__name__
    for link in chain:
        if isinstance(link, DefusedXmlException):
            return ExportError("files.xml_entities")
    for link in chain:
        if isinstance(link, zipfile.BadZipFile | zlib.error | EOFError):
            return ExportError("files.broken_zip", detail=str(link) or type(link).__name__)
    for link in chain:
        if isinstance(link, ParseError):
            return ExportError("files.broken_xml", detail=str(link))
    return ExportError(default, detail=" ".join(detail.split()))


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


PROGRESS_EVERY = 10_000  # rows between two calls of ``parse_export``'s ``progress``


def parse_export(
    data: bytes, *, filename: str, limits: ImportLimits | None = None, progress: Callable[[int], None] | None = None
) -> ParsedExport:
    """Parse a callback export (``.csv`` or ``.xlsx``, told apart by ``filename``),
    within ``limits`` (the defaults when None): the rows are read one by one, and
    the file is refused as soon as it goes past a limit. ``progress`` is called
    with the number of rows read below the header every ``PROGRESS_EVERY`` rows."""
    limits = limits or ImportLimits()
    rows = _read_rows(data, filename, limits)
    try:
        return _parse_rows(rows, limits, progress)
    finally:
        rows.close()  # type: ignore[attr-defined]  # a generator: stop reading the file now


def read_rows(data: bytes, *, filename: str, wanted: Iterable[int], limits: ImportLimits | None = None) -> dict[int, list[str]]:
    """The cells (as text) of the rows numbered ``wanted`` (as a spreadsheet
    shows them), and of the header row under key 0: for a file of rejected rows.
    Only for a file ``parse_export`` read without refusing it."""
    limits = limits or ImportLimits()
    want = set(wanted)
    last = max(want, default=0)
    rows = _read_rows(data, filename, limits)
    found: dict[int, list[str]] = {}
    try:
        head = list(islice(rows, HEADER_SEARCH_ROWS))
        header_row, _ = _find_header(head)
        found[0] = [_cell_text(cell) for cell in head[header_row - 1]]
        for number, row in enumerate(chain(head, rows), start=1):
            if number in want:
                found[number] = [_cell_text(cell) for cell in row]
            if number >= last:
                break
    finally:
        rows.close()  # type: ignore[attr-defined]
    return found


def _parse_rows(rows: Iterator[Sequence[object]], limits: ImportLimits, progress: Callable[[int], None] | None = None) -> ParsedExport:
    head = list(islice(rows, HEADER_SEARCH_ROWS))
    header_row, columns = _find_header(head)
    labels = {key: normalise_text(_cell_text(head[header_row - 1][i])) for key, i in columns.items()}
    cells = _cell_getter([columns.get(key) for key in COLUMNS])
    checker = RowChecker(labels)
    record_of, problems_of = checker.record, checker.problems

    parsed = ParsedExport(header_row=header_row)
    first_row_of: dict[tuple[str, date], int] = {}
    data_rows = 0  # non-blank rows below the header, counted against limits.max_rows
    for number, row in enumerate(chain(head[header_row:], rows), start=header_row + 1):
        if number > MAX_SHEET_ROWS:
            raise ExportError("files.past_last_row", last=f"{MAX_SHEET_ROWS:,}")
        if progress is not None and not (number - header_row) % PROGRESS_EVERY:
            progress(number - header_row)
        picked = cells(row)
        record = record_of(picked, number)
        if record is None:
            if all(map(_is_blank, row)):
                continue
            data_rows += 1
            if data_rows > limits.max_rows:
                raise ExportError("files.too_many_rows", limit=f"{limits.max_rows:,}", header_row=header_row)
            parsed.problems.extend(problems_of(picked, number))
            continue

        data_rows += 1
        if data_rows > limits.max_rows:
            raise ExportError("files.too_many_rows", limit=f"{limits.max_rows:,}", header_row=header_row)
        first = first_row_of.setdefault(record.key, number)
        if first != number:
            parsed.duplicates.append((number, first))
            continue
        parsed.records.append(record)
    return parsed


# --- one row: the rules every way in uses (a file's rows, the /reject log modal) ---


class RowChecker:
    """The importer's rules for one row, with caches for one file (exports
    repeat dates, branches and names). ``cells`` are a row's raw values in
    ``COLUMNS`` order (None where absent); ``labels`` name the columns in
    messages (the file's own header texts; ``"订单号/order_no"`` by default).

    ``record`` is the fast check (a ``Record``, or None for a bad row);
    ``problems`` every reason a bad row is bad (slow: only for bad rows).
    ``check_row`` is both in one call."""

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.labels = {key: _column_label(key) for key in COLUMNS} | (labels or {})
        self._names = _Memo(lambda value: normalise_name(_cell_text(value)))
        self._name_flaws = _Memo(unprintable)
        self._categories = _Memo(parse_category)
        self._dates = _Memo(parse_date)
        self._scenarios = _Memo(_given(parse_scenario))  # -> (given, value)
        self._moments = _Memo(_given(_parse_callback_at))  # -> (given, value); value False when out of DATE_RANGE

    def record(self, cells: Sequence[object], row: int) -> Record | None:
        """The row as a ``Record``, or None when it breaks a rule."""
        (order_raw, date_raw, branch_raw, category_raw, scenario_raw,
         customer_raw, agent_raw, at_raw, note_raw) = cells
        first_day, last_day = DATE_RANGE
        order_text = _cell_text(order_raw)
        order_no = normalise_order_no(order_text)
        rejected_on = self._dates[date_raw]
        branch = self._names[branch_raw]
        agent = self._names[agent_raw]
        category = self._categories[category_raw]
        scenario_given, scenario = self._scenarios[scenario_raw]
        time_given, callback_at = self._moments[at_raw]
        customer = normalise_name(_cell_text(customer_raw))
        note = _cell_text(note_raw).strip()  # free text: Chinese punctuation kept
        flawed = (
            not order_text.isprintable()  # checked closely in problems()
            or self._name_flaws[branch] is not None
            or self._name_flaws[agent] is not None
            or not customer.isprintable()
            or not note.isprintable()
        ) and any(_flaws(order_text, branch, agent, customer, note))
        if (
            flawed
            or not order_no
            or len(order_no) > MAX_LENGTHS["order_no"]
            or len(branch) > MAX_LENGTHS["branch"]
            or len(agent) > MAX_LENGTHS["callback_agent"]
            or rejected_on is None
            or not first_day <= rejected_on <= last_day
            or not branch
            or category is None
            or (scenario is None and scenario_given)
            or (not callback_at and time_given)
        ):
            return None
        return Record(
            row=row, order_no=order_no, rejected_on=rejected_on, branch=branch, category=category,
            scenario=scenario, customer=customer, callback_agent=agent, callback_at=callback_at or None, note=note,
        )

    def problems(self, cells: Sequence[object], row: int) -> list[RowProblem]:
        """Every reason the row is bad, one ``RowProblem`` each (with its field)."""
        (order_raw, date_raw, branch_raw, category_raw, scenario_raw,
         customer_raw, agent_raw, at_raw, note_raw) = cells
        order_text = _cell_text(order_raw)
        branch, agent = self._names[branch_raw], self._names[agent_raw]
        customer = normalise_name(_cell_text(customer_raw))
        note = _cell_text(note_raw).strip()
        found = _row_problems(
            self.labels, normalise_order_no(order_text), date_raw, branch, category_raw, scenario_raw, agent, at_raw,
            flaws=_flaws(order_text, branch, agent, customer, note),
        )
        return [RowProblem(row, key, params, field) for field, key, params in found]


def check_row(cells: Sequence[object], *, row: int = 1, checker: RowChecker | None = None) -> Record | list[RowProblem]:
    """One row through the importer's rules: its ``Record``, or every problem."""
    checker = checker or RowChecker()
    record = checker.record(cells, row)
    return record if record is not None else checker.problems(cells, row)


def _parse_callback_at(value: object) -> datetime | None | bool:
    """``parse_datetime``, or False for a time outside ``DATE_RANGE``."""
    moment = parse_datetime(value)
    return False if moment is not None and not in_range(moment) else moment


def _flaws(order_text: str, branch: str, agent: str, customer: str, note: str) -> Iterator[tuple[str, str]]:
    """(field, character as ``U+0000``) for each field holding a character it
    may not: order numbers, branches and agents no control or invisible
    character (a tab or line break included); customers and notes no control
    character other than tabs and line breaks."""
    order_flaw = None if order_text.isprintable() else unprintable(unicodedata.normalize("NFKC", order_text))
    for key, flaw in (
        ("order_no", order_flaw),
        ("branch", unprintable(branch)),
        ("callback_agent", unprintable(agent)),
        ("customer", control_character(customer)),
        ("note", control_character(note)),
    ):
        if flaw is not None:
            yield key, flaw


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
    *,
    flaws: Iterable[tuple[str, str]],
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every reason a row is bad, as (field, catalog key, parameters). Slow; only for bad rows."""
    for key, character in flaws:
        yield key, "files.control_character", {"column": labels.get(key, _column_label(key)), "character": character}
    date_text = normalise_text(_cell_text(date_raw))
    category_text = normalise_text(_cell_text(category_raw))
    scenario_text = normalise_text(_cell_text(scenario_raw))
    required = {"order_no": order_no, "rejected_on": date_text, "branch": branch, "category": category_text}
    for key, value in required.items():
        if not value:
            yield key, "import.missing_value", {"column": labels[key]}
    for key, value in (("order_no", order_no), ("branch", branch), ("callback_agent", agent)):
        if len(value) > MAX_LENGTHS[key]:
            yield key, "import.too_long", {"column": labels[key], "length": len(value), "limit": MAX_LENGTHS[key]}
    rejected_on = parse_date(date_raw) if date_text else None
    if date_text and rejected_on is None:
        yield "rejected_on", "import.bad_date", {"column": labels["rejected_on"], "value": date_text}
    if rejected_on is not None and not in_range(rejected_on):
        yield "rejected_on", "files.date_out_of_range", {"column": labels["rejected_on"], "value": date_text, **_range_params()}
    if category_text and parse_category(category_text) is None:
        yield "category", "import.unknown_category", {"column": labels["category"], "value": category_text}
    if scenario_text and parse_scenario(scenario_text) is None:
        yield "scenario", "import.unknown_scenario", {"column": labels["scenario"], "value": scenario_text}
    callback_at = None if _is_blank(at_raw) else parse_datetime(at_raw)
    at_text = normalise_text(_cell_text(at_raw))
    if not _is_blank(at_raw) and callback_at is None:
        yield "callback_at", "import.bad_callback_at", {"column": labels["callback_at"], "value": at_text}
    if callback_at is not None and not in_range(callback_at):
        yield "callback_at", "files.date_out_of_range", {"column": labels["callback_at"], "value": at_text, **_range_params()}


def _range_params() -> dict[str, str]:
    first, last = DATE_RANGE
    return {"first": first.isoformat(), "last": last.isoformat()}
