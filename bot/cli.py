"""The ``rejectbot`` command line; the only place that loads ``.env``.

Everything it prints comes from the message catalogs, in ``BOT_LOCALE`` (or
zh_CN when that is unset or not a known locale).

Exit codes (``cli.exit_codes``, shown by ``--help``): 0 the work was done or
there was nothing for this process to do (warnings on stderr); 1 something due
was not done (calendar data missing, Slack or the database failing, a whole
import file refused, check-config finding a problem); 2 bad usage or a
configuration the command cannot start with.

Errors: ``UsageError`` (an argument argparse cannot check, e.g. ``--at``;
exit 2).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from dotenv import load_dotenv

from bot.clock import Clock, FixedClock, SystemClock
from bot.config import ConfigError, Problem, Settings, load_routing, locale_from_env, read_routing, routing_emails
from bot.i18n import LOCALES, Catalog

log = logging.getLogger("rejectbot")

EXIT_OK, EXIT_NOT_DONE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad argument: ``key`` and ``params`` name its catalog message."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def _say(catalog: Catalog, key: str, **params: object) -> None:
    """A warning or an error for the operator, on stderr."""
    print(catalog.t(key, **params), file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    detail = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _catalog() -> Catalog:
    """The operator's language, even when the settings are broken."""
    return Catalog(locale_from_env(os.environ))


def _print_problems(lines: list[str], *, indent: str = "", file=None) -> None:
    for line in lines:
        print(f"{indent}✗ {line}", file=file)


def _parse_at(value: str, settings: Settings) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError("cli.bad_at", value=repr(value)) from None
    return at if at.tzinfo else at.replace(tzinfo=settings.timezone)


def _clock(args, settings: Settings) -> Clock:
    """The system clock, or a fixed one at ``--at``."""
    return FixedClock(_parse_at(args.at, settings)) if args.at else SystemClock()


def _slack_errors() -> tuple[type[BaseException], ...]:
    """Slack failing after the gateway's retries: an error answer, or no answer."""
    from slack_sdk.errors import SlackApiError

    return (SlackApiError, OSError)


def _database(settings: Settings):
    from storage.db import make_engine, make_session_factory, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine, make_session_factory(engine)


def _bot(settings: Settings, clock: Clock):
    from bot.app import create_app
    from bot.gateway import make_client

    engine, session_factory = _database(settings)
    client = make_client(settings.bot_token, settings.api_url)
    return create_app(settings, client=client, session_factory=session_factory, clock=clock), session_factory


