"""The sandbox served for real over HTTP: a fresh `Sandbox` per test on
127.0.0.1 and a free port, stopped afterwards (werkzeug's threaded server,
which stops cleanly between tests; ``rejectbot demo --web`` serves the same
app with waitress, tested in test_sandbox_http.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from werkzeug.serving import make_server

from bot.sandbox.state import Sandbox
from bot.sandbox.web import create_web

SHOTS = pytest.StashKey[Path]()  # where the browser tests saved their screenshots


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if SHOTS in config.stash:
        terminalreporter.write_line(f"sandbox screenshots (test artefacts): {config.stash[SHOTS]}")


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """Where the browser tests keep their screenshots: ``$SANDBOX_SCREENSHOTS``,
    else ``sandbox-screenshots`` in pytest's temporary folder of the run."""
    folder = Path(os.environ.get("SANDBOX_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "sandbox-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    request.config.stash[SHOTS] = folder
    return folder


class Served(NamedTuple):
    sandbox: Sandbox
    url: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    sandbox = Sandbox(locale="en", workdir=tmp_path)
    server = make_server("127.0.0.1", 0, create_web(sandbox), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Served(sandbox, f"http://127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        sandbox.close()
