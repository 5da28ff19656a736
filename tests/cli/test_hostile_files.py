"""``rejectbot import`` of hostile and broken files (issue 7, part 5).

Each file is made in its test. Every refusal: exit code 1, one clear message
on stderr, no traceback, and the database exactly as before (the sample,
imported first, intact; no import batch added).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hostile_files import (
    ENTITY_BOMB_DTD,
    SHEET,
    csv_bytes,
    members,
    rezip,
    row,
    with_shared_strings,
    with_sheet,
    xlsx_bytes,
)
from sqlmodel import select

from bot.cli import main
from storage.db import make_engine, make_session_factory
from storage.models import ImportBatch, Item

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
EXAMPLE_ROUTING = Path(__file__).resolve().parents[2] / "routing.example.toml"


@pytest.fixture
def operator(tmp_path, monkeypatch):
    """A working directory with a routing file, and the sample already imported."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "DATABASE_URL",
                 "ROUTING_FILE", "BOT_TIMEZONE", "BOT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "routing.toml").write_text(EXAMPLE_ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("BOT_LOCALE", "en")
    assert main(["import", str(SAMPLE)]) == 0
    return tmp_path


def set_limits(directory: Path, *, max_rows: int | None = None, max_bytes: int | None = None) -> None:
    routing = directory / "routing.toml"
    text = routing.read_text(encoding="utf-8")
    if max_rows is not None:
        text = re.sub(r"(?m)^max_rows = \d+", f"max_rows = {max_rows}", text)
    if max_bytes is not None:
        text = re.sub(r"(?m)^max_bytes = \d+", f"max_bytes = {max_bytes}", text)
    routing.write_text(text, encoding="utf-8")


def stored(directory: Path) -> tuple[list[tuple], int]:
    """Every item's stored fields, and the number of import batches."""
    engine = make_engine(f"sqlite:///{directory / 'bot.db'}")
    try:
        with make_session_factory(engine)() as session:
            items = [
                (i.order_no, i.rejected_on, i.branch, i.category, i.customer, i.callback_at, i.note, i.status, i.batch_id)
                for i in session.exec(select(Item).order_by(Item.order_no))
            ]
            batches = len(session.exec(select(ImportBatch)).all())
    finally:
        engine.dispose()
    return items, batches