def cmd_run(args, settings: Settings) -> int:
    """One process: the front (HTTP or Socket Mode) stores each request in the
    inbox before acknowledging it, a pool of worker threads dispatches it
    through the whole app, the ticker runs what is due; see ``bot.handoff``.
    SIGTERM or SIGINT stops it cleanly (exit 0); unfinished requests stay in
    the inbox for the next start."""
    if args.http and not settings.signing_secret:
        raise ConfigError([Problem("cli.run_http_needs_secret")])
    if not args.http and not settings.app_token:
        raise ConfigError([Problem("cli.run_needs_app_token")])
    import functools
    import signal
    import threading

    stop = threading.Event()
    serving = None

    def on_signal(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.info("stopping (signal %s)", signum)
        stop.set()
        if serving is not None:
            raise SystemExit(0)  # waitress's loop stops on SystemExit and lets its tasks finish

    # First of all: a signal during start-up (the schema upgrade, Bolt's
    # auth.test) stops it cleanly too, once the step under way returns.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from bot.app import create_app
    from bot.gateway import make_client
    from bot.handoff import InboxPool, tell_sender
    from bot.health import Health
    from bot.scheduler import start_ticker
    from bot.server import SlackFront, make_server, make_wsgi_app
    from bot.services.inbox_notice import tell_parked
    from storage.db import database_problem, make_probe_engine

    routing, routing_read_from = read_routing(settings.routing_file)  # the reload compares with this content: an edit from here on is seen
    log.info("checking the database schema")
    _, session_factory = _database(settings)
    if stop.is_set():
        return EXIT_OK
    clock = SystemClock()
    bot = create_app(
        settings, client=make_client(settings.bot_token, settings.api_url), session_factory=session_factory,
        clock=clock, routing=routing, routing_read_from=routing_read_from, process_before_response=True, verify_requests=False,  # the front verifies
    )
    if stop.is_set():
        return EXIT_OK
    catalog = Catalog(settings.locale)
    health = Health(clock=clock)
    probe = make_probe_engine(settings.database_url)
    health.add_check("database", lambda: database_problem(probe))
    pool = InboxPool(session_factory=session_factory, dispatch=bot.app.dispatch, clock=clock, probe=probe,
                     on_parked=tell_sender(functools.partial(tell_parked, bot.services)))
    health.add_check("workers", pool.problem)
    health.add_note("inbox", pool.parked_note)
    health.add_note("routing file", bot.services.routing_note)

    bot.services.start_refresher()  # before the workers: their answers mark messages for it
    pool.start()
    from bot.services.slack_import import ImportRunner

    imports_runner = ImportRunner(bot.services.run_imports)  # files sent to the app in Slack, off the request path
    bot.services.on_import_queued = imports_runner.wake
    imports_runner.start()
    scheduler = start_ticker(bot.services, timezone=settings.timezone, health=health)
    socket_client = None
    code = EXIT_OK
    try:
        if args.http:
            front = SlackFront(signing_secret=settings.signing_secret, pool=pool, catalog=catalog)
            serving = make_server(make_wsgi_app(front, health), port=args.port)
            if not stop.is_set():
                serving.run()
        else:
            from slack_sdk.errors import SlackApiError

            from bot.socket_mode import SocketFront, connect, connection_check

            if args.health_port is not None:
                health_server = make_server(make_wsgi_app(None, health), port=args.health_port, threads=2)
                threading.Thread(target=health_server.run, name="healthz", daemon=True).start()
            try:
                socket_client = connect(SocketFront(pool=pool, catalog=catalog), app_token=settings.app_token, api_url=settings.api_url)
            except SlackApiError as exc:  # apps.connections.open refused the app-level token
                _say(catalog, "cli.app_token_refused", error=_slack_error_text(exc))
                code = EXIT_USAGE
            else:
                health.add_check("slack connection", connection_check(socket_client, clock=clock))
                while not stop.wait(0.5):
                    pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        deadline = time.monotonic() + STOP_GRACE  # one budget for the whole stop, whatever hangs
        if socket_client is not None:
            _within(deadline, socket_client.close, what="closing the Socket Mode connection")
        pool.stop(timeout=_left(deadline))
        bot.services.stop_refresher(timeout=min(1.0, _left(deadline)))  # marks left behind: the next tick (any replica) catches up
        imports_runner.stop(timeout=_left(deadline))  # an import cut short is redone at the next start (its lease runs out)
        scheduler.shutdown(wait=False)
        probe.dispose()
        _exit_when_jobs_hang(deadline)
    return code


STOP_GRACE = 6.0  # seconds the whole stop may take once run is told to: what is under way by then is cut short


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _within(deadline: float, step: Callable[[], None], *, what: str) -> None:
    """Run ``step`` in a daemon thread and wait for it until ``deadline``.
    slack_sdk's ``SocketModeClient.close`` joins its own threads without a
    timeout; one of them may be inside a reconnect or a blocked receive."""
    import threading

    thread = threading.Thread(target=step, name=what, daemon=True)
    thread.start()
    thread.join(timeout=_left(deadline))
    if thread.is_alive():
        log.warning("stopping: %s did not finish in time; going on", what)


def _exit_when_jobs_hang(deadline: float) -> None:
    """A tick under way when run is told to stop may go on until ``deadline``;
    then the process exits anyway (exit 0, logs flushed): the interpreter
    would otherwise wait at exit for the scheduler's thread, as long as a
    hung Slack call takes. Every job is safe to cut short (as a kill -9 is)."""
    import threading
    from concurrent.futures import thread as futures_threads

    def joined_at_exit() -> list[threading.Thread]:
        # Non-daemon threads, and the workers of every ThreadPoolExecutor
        # (APScheduler's among them), which concurrent.futures joins at exit
        # whatever their daemon flag: its own registry, the only list there is.
        workers = list(getattr(futures_threads, "_threads_queues", {}))
        others = [t for t in threading.enumerate() if not t.daemon]
        return [t for t in {*workers, *others} if t is not threading.current_thread() and t.is_alive()]

    for thread in joined_at_exit():
        thread.join(timeout=_left(deadline))
    busy = sorted(t.name for t in joined_at_exit())
    if not busy:
        return
    log.warning("stopped; a job still running (%s) is cut short", ", ".join(busy))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_OK)


