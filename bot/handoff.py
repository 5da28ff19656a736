"""HTTP mode in two processes: the front acknowledges, the worker works.

Slack wants every request acknowledged within 3 seconds, and under load the
work behind a request (a transaction, ``chat.update``, the reply) would
compete for the interpreter with the threads that are trying to acknowledge.
So ``rejectbot run --http`` splits them:

- the **front** (``create_front_app``) is a Bolt app that verifies each
  request's signature, acknowledges it at once — keeping a modal open with an
  error when its required text is blank — and hands the raw request to an
  inbox;
- the **worker** (``run_worker``, in a child process) is the whole app from
  ``create_app``; it takes requests from the inbox and dispatches them, and
  runs the scheduler.

Every use case is idempotent, so a request the worker sees twice does no
harm; one acknowledged while the worker is down is lost with it (the user
sees no answer and can repeat the command), which the front's supervisor
limits by restarting a worker that died.

Errors: none of its own.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from slack_bolt import Ack, App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.config import Settings
from bot.core.routing import Routing
from bot.i18n import Catalog
from bot.ids import COMMAND
from handlers.views import MODAL_TEXT, blank_text_errors

log = logging.getLogger(__name__)
WORKER_THREADS = 4  # overlap the worker's Slack calls; its CPU is one core anyway


class Inbox(Protocol):
    def put(self, item: object) -> None: ...
    def get(self) -> object: ...


@dataclass(frozen=True, slots=True)
class Handoff:
    """A verified request, as the worker dispatches it."""

    body: str
    headers: dict


def _hand_off(ack: Ack, request: BoltRequest, *, inbox: Inbox) -> None:
    ack()
    inbox.put(Handoff(request.raw_body, dict(request.headers)))


def _hand_off_event(request: BoltRequest, *, inbox: Inbox) -> None:
    inbox.put(Handoff(request.raw_body, dict(request.headers)))  # Bolt acks events itself


def _hand_off_submission(ack: Ack, request: BoltRequest, view: dict, *, inbox: Inbox, catalog: Catalog) -> None:
    errors = blank_text_errors(view, catalog)
    if errors:
        ack(response_action="errors", errors=errors)  # nothing to hand off: the modal stays open
        return
    _hand_off(ack, request, inbox=inbox)


def create_front_app(settings: Settings, *, inbox: Inbox) -> App:
    """The acknowledging front: signature checks, acks, hand-offs; no database."""
    def authorize(enterprise_id=None, team_id=None, user_id=None) -> AuthorizeResult:
        # The front never calls Slack (the worker does), so it needs no auth.test.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    app = App(
        client=WebClient(base_url=settings.api_url),
        signing_secret=settings.signing_secret,
        authorize=authorize,
        ignoring_self_events_enabled=False,  # the worker filters the bot's own events
        process_before_response=True,  # the hand-off is the whole job: answer when it is done
    )
    app.command(COMMAND)(partial(_hand_off, inbox=inbox))
    app.action(re.compile(".+"))(partial(_hand_off, inbox=inbox))
    submission = partial(_hand_off_submission, inbox=inbox, catalog=Catalog(settings.locale))
    for callback_id in MODAL_TEXT:
        app.view(callback_id)(submission)
    for event in ("reaction_added", "reaction_removed", "message"):
        app.event(event)(partial(_hand_off_event, inbox=inbox))
    return app


def drain(inbox: Inbox, dispatch: Callable[[BoltRequest], object], *, stop: object = None) -> None:
    """Dispatch every request from ``inbox`` until ``stop`` arrives."""
    with ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="worker") as pool:
        while (handoff := inbox.get()) is not stop:
            pool.submit(_dispatch_logged, dispatch, handoff)


def _dispatch_logged(dispatch: Callable[[BoltRequest], object], handoff: Handoff) -> None:
    try:
        dispatch(BoltRequest(body=handoff.body, headers=handoff.headers))
    except Exception:  # a listener's own errors go to Bolt's error handler; this is Bolt failing
        log.exception("the worker could not dispatch a request")


def run_worker(settings: Settings, inbox: Inbox, routing: Routing | None = None, *, ticker: bool = True) -> None:
    """The worker process: the whole app, the scheduler (unless ``ticker`` is
    off, as in benchmarks), and the inbox until ``None`` arrives."""
    from bot.app import create_app
    from bot.clock import SystemClock
    from bot.gateway import make_client
    from bot.scheduler import start_ticker
    from storage.db import make_engine, make_session_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s worker %(name)s: %(message)s")
    session_factory = make_session_factory(make_engine(settings.database_url))
    bot = create_app(
        settings, client=make_client(settings.bot_token, settings.api_url), session_factory=session_factory,
        clock=SystemClock(), routing=routing, process_before_response=True, verify_requests=False,
    )
    scheduler = start_ticker(bot.services, timezone=settings.timezone) if ticker else None
    try:
        drain(inbox, bot.app.dispatch)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def supervise(start_worker: Callable[[], object], *, every: float = 5.0, stop: threading.Event) -> threading.Thread:
    """Restart the worker whenever it has died, until ``stop`` is set."""

    def watch() -> None:
        worker = start_worker()
        while not stop.wait(every):
            if not worker.is_alive():
                log.error("the worker process died (exit code %s); starting a new one", worker.exitcode)
                worker = start_worker()

    thread = threading.Thread(target=watch, name="supervisor", daemon=True)
    thread.start()
    return thread
