"""The ``rejectbot`` command line; the only place that loads ``.env``.

Everything it prints comes from the message catalogs, in ``BOT_LOCALE`` (or
zh_CN when that is unset or not a known locale)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from dotenv import load_dotenv

from bot.clock import Clock, FixedClock, SystemClock
from bot.config import ConfigError, Problem, Settings, load_routing, locale_from_env, routing_emails
from bot.i18n import Catalog

log = logging.getLogger("rejectbot")


def _catalog() -> Catalog:
    """The operator's language, even when the settings are broken."""
    return Catalog(locale_from_env(os.environ))


def _print_problems(lines: list[str], *, indent: str = "", file=None) -> None:
    for line in lines:
        print(f"{indent}✗ {line}", file=file)


def _parse_at(value: str, settings: Settings) -> datetime:
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=settings.timezone)


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
    if args.http and not settings.signing_secret:
        raise ConfigError([Problem("cli.run_http_needs_secret")])
    if not args.http and not settings.app_token:
        raise ConfigError([Problem("cli.run_needs_app_token")])
    if args.http:
        return _run_http(args, settings)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.scheduler import start_ticker

    bot, _ = _bot(settings, SystemClock())
    scheduler = start_ticker(bot.services, timezone=settings.timezone)
    try:
        SocketModeHandler(bot.app, settings.app_token).start()
    finally:
        scheduler.shutdown(wait=False)
    return 0


def _run_http(args, settings: Settings) -> int:
    """The acknowledging front in this process, the worker (the app and the
    scheduler) in a supervised child process; see ``bot.handoff``."""
    import multiprocessing
    import threading

    from bot.handoff import create_front_app, run_worker, supervise
    from bot.server import serve

    routing = load_routing(settings.routing_file)  # fail here, not in the child
    _, session_factory = _database(settings)
    context = multiprocessing.get_context("spawn")
    inbox = context.Queue()

    def start_worker():
        worker = context.Process(target=run_worker, args=(settings, inbox, routing), name="rejectbot-worker", daemon=True)
        worker.start()
        return worker

    stop = threading.Event()
    supervise(start_worker, stop=stop)
    try:
        serve(create_front_app(settings, inbox=inbox), session_factory, port=args.port)
    finally:
        stop.set()
    return 0


def cmd_import(args, settings: Settings) -> int:
    from bot.core.importing import ExportError
    from bot.services.importing import import_export, render_import_report

    catalog = Catalog(settings.locale)
    routing = load_routing(settings.routing_file)
    path = Path(args.file)
    if not path.is_file():
        print(catalog.t("cli.file_not_found", path=str(path)), file=sys.stderr)
        return 2
    _, session_factory = _database(settings)
    try:
        report = import_export(
            session_factory=session_factory, now=SystemClock().now(), timezone=settings.timezone,
            routing=routing, data=path.read_bytes(), filename=path.name,
            actor=os.environ.get("USER", "cli"), dry_run=args.dry_run,
        )
    except ExportError as exc:
        print(catalog.t(exc.key, **exc.params), file=sys.stderr)
        return 1
    print(render_import_report(report, catalog))
    return 1 if report.problems else 0


def cmd_digest(args, settings: Settings) -> int:
    clock: Clock = FixedClock(_parse_at(args.at, settings)) if args.at else SystemClock()
    bot, _ = _bot(settings, clock)
    outcome = bot.services.post_daily_digest()
    catalog = Catalog(settings.locale)
    print(catalog.t(f"cli.digest_{outcome.state}", day=outcome.day.isoformat(), messages=outcome.messages, items=outcome.items, unrouted=outcome.unrouted))
    if outcome.problem:  # something due is still not posted: the next run retries it
        print(outcome.problem, file=sys.stderr)
        return 1
    return 0


def cmd_sweep(args, settings: Settings) -> int:
    clock: Clock = FixedClock(_parse_at(args.at, settings)) if args.at else SystemClock()
    bot, _ = _bot(settings, clock)
    report = bot.services.sweep()
    catalog = Catalog(settings.locale)
    print(catalog.t("cli.sweep_done", at=clock.now().astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M"),
                    deemed=report.deemed, sent=sum(report.sent.values()), held=report.held))
    if report.calendar_problem:
        print(catalog.t("cli.sweep_calendar", year=report.calendar_problem), file=sys.stderr)
        return 1
    return 0


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
        return 1
    print(catalog.t("cli.config_ok", owners=len(routing.owners), channel=routing.channel, timezone=str(settings.timezone)))
    return 0


def cmd_db(args, settings: Settings) -> int:
    _database(settings)
    print(Catalog(settings.locale).t("cli.db_upgraded", url=settings.database_url.split("@")[-1]))
    return 0


def cmd_demo(args) -> int:
    from bot.demo import run_demo

    return run_demo(locale=args.locale)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rejectbot", description="Mistaken-rejection follow-up bot for Slack.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (Socket Mode, or --http)")
    run.add_argument("--http", action="store_true", help="serve POST /slack/events and GET /healthz")
    run.add_argument("--port", type=int, default=3000)
    demo = sub.add_parser("demo", help="the whole workflow offline, against a built-in fake Slack")
    demo.add_argument("--locale", choices=["zh_CN", "en"], default=None, help="language of the demo (default: en)")
    imp = sub.add_parser("import", help="import a callback export (CSV or XLSX)")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="show the report, change nothing")
    dig = sub.add_parser("digest", help="post the daily digest if it is due (idempotent)")
    dig.add_argument("--at", help="act as if it were this time (ISO 8601; BOT_TIMEZONE when no offset)")
    sw = sub.add_parser("sweep", help="deadlines, nudges and escalations due now (idempotent)")
    sw.add_argument("--at", help="act as if it were this time (ISO 8601; BOT_TIMEZONE when no offset)")
    sub.add_parser("check-config", help="validate the environment and the routing file")
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
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
    needs_slack = args.command in ("run", "digest", "sweep")
    try:
        settings = Settings.from_env(os.environ, require_slack=needs_slack or args.command == "check-config")
    except ConfigError as exc:
        if args.command == "check-config":
            return cmd_check_config(args, exc)
        _print_problems(exc.render(_catalog()), file=sys.stderr)
        return 2
    handlers = {"run": cmd_run, "import": cmd_import, "digest": cmd_digest, "sweep": cmd_sweep, "db": cmd_db}
    if args.command == "check-config":
        return cmd_check_config(args, None)
    try:
        return handlers[args.command](args, settings)
    except ConfigError as exc:
        _print_problems(exc.render(_catalog()), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