def cmd_import(args, settings: Settings) -> int:
    from bot.core.importing import ExportError, check_size
    from bot.services.importing import import_export, render_import_report

    catalog = Catalog(settings.locale)
    routing = load_routing(settings.routing_file)
    path = Path(args.file)
    if not path.is_file():
        print(catalog.t("cli.file_not_found", path=str(path)), file=sys.stderr)
        return 2
    try:
        # The size limit before reading, and again while reading (at most one
        # byte past it): a file too big is never read whole.
        check_size(path.stat().st_size, routing.imports)
        with path.open("rb") as file:
            data = file.read(routing.imports.max_bytes + 1)
    except ExportError as exc:
        _say(catalog, exc.key, **exc.params)
        return EXIT_NOT_DONE
    except OSError as exc:  # exists but cannot be read: permissions, a dead network share
        _say(catalog, "cli.file_unreadable", path=str(path), error=exc.strerror or type(exc).__name__)
        return EXIT_NOT_DONE
    _, session_factory = _database(settings)
    try:
        report = import_export(
            session_factory=session_factory, now=SystemClock().now(), timezone=settings.timezone,
            routing=routing, data=data, filename=path.name,
            actor=os.environ.get("USER", "cli"), dry_run=args.dry_run,
        )
    except ExportError as exc:  # the whole file is refused
        _say(catalog, exc.key, **exc.params)
        return EXIT_NOT_DONE
    print(render_import_report(report, catalog))
    if not report.problems:
        return EXIT_OK
    _say(catalog, "cli.import_rows_rejected", count=report.rejected_rows)
    # Good rows were kept: done, with a warning. Every row bad: the file was refused.
    return EXIT_NOT_DONE if report.rejected_rows >= report.total_rows else EXIT_OK


def cmd_digest(args, settings: Settings) -> int:
    from bot.core.workcal import CalendarDataMissing

    catalog = Catalog(settings.locale)
    clock = _clock(args, settings)
    try:
        bot, _ = _bot(settings, clock)
        outcome = bot.services.post_daily_digest()
    except CalendarDataMissing as exc:
        _say(catalog, "cli.digest_calendar_missing", year=exc.year)
        return EXIT_NOT_DONE
    except _slack_errors() as exc:
        _say(catalog, "cli.slack_failed", error=_slack_error_text(exc))
        return EXIT_NOT_DONE
    print(catalog.t(f"cli.digest_{outcome.state}", day=outcome.day.isoformat(), messages=outcome.messages, items=outcome.items, unrouted=outcome.unrouted))
    if outcome.missing_year is not None:  # paused: the calendar does not know the year
        _say(catalog, "cli.digest_calendar_missing", year=outcome.missing_year)
        return EXIT_NOT_DONE
    if outcome.problem:
        _say(catalog, "cli.digest_problem", day=outcome.day.isoformat(), problem=outcome.problem)
        return EXIT_NOT_DONE
    return EXIT_OK


