"""Hostile and broken callback exports, made in the test that uses them.

Each maker returns the file's bytes. An XLSX is written by openpyxl, as a
spreadsheet program would, and then damaged in one named way.
"""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

HEADER = ("订单号", "拒收日期", "分公司", "配送类型", "场景", "客户", "回访人", "回访时间", "回访记录")
SHEET = "xl/worksheets/sheet1.xml"


def row(number: int, *, note: str = "已签收", customer: str = "张先生 13812341234", at: str = "2026-11-26 16:00") -> tuple:
    """A good row of a callback export; ``number`` makes its order number."""
    return (f"SO2026112680{number:04d}", "2026-11-26", "南京分公司", "大件", "客户已收货", customer, "王丽", at, note)


def csv_bytes(*rows: tuple) -> bytes:
    lines = [",".join(HEADER), *(",".join(_csv_field(str(v)) for v in r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n\t') else text


def xlsx_bytes(*rows: tuple, formulas_as_text: bool = False) -> bytes:
    """An XLSX of ``rows`` below the header. openpyxl writes a text starting
    with "=" as a formula cell; with ``formulas_as_text`` as a text cell."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADER))
    for values in rows:
        sheet.append(list(values))
        if formulas_as_text:
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_sheet(data: bytes, change) -> bytes:
    """The XLSX ``data`` with its first sheet's XML passed through ``change``."""
    parts = members(data)
    parts[SHEET] = change(parts[SHEET])
    return rezip(parts)


def with_shared_strings(data: bytes, strings: list[str]) -> bytes:
    """The XLSX ``data`` with a table of shared strings (as Excel writes
    texts) holding ``strings``; the sheet's cells do not use them."""
    parts = members(data)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>',
    )
    parts["xl/sharedStrings.xml"] = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"".join(b"<si><t>%s</t></si>" % text.encode() for text in strings)
        + b"</sst>"
    )
    return rezip(parts)


ENTITY_BOMB_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE worksheet [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (level, (b"&lol%s;" % (b"" if level == 1 else str(level - 1).encode())) * 10)
        for level in range(1, 10)
    )
    + b"]>\n"
)  # "billion laughs": &lol9; expands to 10^9 "lol"s
