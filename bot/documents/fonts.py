"""The CJK font every file the bot renders uses: Noto Sans CJK SC (SIL Open
Font License), shipped inside the ``mplfonts`` package, so a machine set up
by ``uv run`` alone renders Chinese labels; no system font is looked up."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import mplfonts

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"


class FontMissing(FileNotFoundError):
    """The packaged CJK font is not where ``mplfonts`` keeps it."""


@cache
def cjk_font_path() -> Path:
    path = Path(mplfonts.__file__).parent / "fonts" / CJK_FONT_FILE
    if not path.is_file():
        raise FontMissing(f"{CJK_FONT_FILE} is missing from the mplfonts package at {path.parent}; reinstall it (uv sync)")
    return path