def _slack_error_text(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    error = response.get("error") if response is not None and hasattr(response, "get") else None
    return str(error) if error else _first_line(exc)


def cmd_sweep(args, settings: Settings) -> int:
    catalog = Catalog(settings.locale)
    clock = _clock(args, settings)
    try:
        bot, _ = _bot(settings, clock)
        report = bot.services.sweep()
    except _slack_errors() as exc:
        _say(catalog, "cli.slack_failed", error=_slack_error_text(exc))
        return EXIT_NOT_DONE
    print(catalog.t("cli.sweep_done", at=clock.now().astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M"),
                    deemed=report.deemed, sent=sum(report.sent.values()), held=report.held))
    if report.calendar_problem:  # a warning: what was due now was done
        _say(catalog, "cli.sweep_calendar", year=report.calendar_problem)
    if report.problem:  # follow-ups failing: not everything due was done
        print(report.problem, file=sys.stderr)
        return EXIT_NOT_DONE
    return EXIT_OK


def cmd_monthly(args, settings: Settings) -> int:
    """``rejectbot monthly [--month YYYY-MM] [--reissue]``: 0 posted or already
    there (or unchanged, or in progress elsewhere), 1 not all sent, 2 a bad month."""
    from bot.core.monthly import BadMonth, Month
    from bot.core.workcal import CalendarDataMissing
    from bot.services.monthly import MonthlyState

    catalog = Catalog(settings.locale)
    clock = _clock(args, settings)
    this_month = Month.of(clock.now().astimezone(settings.timezone).date())
    try:
        month = Month.parse(args.month) if args.month else this_month.previous()
    except BadMonth:
        raise UsageError("monthly.bad_month", text=args.month) from None
    if month >= this_month:
        raise UsageError("monthly.month_not_over", month=str(month))
    try:
        bot, _ = _bot(settings, clock)
        outcome = bot.services.post_monthly(month=month, reissue=args.reissue)
    except CalendarDataMissing as exc:
        _say(catalog, "cli.digest_calendar_missing", year=exc.year)
        return EXIT_NOT_DONE
    except _slack_errors() as exc:
        _say(catalog, "cli.slack_failed", error=_slack_error_text(exc))
        return EXIT_NOT_DONE
    link = outcome.link or ""
    if outcome.state is MonthlyState.POSTED:
        print(catalog.t("monthly.reissued" if outcome.version else "monthly.posted", month=str(month), link=link))
    elif outcome.state is MonthlyState.ALREADY_POSTED:
        print(catalog.t("monthly.already", month=str(month), link=link))
    elif outcome.state is MonthlyState.UNCHANGED:
        print(catalog.t("monthly.unchanged", month=str(month), link=link))
    elif outcome.state is MonthlyState.IN_PROGRESS:
        print(catalog.t("monthly.in_progress", month=str(month)))
    if outcome.waiting:
        print(catalog.t("monthly.dms_waiting", count=outcome.waiting))
    if outcome.problem:
        print(outcome.problem, file=sys.stderr)
        return EXIT_NOT_DONE
    return EXIT_OK


def _check_services(settings: Settings, routing, routing_path: Path) -> list[Problem]:
    """Problems only a live check finds: the database, the token, e-mail addresses."""
    from slack_sdk.errors import SlackApiError
    from sqlalchemy import text

    from bot.config import resolve_emails
    from bot.gateway import SlackGateway, UserNotFound, make_client
    from storage.db import make_engine

    problems: list[Problem] = []
    try:
        with make_engine(settings.database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error: report it, the operator fixes DATABASE_URL
        detail = (str(exc).splitlines() or [""])[0]
        problems.append(Problem("cli.database_unreachable", {"error": f"{type(exc).__name__}: {detail}"}))
    gateway = SlackGateway(make_client(settings.bot_token, settings.api_url))
    try:
        gateway.client.auth_test()
    except SlackApiError as exc:
        problems.append(Problem("cli.token_refused", {"error": exc.response.get("error")}))
        return problems
    except OSError as exc:
        problems.append(Problem("cli.slack_unreachable", {"url": settings.api_url, "error": str(exc)}))
        return problems
    if routing is not None and routing_emails(routing):
        def lookup(email: str) -> str:
            try:
                return gateway.lookup_user_by_email(email)
            except UserNotFound:
                problems.append(Problem("cli.email_unknown", {"email": email}, file=str(routing_path)))
                return email

        resolve_emails(routing, lookup)
    return problems


def cmd_check_config(args, settings_error: ConfigError | None) -> int:
    catalog = _catalog()
    problems: list[Problem] = list(settings_error.problems) if settings_error else []
    settings = None
    if settings_error is None:
        settings = Settings.from_env(os.environ)
    routing_path = Path(os.environ.get("ROUTING_FILE") or "routing.toml")
    try:
        routing = load_routing(routing_path)
    except ConfigError as exc:
        problems += exc.problems
        routing = None
    if settings is not None:
        problems += _check_services(settings, routing, routing_path)
    if problems:
        print(catalog.t("cli.problems_found", count=len(problems)))
        _print_problems(ConfigError(problems).render(catalog), indent="  ")
        if routing is not None:  # the calendar's coverage is worth knowing whatever else is wrong
            _print_calendar_coverage(routing, settings, catalog)
        return 1
    print(catalog.t("cli.config_ok", owners=len(routing.owners), channel=routing.channel, timezone=str(settings.timezone)))
    _print_calendar_coverage(routing, settings, catalog)
    return 0


def _print_calendar_coverage(routing, settings: Settings | None, catalog: Catalog) -> None:
    """Which years the working-day calendar covers, and by what."""
    from zoneinfo import ZoneInfo

    from bot.core.workcal import WorkCalendar
    from bot.services.calendar import coverage_lines

    tz = settings.timezone if settings is not None else ZoneInfo("Asia/Shanghai")
    today = SystemClock().now().astimezone(tz).date()
    print(catalog.t("calendar.coverage_title"))
    for line in coverage_lines(WorkCalendar(routing.calendar), catalog, today=today):
        print(f"  {line}")


def cmd_db(args, settings: Settings) -> int:
    if args.action == "backup":
        return cmd_db_backup(args, settings)
    _database(settings)
    print(Catalog(settings.locale).t("cli.db_upgraded", url=settings.database_url.split("@")[-1]))
    return 0


def cmd_db_backup(args, settings: Settings) -> int:
    """``rejectbot db backup FILE [--force]``: a consistent copy of the SQLite
    database, taken while the bot runs, with SQLite's online backup API (one
    step, in one read transaction: a snapshot; with WAL the bot's writers go
    on meanwhile). The copy is written beside FILE, checked with ``PRAGMA
    integrity_check`` and only then renamed to FILE, so a failed backup leaves
    no half-written FILE and an older backup in its place intact. An existing
    FILE is replaced only with ``--force``; the database itself never.
    PostgreSQL: refused, with the ``pg_dump`` command to use instead.
    Exit 0 written and checked; 1 the database could not be read or the copy
    not written or not sound; 2 bad usage (no FILE, FILE exists, PostgreSQL)."""
    import shlex
    import sqlite3
    from urllib.parse import quote

    from sqlalchemy.engine import URL, make_url

    catalog = Catalog(settings.locale)
    if not args.file:
        raise UsageError("cli.backup_needs_file")
    target = Path(args.file)
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite"):
        libpq = URL.create(  # libpq's form, without the password
            "postgresql", username=url.username, host=url.host, port=url.port, database=url.database, query=url.query,
        ).render_as_string(hide_password=False)
        _say(catalog, "cli.backup_postgresql", command=f"pg_dump --format=custom --file={shlex.quote(str(target))} {shlex.quote(libpq)}")
        return EXIT_USAGE
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        _say(catalog, "cli.backup_in_memory")
        return EXIT_USAGE
    source = Path(url.database)
    if not source.is_file():
        _say(catalog, "cli.backup_no_database", path=str(source))
        return EXIT_NOT_DONE
    if target.resolve() in {source.resolve(), *(source.resolve().with_name(source.name + s) for s in ("-wal", "-shm", "-journal"))}:
        _say(catalog, "cli.backup_onto_database", path=str(target))
        return EXIT_USAGE
    if target.exists() and not args.force:
        _say(catalog, "cli.backup_exists", path=str(target))
        return EXIT_USAGE
    if target.exists() and not target.is_file():
        _say(catalog, "cli.backup_not_a_file", path=str(target))
        return EXIT_USAGE
    if not target.parent.is_dir():
        _say(catalog, "cli.backup_no_directory", path=str(target.parent))
        return EXIT_USAGE
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        src = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=rw", uri=True, timeout=30)  # never creates one
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # every page in one step: one consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
                problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
                items = dst.execute("SELECT count(*) FROM item").fetchone()[0] if _has_table(dst, "item") else 0
            finally:
                dst.close()
        finally:
            src.close()
        if problems != ["ok"]:
            partial.unlink(missing_ok=True)
            _say(catalog, "cli.backup_unsound", problem="; ".join(problems[:3]))
            return EXIT_NOT_DONE
        with open(partial, "rb+") as copy:
            os.fsync(copy.fileno())
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        _say(catalog, "cli.backup_failed", path=str(target), error=_first_line(exc))
        return EXIT_NOT_DONE
    print(catalog.t("cli.backup_done", source=str(source), path=str(target), items=items, size=f"{target.stat().st_size / 1_048_576:.1f}"))
    return EXIT_OK


def _has_table(connection, name: str) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def cmd_demo(args) -> int:
    from bot.demo import run_demo

    env = (os.environ.get("BOT_LOCALE") or "").strip()
    locale = args.locale or (env if env in LOCALES else "en")
    if args.web:
        from bot.sandbox.web import serve

        return serve(locale=locale, host=args.host or "127.0.0.1", port=args.port or 0)
    if args.host is not None or args.port is not None:
        _say(_catalog(), "cli.demo_web_only")
        return EXIT_USAGE
    return run_demo(locale=locale)


def build_parser() -> argparse.ArgumentParser:
    codes = {"epilog": _catalog().t("cli.exit_codes"), "formatter_class": argparse.RawDescriptionHelpFormatter}
    parser = argparse.ArgumentParser(prog="rejectbot", description="Mistaken-rejection follow-up bot for Slack.", **codes)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = parser.add_subparsers(dest="command", required=True)
    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, **codes, **kwargs)  # every command's --help shows the codes

    run = command(
        "run", help="run the bot (Socket Mode, or --http); SIGTERM/SIGINT stop it cleanly",
        description="Run the bot in one process: requests are stored in the database's inbox before they are "
                    "acknowledged and worked on by threads of this process; the ticker runs the digest and sweep. "
                    "SIGTERM or SIGINT stops it (exit 0); unfinished requests stay in the inbox for the next start.",
    )
    run.add_argument("--http", action="store_true", help="serve POST /slack/events and GET /healthz on --port (all interfaces, 0.0.0.0)")
    run.add_argument("--port", type=int, default=3000, help="HTTP mode's port (default 3000)")
    run.add_argument("--health-port", type=int, default=None, metavar="N",
                     help="Socket Mode: also serve GET /healthz on port N (all interfaces, 0.0.0.0)")
    demo = command("demo", help="the whole workflow offline, against a built-in fake Slack")
    demo.add_argument("--locale", choices=["zh_CN", "en"], default=None, help="language of the demo (default: BOT_LOCALE when set, else en)")
    demo.add_argument("--web", action="store_true", help="serve the sandbox: the workflow in a local web page (Ctrl-C stops it)")
    demo.add_argument("--host", default=None, help="--web: the address to listen on (default 127.0.0.1: this computer only)")
    demo.add_argument("--port", type=int, default=None, help="--web: the port (default: a free one)")
    imp = command("import", help="import a callback export (CSV or XLSX)")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="show the report, change nothing")
    dig = command("digest", help="post the daily digest if it is due (idempotent)")
    dig.add_argument("--at", help="act as if it were this time (ISO 8601; BOT_TIMEZONE when no offset)")
    sw = command("sweep", help="deadlines, nudges and escalations due now (idempotent)")
    sw.add_argument("--at", help="act as if it were this time (ISO 8601; BOT_TIMEZONE when no offset)")
    mon = command("monthly", help="post the monthly notice of a month (idempotent); --reissue posts a marked correction")
    mon.add_argument("--month", help="YYYY-MM (default: the previous month)")
    mon.add_argument("--reissue", action="store_true", help="post a correction when the figures changed since the notice")
    mon.add_argument("--at", help="act as if it were this time (ISO 8601; BOT_TIMEZONE when no offset)")
    command("check-config", help="validate the environment and the routing file")
    db = command("db", help="database schema; a backup of a SQLite database (db backup FILE)")
    db.add_argument("action", choices=["upgrade", "backup"])
    db.add_argument("file", nargs="?", help="backup: the copy to write (SQLite only; PostgreSQL: pg_dump)")
    db.add_argument("--force", action="store_true", help="backup: replace FILE if it exists")
    return parser


