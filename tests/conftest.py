"""Shared fixtures: databases (SQLite always, PostgreSQL when
``TEST_DATABASE_URL`` is set), a fake Slack, and the whole app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.app import Bot, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core.routing import Owner, Routing
from bot.fakeslack import FakeSlack, SlackSigner
from bot.gateway import make_client
from storage.db import SessionFactory, make_engine, make_session_factory, upgrade

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # copies kept in the repository: it stands alone
SAMPLES = FIXTURES / "samples"
PAYLOADS = FIXTURES / "slack-payloads"
SIGNING_SECRET = "test-signing-secret"
PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SKIP = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server (e.g. postgresql://postgres@127.0.0.1:5432/test)"


@contextmanager
def postgres_schema(url: str) -> Iterator[Engine]:
    """An engine on a fresh schema of its own, dropped afterwards, so test
    runs sharing one PostgreSQL server cannot disturb each other."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    """A migrated, empty database: a SQLite file, and PostgreSQL when available."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with postgres_schema(PG_URL) as engine:
        upgrade(engine)
        yield engine


@pytest.fixture
def replica_engine(engine) -> Iterator[Engine]:
    """Another engine with its own connection pool, as another process (a
    replica) would have, on the same database — on PostgreSQL, the same schema."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            search_path = conn.execute(text("SHOW search_path")).scalar_one()
        other = make_engine(url, connect_args={"options": f"-csearch_path={search_path}"})
    else:
        other = make_engine(url)
    yield other
    other.dispose()


@pytest.fixture
def session_factory(engine) -> SessionFactory:
    return make_session_factory(engine)


def at(text_: str) -> datetime:
    """A Shanghai wall-clock time as an aware datetime."""
    return datetime.fromisoformat(text_).replace(tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at("2026-11-27 08:30"))  # a Friday, a working day


ROUTING = Routing(
    channel="C0LOGISTICS",
    cs_lead="U0CSLEAD",
    cs_agents={"王丽": "U0CS0001", "陈静": "U0CS0002"},
    owners=(
        Owner(name="大件配送", user="U0OWNERY", categories=("large",), delegates=("U0DELEGY",), escalation=("U0OPSHEAD", "U0LOGIBOSS")),
        Owner(name="小件配送", user="U0OWNERZ", categories=("small",), branches=("杭州分公司", "南京分公司", "苏州分公司", "无锡分公司"), escalation=("U0OPSHEAD", "U0LOGIBOSS")),
    ),
)


@pytest.fixture
def routing() -> Routing:
    return ROUTING


@pytest.fixture
def fake_slack(clock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=lambda: clock.now().timestamp()) as fake:  # scheduled messages follow the test's clock
        yield fake


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        bot_token="xoxb-test", app_token=None, signing_secret=SIGNING_SECRET, api_url="unused",
        database_url="unused", routing_file=tmp_path / "routing.toml", timezone=SHANGHAI, locale="en",
        slack_pacing=False,  # the fake_slack fixture enforces no rate limits; pacing is tested in test_pacing.py
    )


@pytest.fixture
def bot(settings, fake_slack, session_factory, clock, routing) -> Bot:
    client = make_client("xoxb-test", fake_slack.api_url)
    return create_app(
        settings, client=client, session_factory=session_factory, clock=clock, routing=routing,
        process_before_response=True,
    )


@pytest.fixture
def signer() -> SlackSigner:
    return SlackSigner(SIGNING_SECRET)  # Bolt checks freshness against the real time


# --- the sandbox page (tests/sandbox) ----------------------------------------------------------------
# Here rather than in a tests/sandbox/conftest.py: a second module named ``conftest``
# would shadow this one for the test modules that import it by name.

SANDBOX_SHOTS = pytest.StashKey[Path]()  # where the browser tests saved their screenshots


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if SANDBOX_SHOTS in config.stash:
        terminalreporter.write_line(f"sandbox screenshots (test artefacts): {config.stash[SANDBOX_SHOTS]}")


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """Where the browser tests keep their screenshots: ``$SANDBOX_SCREENSHOTS``,
    else ``sandbox-screenshots`` in pytest's temporary folder of the run."""
    folder = Path(os.environ.get("SANDBOX_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "sandbox-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    request.config.stash[SANDBOX_SHOTS] = folder
    return folder


class Served(NamedTuple):
    sandbox: object  # bot.sandbox.state.Sandbox, imported only by the tests that serve one
    url: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The sandbox served for real over HTTP: a fresh `Sandbox` on 127.0.0.1 and
    a free port, stopped afterwards (werkzeug's threaded server, which stops
    cleanly between tests; ``rejectbot demo --web`` serves the same app with
    waitress, tested in test_sandbox_http.py). """
    import threading

    from werkzeug.serving import make_server

    from bot.sandbox.state import Sandbox
    from bot.sandbox.web import create_web

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
