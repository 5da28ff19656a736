"""The baseline of ``bench_clicks``: a bare Bolt app in a process of its own,
configured and served like ``rejectbot run --http``, doing the least a click
can do — no database, no services.

- ``slack_bolt.App`` with the bench's signing secret, request verification on,
  a ``WebClient`` pointed at the fake Slack, and ``process_before_response``
  as our HTTP mode sets it (``PROCESS_BEFORE_RESPONSE``);
- served by waitress on 127.0.0.1 with the thread count ``rejectbot run --http``
  uses (``server_threads``);
- Confirm (``ActionId.CONFIRM``): ``ack()``, then ``chat.update`` of the
  clicked message with the blocks the click carried, the clicked item's
  buttons replaced by a line of text, then the private answer through the
  click's ``response_url`` (``respond``), as ours answers;
- Dispute (``ActionId.DISPUTE``): ``ack()``, then ``views.open`` with the
  same modal as ours (``bot.core.modals.dispute_modal``, pure).

Run by the bench as ``python -m bench._bare_bolt_proc API_URL``; prints
``READY <port>`` and serves until its stdin closes. With ``--socket`` it
connects in Socket Mode instead, as ``rejectbot run`` does by default: the
same ``slack_sdk`` built-in ``SocketModeClient`` (through Bolt's
``SocketModeHandler``), the URL from ``apps.connections.open`` at API_URL;
it prints ``READY 0`` once connected. ``--threads N`` gives waitress's
thread count (default: ``server_threads()``, which imports ``bot.server``
to read it — 40 MB of our modules the bare app would then carry: a bench
measuring memory passes the figure instead).
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading

import waitress
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bench._common import SIGNING_SECRET
from bot.core.modals import dispute_modal
from bot.gateway import make_client
from bot.i18n import Catalog
from bot.ids import ActionId

# Our HTTP mode's value: ``rejectbot run --http`` creates its app with
# process_before_response=True. Change both together if ours changes.
PROCESS_BEFORE_RESPONSE = True


def server_threads() -> int:
    """The thread count ``rejectbot run --http`` serves with: the default of
    ``bot.server``'s server factory (``make_server``, or ``serve`` before it)."""
    from bot import server

    for name in ("make_server", "serve"):
        factory = getattr(server, name, None)
        parameter = inspect.signature(factory).parameters.get("threads") if callable(factory) else None
        if parameter is not None and isinstance(parameter.default, int):
            return parameter.default
    raise RuntimeError("bot.server has no server factory with a default thread count: update the baseline")


def create_bare_app(api_url: str) -> App:
    app = App(
        client=make_client("xoxb-bench", api_url), signing_secret=SIGNING_SECRET,
        request_verification_enabled=True, process_before_response=PROCESS_BEFORE_RESPONSE,
    )
    catalog = Catalog("zh_CN")

    @app.action(ActionId.CONFIRM)
    def confirm(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        item = action["value"]
        blocks = [
            {"type": "context", "block_id": f"state-{item}", "elements": [{"type": "mrkdwn", "text": "✅"}]}
            if block.get("block_id") == f"act-{item}" else block
            for block in body["message"]["blocks"]
        ]  # fmt: skip
        client.chat_update(
            channel=body["container"]["channel_id"], ts=body["container"]["message_ts"],
            text=body["message"].get("text") or "✅", blocks=blocks,
        )
        respond(text="✅", response_type="ephemeral", replace_original=False)  # the private answer, as ours sends

    @app.action(ActionId.DISPUTE)
    def dispute(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        view = dispute_modal(
            item_id=int(action["value"]), order_no=action["value"], channel=body["container"]["channel_id"], catalog=catalog,
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    return app


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = create_bare_app(sys.argv[1])
    if "--socket" in sys.argv[2:]:
        from slack_bolt.adapter.socket_mode import SocketModeHandler  # slack_sdk's built-in client, as bot.socket_mode

        handler = SocketModeHandler(app, app_token="xapp-bench")
        handler.connect()
        print("READY 0", flush=True)
        sys.stdin.read()
        handler.close()
        return
    argv = sys.argv[2:]
    threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv else server_threads()
    server = waitress.create_server(SlackRequestHandler(app), host="127.0.0.1", port=0, threads=threads, ident="bench-bare")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    print(f"READY {server.effective_port}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.close()
    server.task_dispatcher.shutdown(timeout=5)


if __name__ == "__main__":
    main()
