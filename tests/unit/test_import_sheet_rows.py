"""How the parser walks an XLSX sheet's rows: gaps, rows out of order, rows
past a spreadsheet's last row, formula cells (issue 7, part 5)."""

from __future__ import annotations

import re

import pytest
from hostile_files import HEADER, row, with_shared_strings, with_sheet, xlsx_bytes

from bot.core.importing import MAX_SHEET_ROWS, ExportError, parse_export
from bot.core.routing import ImportLimits
from bot.i18n import Catalog


def renumber(data: bytes, numbers: dict[int, int]) -> bytes:
    """The XLSX ``data`` with rows renumbered (old -> new), cell references too."""
    def change(sheet: bytes) -> bytes:
        for old, new in numbers.items():
            sheet = sheet.replace(b'<row r="%d"' % old, b'<row r="%d"' % new)
            sheet = re.sub(rb'(<c r="[A-Z]+)%d"' % old, rb'\g<1>%d"' % new, sheet)
        return re.sub(rb"<dimension [^>]*/>", b"", sheet)
    return with_sheet(data, change)


def test_rows_the_sheet_skips_are_blank_and_numbers_stay_as_the_spreadsheet_shows_them():
    data = renumber(xlsx_bytes(row(1), row(2)), {3: 7})
    parsed = parse_export(data, filename="gaps.xlsx")
    assert [r.row for r in parsed.records] == [2, 7]
    assert parsed.problems == []


def test_blank_rows_and_gaps_do_not_count_against_max_rows():
    data = renumber(xlsx_bytes(row(1), row(2)), {3: 5_000})
    parsed = parse_export(data, filename="gaps.xlsx", limits=ImportLimits(max_rows=2))
    assert [r.row for r in parsed.records] == [2, 5_000]


def test_a_row_numbered_before_the_one_above_it_refuses_the_file():
    data = renumber(xlsx_bytes(row(1), row(2), row(3)), {4: 2})
    with pytest.raises(ExportError) as caught:
        parse_export(data, filename="order.xlsx")
    assert (caught.value.key, caught.value.params) == ("files.broken_xml", {"detail": "row 2 after row 3"})


def test_a_row_past_the_last_row_of_a_spreadsheet_refuses_the_file():
    data = renumber(xlsx_bytes(row(1), row(2)), {3: MAX_SHEET_ROWS + 1})
    with pytest.raises(ExportError) as caught:
        parse_export(data, filename="far.xlsx")
    assert caught.value.key == "files.past_last_row"
    assert Catalog("en").t(caught.value.key, **caught.value.params).startswith(
        "The file goes on past row 1,048,576, the last row a spreadsheet can have"
    )


def test_a_csv_past_the_last_row_of_a_spreadsheet_is_refused_even_if_its_rows_are_blank():
    data = (",".join(HEADER) + "\r\n").encode() + b"\r\n" * MAX_SHEET_ROWS
    with pytest.raises(ExportError) as caught:
        parse_export(data, filename="blank.csv")
    assert caught.value.key == "files.past_last_row"


def test_an_array_formula_is_read_as_its_text():
    data = xlsx_bytes(row(1, note="=1+1"))
    data = with_sheet(data, lambda sheet: sheet.replace(b"<f>1+1</f>", b'<f t="array" ref="I2">SUM(A1:A2*2)</f>'))
    (record,) = parse_export(data, filename="array.xlsx").records
    assert record.note == "=SUM(A1:A2*2)"


def test_cells_that_use_the_shared_strings_table_read_their_text():
    # Excel writes texts once, in the shared strings table, and cells by index.
    data = with_shared_strings(xlsx_bytes(row(1)), ["SO_SHARED_1", "=1+1 客户称已收货"])

    def by_index(sheet: bytes) -> bytes:
        sheet = re.sub(rb'<c r="A2" t="inlineStr"><is><t>[^<]*</t></is></c>', b'<c r="A2" t="s"><v>0</v></c>', sheet)
        return re.sub(rb'<c r="I2" t="inlineStr"><is><t>[^<]*</t></is></c>', b'<c r="I2" t="s"><v>1</v></c>', sheet)

    (record,) = parse_export(with_sheet(data, by_index), filename="shared.xlsx").records
    assert (record.order_no, record.note) == ("SO_SHARED_1", "=1+1 客户称已收货")


def test_what_follows_the_rows_is_not_read():
    # Merged cells, links and formatting follow the rows; an export needs none
    # of them. Here they are cut off, as a truncated file would be: every row
    # is there, so the file imports.
    data = with_sheet(
        xlsx_bytes(row(1), row(2)),
        lambda sheet: sheet[: sheet.index(b"</sheetData>") + len(b"</sheetData>")] + b"<mergeCells><mergeC",
    )
    parsed = parse_export(data, filename="tail.xlsx")
    assert [r.row for r in parsed.records] == [2, 3]
