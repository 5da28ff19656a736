"""HTTP mode: ``POST /slack/events`` and ``GET /healthz`` as a WSGI app,
served by waitress.

``POST /slack/events`` is the front of ``bot.handoff``: it verifies the
signature, answers ``url_verification`` and ``ssl_check`` itself, keeps a
modal open when its required text is blank, refuses malformed requests with
a 4xx (never a 500), and stores every other request in the inbox before it
acknowledges it.

Errors: none of its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from bot.handoff import HTTP, InboxPool, PayloadCheck, triage
from bot.health import Health
from bot.i18n import Catalog

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000  # Slack's payloads are a few kB; a view state can reach a few hundred


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def _text(status: int, text: str) -> Answer:
    return Answer(status, f"{text}\n".encode())


def _json(body: dict) -> Answer:
    return Answer(200, json.dumps(body).encode(), "application/json")


STATUS_LINES = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 404: "404 Not Found", 413: "413 Payload Too Large", 503: "503 Service Unavailable"}


class SlackFront:
    """What ``POST /slack/events`` does with one request."""

    def __init__(self, *, signing_secret: str, pool: InboxPool, catalog: Catalog, check: PayloadCheck | None = None, verifier: SignatureVerifier | None = None) -> None:
        self._verifier = verifier or SignatureVerifier(signing_secret)
        self._pool = pool
        self._catalog = catalog
        self._check = check

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """``headers`` with lower-case names."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        # isdigit() alone takes "²" (which int() refuses) and 5,000 digits; Slack's is Unix seconds
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return _text(401, "invalid timestamp")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        # Slack signs the raw body; SignatureVerifier also refuses a stale timestamp (5 minutes).
        if text is None or not signature or not self._verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
            return _text(401, "invalid signature")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        payload, refused = _parse(text, content_type)
        if refused:
            return _text(400, refused)
        if isinstance(payload, dict):
            if payload.get("type") == "url_verification":
                challenge = payload.get("challenge")
                return _json({"challenge": challenge}) if isinstance(challenge, str) else _text(400, "url_verification without a challenge")
            if payload.get("ssl_check") == "1":
                return Answer(200)
        verdict = triage(payload, catalog=self._catalog, check=self._check)
        if verdict.refuse:
            return _text(400, verdict.refuse)
        if verdict.answer is not None:
            return _json(verdict.answer)
        kept = {name: value for name, value in headers.items() if name == "content-type" or name.startswith("x-slack-")}
        try:
            self._pool.accept(mode=HTTP, body=text, headers=kept, dedup_key=verdict.dedup_key)
        except Exception:  # the database is away: no ack, so Slack retries (events) or the user sees it failed
            log.exception("could not store a request in the inbox")
            return _text(503, "cannot store the request now")
        return Answer(200)


def _parse(text: str, content_type: str) -> tuple[object, str | None]:
    """(payload, reason to refuse). JSON bodies are Events API envelopes;
    form bodies are slash commands, or interactivity as a ``payload`` field."""
    if content_type == "application/json":
        try:
            payload = json.loads(text)
        except ValueError:
            return None, "the body is not JSON"
        return (payload, None) if isinstance(payload, dict) else (None, "the body is not a JSON object")
    if content_type == "application/x-www-form-urlencoded":
        fields = {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}
        if "payload" in fields:
            try:
                payload = json.loads(fields["payload"])
            except ValueError:
                return None, "the payload field is not JSON"
            return (payload, None) if isinstance(payload, dict) else (None, "the payload field is not a JSON object")
        if fields.get("ssl_check") == "1" or "command" in fields:
            return fields, None
        return None, "a form without a command or a payload"
    return None, "unsupported content type"


def make_wsgi_app(front: SlackFront | None, health: Health) -> Callable:
    """``POST /slack/events`` (when there is a front) and ``GET /healthz``."""

    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if front is not None and path == "/slack/events" and method == "POST":
            answer = _slack(front, environ)
        elif path == "/healthz" and method in ("GET", "HEAD"):
            report = health.report()
            answer = Answer(200 if report.ok else 503, report.text.encode())
        else:
            answer = _text(404, "not found")
        start_response(STATUS_LINES.get(answer.status, f"{answer.status} Error"),
                       [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body)))])
        return [answer.body] if method != "HEAD" else []

    return wsgi


def _slack(front: SlackFront, environ: dict) -> Answer:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _text(400, "bad content length")
    if length > MAX_BODY:
        return _text(413, "too large")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    return front.handle(body, headers)


def make_server(wsgi: Callable, *, port: int, host: str = "0.0.0.0", threads: int = 8):
    """A waitress server, listening; ``run()`` serves until interrupted."""
    from waitress.server import create_server

    server = create_server(wsgi, host=host, port=port, threads=threads, ident="rejectbot")
    log.info("serving on %s:%s", host, server.effective_port)
    return server
