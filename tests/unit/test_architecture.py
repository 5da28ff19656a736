"""The layering is kept by the import contracts in ``pyproject.toml``
(``[tool.importlinter]``), checked here with import-linter itself.

The second test breaks each contract on purpose, in a copy of the packages,
to show that the contracts catch what they say they catch.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage")
# import-linter 2.x has no `python -m importlinter`; this is what the
# `lint-imports` script runs, with the interpreter of this test run's venv.
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # lint-imports reads ./pyproject.toml and puts the working directory first
    # on sys.path, so it analyses the packages found there.
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_code_keeps_every_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", result.stdout), result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "message"),
    [
        ("bot/core/text.py", "import sqlalchemy", "The pure core imports no Slack", "bot.core.text -> sqlalchemy"),
        ("bot/core/text.py", "import slack_sdk", "The pure core imports no Slack", "bot.core.text -> slack_sdk"),
        ("bot/core/masking.py", "import bot.gateway", "The pure core imports no Slack", "bot.core.masking -> bot.gateway"),
        ("storage/types.py", "import bot.services", "handlers -> services -> storage", "storage is not allowed to import bot.services"),
        ("bot/services/deps.py", "import handlers.context", "handlers -> services -> storage", "bot.services is not allowed to import handlers"),
        ("bot/gateway.py", "import storage.db", "handlers -> services -> storage", "bot.gateway is not allowed to import storage"),
        ("handlers/context.py", "from storage import queries", "Handlers reach the database only through the services", "handlers.context -> storage.queries"),
        ("handlers/context.py", "import bot.scheduler", "Nothing imports the composition roots", "handlers.context -> bot.scheduler"),
        ("bot/services/deps.py", "from bot.app import create_app", "Nothing imports the composition roots", "bot.services.deps -> bot.app"),
    ],
)
def test_each_contract_catches_a_violation(tmp_path, module, line, contract, message):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / module).open("a", encoding="utf-8") as fh:
        fh.write(f"\n{line}  # a violation, on purpose\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    broken = [row.removesuffix(" BROKEN") for row in result.stdout.splitlines() if row.endswith(" BROKEN")]
    assert any(name.startswith(contract) for name in broken), result.stdout
    assert message in result.stdout, result.stdout
