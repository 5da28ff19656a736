"""``rejectbot demo --web``: the sandbox page, served by Flask under waitress.

The page (``templates/index.html``, ``static/``: plain HTML, CSS and a little
JavaScript, nothing fetched from elsewhere) polls ``GET /api/state`` for what
the chosen person sees, and posts what they do to ``/api/*``; `Sandbox` turns
each into the signed request Slack would send the app. Files the bot uploaded
are served from the fake Slack's store at ``/files/<id>``.

Errors raised: none; `Busy` answers 409, `Gone` 404, `Refused` and a bad request 400.
"""

from __future__ import annotations

import mimetypes
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, jsonify, render_template, request
from waitress import create_server

from bot.sandbox.state import PEOPLE, Busy, Gone, Refused, Sandbox

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# The page loads nothing but its own files, runs no inline script, and is framed by nobody: text
# that slipped through escaping could not run, and nothing is fetched from the internet.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_web(sandbox: Sandbox) -> Flask:
    """The Flask app of the page, on ``sandbox``."""
    web = Flask(__name__, static_folder="static", template_folder="templates")
    t = sandbox.catalog.t

    @web.after_request
    def secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    def person(data: dict[str, Any]) -> str:
        user = str(data.get("user") or "")
        if user not in PEOPLE:
            raise ValueError(t("sandbox.error_person"))
        return user

    def act(do: Callable[[dict[str, Any]], Any]) -> tuple[Response, int]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify(error=t("sandbox.error_request")), 400
        try:
            result = do(data)
        except Busy:
            return jsonify(error=t("sandbox.error_busy")), 409
        except Gone:
            return jsonify(error=t("sandbox.error_gone")), 404
        except Refused as exc:
            return jsonify(error=str(exc)), 400
        except (ValueError, KeyError, TypeError) as exc:
            return jsonify(error=t("sandbox.error_request") + f" ({exc})"), 400
        return jsonify(ok=True, result=result), 200

    @web.get("/")
    def index() -> str:
        return render_template(
            "index.html", t=sandbox.texts(), lang="zh-CN" if sandbox.locale == "zh_CN" else "en",
            setup={"people": sandbox.people(), "texts": sandbox.texts(), "emoji": sandbox.emoji()},
        )

    @web.get("/api/state")
    def state() -> tuple[Response, int]:
        user = request.args.get("user", "")
        if user not in PEOPLE:
            return jsonify(error=t("sandbox.error_person")), 400
        if request.args.get("since") == sandbox.version():
            return jsonify(version=sandbox.version(), unchanged=True), 200
        return jsonify(sandbox.snapshot(user)), 200

    @web.post("/api/command")
    def command() -> tuple[Response, int]:
        return act(lambda d: sandbox.command(person(d), str(d["text"]), channel=str(d["channel"])))

    @web.post("/api/click")
    def click() -> tuple[Response, int]:
        return act(lambda d: sandbox.click(
            person(d), action_id=str(d["action_id"]), value=str(d.get("value") or ""), block_id=str(d["block_id"]),
            channel=d.get("channel") or None, ts=d.get("ts") or None,
        ))

    @web.post("/api/react")
    def react() -> tuple[Response, int]:
        return act(lambda d: sandbox.react(person(d), channel=str(d["channel"]), ts=str(d["ts"]), name=str(d["name"]), added=bool(d.get("added", True))))

    @web.post("/api/reply")
    def reply() -> tuple[Response, int]:
        def do(d: dict[str, Any]) -> None:
            text = str(d.get("text") or "").strip()
            if not text:
                raise ValueError("text")
            sandbox.reply(person(d), channel=str(d["channel"]), thread_ts=d.get("thread_ts") or None, text=text)
        return act(do)

    @web.post("/api/home")
    def home() -> tuple[Response, int]:
        return act(lambda d: sandbox.open_home(person(d)))

    @web.post("/api/submit")
    def submit() -> tuple[Response, int]:
        return act(lambda d: sandbox.submit(person(d), view_id=str(d["view_id"]), values=dict(d.get("values") or {})))

    @web.post("/api/close")
    def close() -> tuple[Response, int]:
        return act(lambda d: sandbox.close_modal(person(d)))

    @web.post("/api/clock")
    def clock() -> tuple[Response, int]:
        return act(lambda d: sandbox.advance(str(d.get("how"))))

    @web.post("/api/replay")
    def replay() -> tuple[Response, int]:
        return act(lambda d: sandbox.replay() and None)

    @web.get("/files/<file_id>")
    def file(file_id: str) -> tuple[Response, int]:
        try:
            name, content = sandbox.file(file_id)
        except Gone:
            return jsonify(error=t("sandbox.error_gone")), 404
        except Refused as exc:
            return jsonify(error=str(exc)), 400
        response = Response(content, mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream")
        disposition = "attachment" if request.args.get("download") else "inline"
        response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(name, safe='')}"
        return response, 200

    return web


def announce(t: Callable[..., str], host: str, port: int) -> list[str]:
    """What ``rejectbot demo --web`` prints: where the page is, who can reach it, how to stop it."""
    address = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    reach = t("sandbox.local_only", host=host) if host in LOCAL_HOSTS else t("sandbox.not_local", host=host)
    return [t("sandbox.serving", address=address), reach, t("sandbox.stop")]


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(*, locale: str, host: str = "127.0.0.1", port: int = 0) -> int:
    """Build the sandbox, print where it listens, serve until Ctrl-C; 2 (said
    on stderr) when it cannot listen there: the port taken, the host unknown."""
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(locale=locale, workdir=Path(tmp))
        try:
            try:
                server = create_server(create_web(sandbox), host=host, port=port, threads=4)
            except (OSError, ValueError) as exc:  # waitress: ValueError for a host it cannot resolve
                print(sandbox.catalog.t("sandbox.cannot_listen", host=host, port=port, reason=str(exc).rstrip(".")), file=sys.stderr)
                return 2
            print("\n".join(announce(sandbox.catalog.t, host, server.effective_port)), flush=True)
            signal.signal(signal.SIGTERM, _stop)  # as Ctrl-C: the temporary world is removed either way
            signal.signal(signal.SIGINT, _stop)
            try:
                server.run()
            except KeyboardInterrupt:
                pass
            finally:
                server.close()
        finally:
            sandbox.close()
    return 0
