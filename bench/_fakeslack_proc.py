"""``FakeSlack`` in a child process, so that its CPU (parsing, Block Kit
checks, copying messages) does not compete for this process's GIL, as Slack's
servers would not.

The child serves on 127.0.0.1, port 0, and answers one-line commands on stdin:
``hook NAME [CHANNEL TS]`` (a response_url, bound to a message), ``user ID [LOCALE]``
(a member of the workspace),
``limits on|off|reset`` (Slack's rate limits, see ``RemoteFakeSlack.limits``), ``calls`` (counts per method, failures and
429s as JSON), ``messages CHANNEL`` (the channel's messages, thread replies
included, as JSON),
``quit``. It exits on ``quit`` or when its stdin closes.

With ``watch=True`` the child also reports, as they happen, the calls people
wait for — ``chat.update``, ``views.open`` and response_url posts — on a pipe of their own: one
JSON line per call, stamped with ``time.monotonic()`` (system-wide on Linux,
so comparable with the parent's) when the fake has recorded it and is about
to answer. ``RemoteFakeSlack.on_call`` receives them in a reader thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]


class RemoteFakeSlack:
    """The parent's handle on a ``FakeSlack`` running in a child process."""

    def __init__(self, *, watch: bool = False, now: float | None = None, socket_mode_url: str | None = None, rate_limits: bool = False) -> None:
        """``now``: the epoch time the fake's clock starts at (it then runs at
        the real pace), for benches whose app runs at a fixed past time —
        otherwise Slack would judge the app's schedules by today's date.
        ``rate_limits``: the fake enforces Slack's rate limits
        (``FakeSlack(rate_limits=True)``, figures in docs/slack-limits.md)."""
        self.on_call: Callable[[dict], None] | None = None  # set it before the calls you watch are made
        self._reader: threading.Thread | None = None
        args, pass_fds, read_fd = [sys.executable, "-m", "bench._fakeslack_proc"], (), None
        if now is not None:
            args.append(f"--now={now}")
        if socket_mode_url is not None:  # what apps.connections.open answers: the caller's Socket Mode end
            args.append(f"--socket-url={socket_mode_url}")
        if rate_limits:
            args.append("--rate-limits")
        if watch:
            read_fd, write_fd = os.pipe()
            args.append(f"--watch-fd={write_fd}")
            pass_fds = (write_fd,)
        self._child = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
            pass_fds=pass_fds,
        )
        if watch:
            os.close(write_fd)  # the child holds the only writer: the reader sees EOF when it exits
            self._reader = threading.Thread(target=self._read_calls, args=(read_fd,), name="fake-watch", daemon=True)
            self._reader.start()
        line = self._child.stdout.readline().split()
        if not line or line[0] != "READY":
            self.close()
            raise RuntimeError(f"fake Slack child did not start: {line}")
        self.api_url = line[1]

    def _read_calls(self, fd: int) -> None:
        with os.fdopen(fd, encoding="utf-8") as pipe:
            for line in pipe:
                if self.on_call is not None:
                    self.on_call(json.loads(line))

    def _ask(self, command: str) -> str:
        self._child.stdin.write(command + "\n")
        self._child.stdin.flush()
        return self._child.stdout.readline().strip()

    def add_user(self, user: str, *, locale: str = "zh-CN") -> None:
        """``user`` is a member of the workspace (``users.info`` answers for
        them, with ``locale``), as every person the app hears from is on Slack."""
        if self._ask(f"user {user} {locale}") != "ok":
            raise RuntimeError(f"the fake refused 'user {user}'")

    def response_url(self, name: str, *, channel: str | None = None, ts: str | None = None) -> str:
        """A response_url; bound to ``channel`` and ``ts`` (the clicked
        message), ``replace_original`` replaces that message, as Slack's do."""
        return self._ask(f"hook {name} {channel} {ts}" if channel and ts else f"hook {name}")

    def limits(self, setting: str) -> None:
        """``on``/``off``: enforce Slack's rate limits (``FakeSlack(rate_limits=True)``,
        response_url's 5 uses included); ``reset``: forget the calls counted
        so far (the next burst starts from an idle workspace)."""
        if self._ask(f"limits {setting}") != "ok":
            raise RuntimeError(f"the fake refused 'limits {setting}'")

    def calls(self) -> dict:
        """``{"methods": {method: count}, "failed": n, "ratelimited": n (429s, among the failed), "first_failure": str | None}``"""
        return json.loads(self._ask("calls"))

    def count(self, method: str) -> int:
        return int(self._ask(f"count {method}"))

    def messages(self, channel: str) -> list[dict]:
        """The channel's live messages, thread replies included, oldest first
        (Slack's message objects; ``thread_ts`` is ``None`` at top level)."""
        return json.loads(self._ask(f"messages {channel}"))

    def close(self) -> None:
        if self._child.poll() is None:
            try:
                self._child.stdin.write("quit\n")
                self._child.stdin.close()
            except OSError:
                pass
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)

    def __enter__(self) -> RemoteFakeSlack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


WATCHED = ("chat.update", "views.open", "response_url")


