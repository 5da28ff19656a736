"""HTTP mode: ``POST /slack/events`` and ``GET /healthz`` as a WSGI app,
served by waitress (a production WSGI server with a thread pool, which suits
Bolt's synchronous app)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from storage.db import SessionFactory

log = logging.getLogger(__name__)


def make_wsgi_app(app: App, session_factory: SessionFactory) -> Callable:
    slack = SlackRequestHandler(app)

    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            try:
                with session_factory() as session:
                    session.exec(text("SELECT 1"))
            except Exception:
                log.exception("health check: the database is unreachable")
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"database unreachable\n"]
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return wsgi


def serve(app: App, session_factory: SessionFactory, *, port: int, host: str = "0.0.0.0", threads: int = 16) -> None:
    from waitress import serve as waitress_serve

    log.info("serving POST /slack/events and GET /healthz on %s:%s", host, port)
    waitress_serve(make_wsgi_app(app, session_factory), host=host, port=port, threads=threads, ident="rejectbot")
