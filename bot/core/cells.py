"""Values written into a spreadsheet the bot produces: never a formula.

Every XLSX or CSV writer of the bot (the monthly notice's workbook, exports,
a file of rejected rows) passes each cell value through ``safe_cell``. That is
the OWASP rule against CSV (formula) injection: a text that starts with ``=``,
``+``, ``-`` or ``@``, a tab or a carriage return would be taken by Excel,
LibreOffice or openpyxl for a formula (``=HYPERLINK(…)``, ``@SUM(…)``,
``=cmd|' /C calc'!A0``), so it is written with an apostrophe in front, which
makes it text. Imported values are stored exactly as given; only what the bot
writes out is escaped.

Control characters that XML 1.0 cannot hold (NUL and the like; tab and line
breaks are kept) would make openpyxl refuse the whole workbook; they are
replaced by U+FFFD. Numbers, dates and None are written as they are: they are
never formulas.

Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_PREFIX = "'"
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

CellValue = str | int | float | Decimal | bool | date | datetime | time | timedelta | None


def safe_cell(value: CellValue) -> CellValue:
    """``value`` as a spreadsheet cell may hold it without being a formula.

    A text starting with one of ``FORMULA_STARTS`` gets ``TEXT_PREFIX`` in
    front; characters XML cannot hold become U+FFFD. Anything that is not text
    is returned as it is.
    """
    if not isinstance(value, str):
        return value
    if not value.isprintable():
        value = _NOT_IN_XML.sub("\ufffd", value)
    if value.startswith(FORMULA_STARTS):
        return TEXT_PREFIX + value
    return value