def _params(raw: str) -> dict:
    """A Web API request's parameters: a JSON body (as ``WebClient`` sends
    blocks and views) or a form."""
    if raw.lstrip().startswith("{"):
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return body if isinstance(body, dict) else {}
    params = dict(parse_qsl(raw, keep_blank_values=True))
    if isinstance(params.get("blocks"), str):
        try:
            params["blocks"] = json.loads(params["blocks"])
        except json.JSONDecodeError:
            params["blocks"] = None
    return params


def _watched(path: str, raw: str, answer: tuple, hooks: dict) -> dict | None:
    """What the parent needs to know of a watched call: the message it
    changed and which items still show buttons there (``act-<id>`` blocks),
    or the trigger a modal was opened with; the Slack error if it failed.
    A response_url post says its hook's name, whether it replaced the
    message the hook is bound to (``hooks``: name -> (channel, ts)), and
    that message."""
    url = urlsplit(path).path
    method = "response_url" if url.startswith("/hooks/") else url.removeprefix("/api/")
    if method not in WATCHED:
        return None
    params, body = _params(raw), answer[1]
    if method == "response_url":
        name = unquote(url.removeprefix("/hooks/"))
        channel, ts = hooks.get(name, (None, None))
        call = {"method": method, "ok": answer[0] == 200, "hook": name, "replace": bool(params.get("replace_original"))}
        if not call["ok"]:
            call["error"] = str(body)[:200]
        params = {**params, "channel": channel, "ts": ts}
    else:
        call = {"method": method, "ok": isinstance(body, dict) and bool(body.get("ok"))}
        if not call["ok"]:
            call["error"] = body.get("error") if isinstance(body, dict) else str(body)[:200]
    if method in ("chat.update", "response_url"):
        blocks = params.get("blocks") if isinstance(params.get("blocks"), list) else []
        call |= {
            "channel": params.get("channel"), "ts": params.get("ts"),
            "buttons": [b["block_id"][4:] for b in blocks if isinstance(b, dict) and str(b.get("block_id", "")).startswith("act-")],
        }  # fmt: skip
    else:
        call["trigger_id"] = params.get("trigger_id")
    return call


def _watching_fake(write_fd: int, options: dict):
    """A ``FakeSlack`` that reports watched calls on ``write_fd`` (bench only:
    it wraps the fake's request entry point rather than changing the fake)."""
    from bot.fakeslack import FakeSlack

    pipe = os.fdopen(write_fd, "w", encoding="utf-8")
    lock = threading.Lock()

    class WatchingFakeSlack(FakeSlack):
        def _dispatch(self, path, raw, headers):  # type: ignore[override]
            answer = super()._dispatch(path, raw, headers)
            recorded = time.monotonic()
            if (call := _watched(path, raw, answer, self._hooks)) is not None:
                call["t"] = recorded
                with lock:
                    pipe.write(json.dumps(call) + "\n")
                    pipe.flush()
            return answer

    return WatchingFakeSlack(**options)


def _serve() -> None:
    from bot.fakeslack import FakeSlack, server

    # socketserver listens with a backlog of 5: with dozens of clients calling
    # at once (each WebClient call opens a connection) the kernel drops SYNs,
    # and each drop costs the caller a 1 s retransmit — a delay of the fake's
    # making, not ours or Slack's. This child's fake listens with a longer queue.
    server._Server.request_queue_size = 128
    watch_fd = next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--watch-fd=")), None)
    start = next((float(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--now=")), None)
    offset = 0.0 if start is None else start - time.time()
    options: dict = {"clock": lambda: time.time() + offset} if start is not None else {}
    socket_url = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--socket-url=")), None)
    if socket_url is not None:
        options["socket_mode_url"] = socket_url
    if "--rate-limits" in sys.argv[1:]:
        options["rate_limits"] = True
    with (FakeSlack(**options) if watch_fd is None else _watching_fake(watch_fd, options)) as fake:
        print(f"READY {fake.api_url}", flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "hook":
                name, *bound = argument.split()
                channel, ts = bound if len(bound) == 2 else (None, None)
                print(fake.response_url(name, channel=channel, ts=ts), flush=True)
            elif command == "user":  # a member of the workspace: users.info knows them, in the locale given
                user, _, locale = argument.partition(" ")
                fake.set_user(user, locale=locale or "zh-CN")
                print("ok", flush=True)
            elif command == "limits":  # bench only: the fake's limits switched on/off, its counts forgotten
                with fake._lock:
                    if argument in ("on", "off"):
                        fake._rate_limits = argument == "on"
                    fake._windows.clear()
                print("ok" if argument in ("on", "off", "reset") else "?", flush=True)
            elif command == "messages":
                messages = [m for (channel, _), m in fake.messages.items() if channel == argument]
                print(json.dumps(messages, ensure_ascii=False), flush=True)
            elif command == "count":
                print(len(fake.calls_to(argument)), flush=True)
            elif command == "calls":
                calls = fake.calls
                failed = [c for c in calls if c.error]
                print(json.dumps({
                    "methods": Counter(c.method for c in calls),
                    "failed": len(failed),
                    "ratelimited": sum(1 for c in failed if c.status == 429),
                    "first_failure": repr(failed[0])[:300] if failed else None,
                }), flush=True)  # fmt: skip
            elif command == "quit":
                break
            else:
                print("?", flush=True)


if __name__ == "__main__":
    _serve()