def refused(directory: Path, capsys, name: str, data: bytes) -> str:
    """Import ``data`` as ``name``: refused with exit code 1, nothing stored,
    no traceback. Returns stderr."""
    before = stored(directory)
    assert len(before[0]) == 40 and before[1] == 1  # the sample
    capsys.readouterr()
    path = directory / name
    path.write_bytes(data)

    assert main(["import", str(path)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""  # no report: the file was refused as a whole
    assert "Traceback" not in captured.err and 'File "' not in captured.err, captured.err
    assert stored(directory) == before
    return captured.err.strip()


# --- limits --------------------------------------------------------------------


def test_a_csv_with_more_rows_than_max_rows_is_refused_while_reading(operator, capsys):
    set_limits(operator, max_rows=50)
    fifty = [row(n) for n in range(50)]
    # After row 51 comes a field longer than the csv module reads: a reader
    # that went on past the limit would report that instead.
    data = csv_bytes(*fifty, row(50)) + b'SO1,2026-11-26,"' + b"x" * 200_000 + b'"\r\n'

    err = refused(operator, capsys, "long.csv", data)

    assert err == (
        "The file has more than 50 rows below the header (row 1); an import may have at most 50. "
        "Split the file into parts of at most 50 rows and import each, or raise [import] max_rows in the "
        "routing file. Nothing was imported."
    )
    # Exactly max_rows rows (and blank rows, which do not count) are imported.
    (operator / "fifty.csv").write_bytes(csv_bytes(*fifty[:25], ("",) * 9, *fifty[25:]))
    assert main(["import", str(operator / "fifty.csv")]) == 0
    assert len(stored(operator)[0]) == 90


def test_an_xlsx_with_more_rows_than_max_rows_is_refused_while_reading(operator, capsys):
    set_limits(operator, max_rows=50)
    good = xlsx_bytes(*(row(n) for n in range(51)))
    # The sheet is cut off after its 52nd row: a reader that went on past the
    # limit would find the XML truncated instead. And it does not state its
    # size (no <dimension>), for which openpyxl's load_workbook parses the
    # whole sheet when it opens the file.
    def cut(sheet: bytes) -> bytes:
        sheet = re.sub(rb"<dimension [^>]*/>", b"", sheet, count=1)
        return sheet[: sheet.index(b"</row>", sheet.index(b'<row r="52"')) + 6] + b"<row r="

    data = with_sheet(good, cut)
    assert b"<dimension" not in members(data)[SHEET]

    err = refused(operator, capsys, "long.xlsx", data)

    assert err.startswith("The file has more than 50 rows below the header (row 1); an import may have at most 50.")


def test_a_file_over_max_bytes_is_refused_before_reading(operator, capsys):
    set_limits(operator, max_bytes=4_000)
    data = csv_bytes(*(row(n) for n in range(60)))
    assert len(data) > 4_000

    err = refused(operator, capsys, "big.csv", data)

    assert err == (
        f"The file has {len(data):,} bytes (0.0 MB); an import may have at most 4,000 bytes (0.0 MB). Split the "
        "file into smaller ones and import each, or raise [import] max_bytes in the routing file. Nothing was imported."
    )


def test_a_zip_bomb_is_refused_before_it_is_unpacked(operator, capsys):
    set_limits(operator, max_bytes=20_000)
    # A valid workbook whose sheet holds 5 MB of blanks between two rows: it
    # packs to a few kB and would import fine, were it unpacked.
    data = with_sheet(xlsx_bytes(row(1)), lambda sheet: sheet.replace(b"</row>", b"</row>" + b" " * 5_000_000, 1))
    assert len(data) < 20_000
    declared = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())

    err = refused(operator, capsys, "bomb.xlsx", data)

    assert err == (
        f"The XLSX file would unpack to {declared:,} bytes ({declared / 1_048_576:.1f} MB), more than 10 times "
        '[import] max_bytes (0.2 MB); a real export never does, a "zip bomb" does. Export the file again, or '
        "split it. Nothing was imported."
    )


def test_an_xlsx_whose_shared_strings_unpack_past_max_bytes_is_refused(operator, capsys):
    # The sheet is streamed; the table of shared strings is read whole, so it alone may not exceed max_bytes.
    set_limits(operator, max_bytes=20_000)
    data = with_shared_strings(xlsx_bytes(row(1)), ["客户已收货"] * 2_000)
    assert len(data) < 20_000

    err = refused(operator, capsys, "strings.xlsx", data)

    assert err.startswith("The XLSX file's shared strings, styles and workbook parts, which are read whole, would "
                          "unpack to ")
    assert "more than [import] max_bytes (0.0 MB)" in err and err.endswith("Nothing was imported.")


def test_an_xlsx_with_more_shared_strings_than_max_rows_allows_is_refused(operator, capsys):
    set_limits(operator, max_rows=50)  # 5 strings a row, header rows included: 350
    data = with_shared_strings(xlsx_bytes(row(1)), [str(n) for n in range(351)])

    err = refused(operator, capsys, "strings.xlsx", data)

    assert err == (
        "The XLSX file has more than 350 distinct texts, 5 for each row [import] max_rows allows; a real export has "
        "far fewer. Split the file, or raise [import] max_rows in the routing file. Nothing was imported."
    )
    # 350 are fine.
    (operator / "ok.xlsx").write_bytes(with_shared_strings(xlsx_bytes(row(1)), [str(n) for n in range(350)]))
    assert main(["import", str(operator / "ok.xlsx")]) == 0


def test_a_zip_whose_member_declares_a_huge_unpacked_size_is_refused_before_it_is_unpacked(operator, capsys):
    # Default limits. The sheet's entry in the zip's directory declares 4 GB;
    # nothing is unpacked to find out whether it is true.
    data = bytearray(xlsx_bytes(row(1)))
    entry = data.index(b"PK\x01\x02")  # the first central directory entry; its name starts at byte 46
    while data[entry + 46 : entry + 46 + len(SHEET)] != SHEET.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = (0xFFFF_FFFE).to_bytes(4, "little")  # the uncompressed size
    declared = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist())
    assert declared > 4_000_000_000

    err = refused(operator, capsys, "declared.xlsx", bytes(data))

    assert err.startswith(f"The XLSX file would unpack to {declared:,} bytes")
    assert "more than 10 times [import] max_bytes (500.0 MB)" in err