def main(argv: list[str] | None = None) -> int:
    load_dotenv()
    args = build_parser().parse_args(argv)
    quiet = args.command in ("demo", "import", "check-config", "db")  # their output is the report
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    if args.command == "demo":
        return cmd_demo(args)
    needs_slack = args.command in ("run", "digest", "sweep", "monthly")
    try:
        settings = Settings.from_env(os.environ, require_slack=needs_slack or args.command == "check-config")
    except ConfigError as exc:
        if args.command == "check-config":
            return cmd_check_config(args, exc)
        _print_problems(exc.render(_catalog()), file=sys.stderr)
        return 2
    handlers = {"run": cmd_run, "import": cmd_import, "digest": cmd_digest, "sweep": cmd_sweep, "db": cmd_db, "monthly": cmd_monthly}
    if args.command == "check-config":
        return cmd_check_config(args, None)
    from slack_bolt.error import BoltError
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    try:
        return handlers[args.command](args, settings)
    except ConfigError as exc:
        _print_problems(exc.render(_catalog()), file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        _say(_catalog(), exc.key, **exc.params)
        return EXIT_USAGE
    except BoltError as exc:  # Bolt's auth.test at start-up: Slack refused the token
        _say(_catalog(), "cli.token_refused", error=_slack_error_text(exc.__context__ or exc))
        return EXIT_USAGE
    except (OperationalError, InterfaceError, PoolTimeout) as exc:  # the database is gone or refuses us
        log.debug("database error", exc_info=exc)
        _say(_catalog(), "cli.database_failed", error=_first_line(exc.orig if getattr(exc, "orig", None) else exc))
        return EXIT_NOT_DONE


if __name__ == "__main__":
    sys.exit(main())
