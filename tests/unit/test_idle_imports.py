"""What an idle `rejectbot run` has loaded: the app and its services, not
the libraries that write documents (Matplotlib with NumPy and Pillow,
openpyxl, python-docx, ReportLab, fontTools), which take tens of MB and are
loaded when a month's files or a letter are first rendered. Issue 10: under
120 MB for all of `rejectbot run`'s processes (bench/bench_run.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DOCUMENT_LIBRARIES = ("matplotlib", "numpy", "PIL", "openpyxl", "docx", "reportlab", "fontTools", "mplfonts")


def test_building_the_app_loads_no_document_library() -> None:
    code = (
        "import json, sys\n"
        "import bot.cli, bot.app, bot.socket_mode, bot.server, bot.scheduler\n"
        f"print(json.dumps([m for m in {DOCUMENT_LIBRARIES!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