# --- broken and malicious XLSX files --------------------------------------------


def test_a_truncated_sheet_xml_is_refused(operator, capsys):
    data = with_sheet(xlsx_bytes(row(1), row(2)), lambda sheet: sheet[: len(sheet) * 2 // 3])

    err = refused(operator, capsys, "truncated.xlsx", data)

    assert re.fullmatch(
        r"The XLSX file is damaged: its sheet is truncated or malformed \((unclosed token|no element found): "
        r"line \d+, column \d+\)\. Export it again, or open it in Excel and save it again\. Nothing was imported\.",
        err,
    ), err


def test_a_malformed_sheet_xml_is_refused(operator, capsys):
    data = with_sheet(xlsx_bytes(row(1), row(2)), lambda sheet: sheet.replace(b"</row>", b"</rows>", 1))

    err = refused(operator, capsys, "malformed.xlsx", data)

    assert re.fullmatch(
        r"The XLSX file is damaged: its sheet is truncated or malformed \(mismatched tag: line \d+, column \d+\)\. "
        r"Export it again, or open it in Excel and save it again\. Nothing was imported\.",
        err,
    ), err


@pytest.mark.parametrize("part", [SHEET, "xl/workbook.xml"])
def test_an_xml_entity_bomb_is_refused(operator, capsys, part):
    assert openpyxl.DEFUSEDXML is True  # openpyxl parses through defusedxml
    parts = members(xlsx_bytes(row(1)))
    xml = parts[part]
    xml = xml[xml.index(b"?>") + 2 :] if xml.startswith(b"<?xml") else xml
    parts[part] = ENTITY_BOMB_DTD + xml.replace(b"SO20261126800001", b"&lol9;")
    data = rezip(parts)

    err = refused(operator, capsys, "laughs.xlsx", data)

    assert err == (
        "The XLSX file declares XML entities, which spreadsheet programs never write; it is refused as possibly "
        'malicious (an "entity bomb"). Export it again from the callback system. Nothing was imported.'
    )


def test_a_broken_zip_is_refused(operator, capsys):
    good = xlsx_bytes(row(1), row(2))
    cut = good[: len(good) // 2]  # the archive cut off: no central directory

    err = refused(operator, capsys, "cut.xlsx", cut)

    assert err == (
        "The file is not a readable XLSX file: the zip archive an XLSX file is made of is damaged, cut off or "
        "missing (File is not a zip file). Export it again, or open it in Excel and save it again. Nothing was imported."
    )


def test_an_xlsx_whose_sheet_fails_its_checksum_is_refused(operator, capsys):
    good = xlsx_bytes(row(1), row(2))
    info = zipfile.ZipFile(io.BytesIO(good)).getinfo(SHEET)
    damaged = bytearray(good)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the sheet's packed data
    damaged[start + info.compress_size // 2] ^= 0xFF

    err = refused(operator, capsys, "damaged.xlsx", bytes(damaged))

    assert err.startswith("The file is not a readable XLSX file: the zip archive an XLSX file is made of is damaged")
    assert "Nothing was imported." in err


# --- bad rows, not refusals ------------------------------------------------------


def test_a_callback_time_of_0001_01_01_is_a_bad_row(operator, capsys):
    path = operator / "dates.csv"
    path.write_bytes(csv_bytes(row(1, at="0001-01-01"), row(2), row(3, at="9999-12-31 23:59")))
    before = stored(operator)[0]
    capsys.readouterr()

    assert main(["import", str(path)]) == 0  # the good row is kept

    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "OverflowError" not in captured.err
    assert '  row 2: 回访时间 "0001-01-01" is not between 2000-01-01 and 2099-12-31' in captured.out
    assert '  row 4: 回访时间 "9999-12-31 23:59" is not between 2000-01-01 and 2099-12-31' in captured.out
    after = stored(operator)[0]
    assert [i[0] for i in after if i not in before] == ["SO20261126800002"]
