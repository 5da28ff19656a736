"""Is a signed Slack payload usable at all? One check for every front: the
HTTP front calls ``malformed_reason`` before it accepts a request, and the app
runs it as a global middleware (``register``), so Socket Mode and the worker
are covered too. A malformed request is answered 400 with the reason, the
person who sent it (when there is one) gets a private "this button has
expired" reply, and nothing is stored.

Events that are well formed but that the bot does not act on (a message
subtype, a reaction on a file, an event type we do not use) are not
malformed: they are acknowledged (200) and ignored, because any other status
makes Slack retry them and, after many failures, disable the app's events
(https://api.slack.com/apis/events-api#failing).

Errors raised: none.
"""

import logging
import re
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk.errors import SlackApiError

from bot.core.modals import read_item_metadata
from bot.ids import ActionId, ViewId
from bot.services import Services
from handlers.context import clicked_id, reply_to_from
from handlers.events import handle_other_event

log = logging.getLogger(__name__)

# Our buttons whose value is an item's or a thread's id.
ID_BUTTONS = frozenset({
    ActionId.CONFIRM, ActionId.DISPUTE, ActionId.FIX, ActionId.UPHOLD, ActionId.OVERRULE,
    ActionId.REMIND_OWNER, ActionId.CONFIRM_FOR_OWNER,
})
# Our buttons that open a modal: views.open needs the click's trigger_id.
MODAL_BUTTONS = frozenset({ActionId.DISPUTE, ActionId.FIX, ActionId.OVERRULE})
# Our modals whose private_metadata holds the item's id.
ITEM_MODALS = frozenset({ViewId.DISPUTE, ViewId.OVERRULE, ViewId.FIX})
# Interactivity payloads (https://api.slack.com/reference/interaction-payloads): all name their user.
INTERACTIVE = frozenset({"block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion", "interactive_message"})
_MAX_SHOWN = 40


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _event_reason(payload: dict) -> str | None:
    event = payload.get("event")
    if not isinstance(event, dict):
        return "an event_callback without an event object"
    if not _nonempty_str(event.get("type")):
        return "an event without a type"
    return None


def _actions_reason(payload: dict) -> str | None:
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        return "block_actions without actions"
    for action in actions:
        if not isinstance(action, dict) or not _nonempty_str(action.get("action_id")):
            return "block_actions with an action that has no action_id"
        action_id = action["action_id"]
        if action_id in ID_BUTTONS and clicked_id(action) is None:
            return f"button {action_id} carries {_shown(action.get('value'))} where an id belongs"
        if action_id in MODAL_BUTTONS and not _nonempty_str(payload.get("trigger_id")):
            return f"button {action_id} opens a modal but the click has no trigger_id"
    return None


def _view_reason(payload: dict) -> str | None:
    view = payload.get("view")
    if not isinstance(view, dict) or not _nonempty_str(view.get("callback_id")):
        return f"{payload['type']} without a view and its callback_id"
    if view["callback_id"] in ITEM_MODALS:
        metadata = view.get("private_metadata")
        if not isinstance(metadata, str) or read_item_metadata(metadata) is None:
            return f"modal {view['callback_id']} carries {_shown(metadata)} where its item's id belongs"
    return None


def malformed_reason(payload: dict) -> str | None:
    """A short reason when this parsed payload (a slash command's fields, an
    interactivity payload or an Events API envelope) is unusable, else None."""
    if not isinstance(payload, dict):
        return "the payload is not a JSON object"
    if "command" in payload and "type" not in payload:  # a slash command's form fields
        return None if _nonempty_str(payload.get("user_id")) else "a command without a user id"
    kind = payload.get("type")
    if not _nonempty_str(kind):
        return "a payload without a type"
    if kind == "event_callback":
        return _event_reason(payload)
    if kind not in INTERACTIVE:
        return None  # url_verification, app_rate_limited, …: Bolt answers them
    user = payload.get("user")
    if not isinstance(user, dict) or not _nonempty_str(user.get("id")):
        return f"{kind} without a user id"
    if kind == "block_actions":
        return _actions_reason(payload)
    if kind in ("view_submission", "view_closed"):
        return _view_reason(payload)
    return None


class RefuseMalformed(Middleware):
    """Global middleware: a malformed request is answered 400 and told, not
    run. A ``Middleware`` subclass, not a function: Bolt builds a function
    middleware's arguments (``action`` = ``body["actions"][0]``, …) first, and
    that alone raises on the payloads refused here."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 (Bolt's name)
        reason = malformed_reason(req.body)
        if reason is None:
            return next()
        log.warning("malformed request refused (400): %s", reason)
        reply_to = reply_to_from(req.body) if req.body.get("type") in INTERACTIVE else None
        if reply_to is not None:
            try:
                self.services.reply(reply_to, "answers.stale_button")
            except (SlackApiError, OSError) as exc:  # the 400 stands; the reply is a courtesy
                log.warning("could not tell %s that their request was refused: %s", reply_to.user, exc)
        return BoltResponse(status=400, body=reason)


def register(app: App, services: Services) -> None:
    """The middleware, and the catch-all for events no listener acts on.
    Call it after every other surface: the catch-all must come last."""
    app.middleware(RefuseMalformed(services))
    app.event(re.compile(r".*"))(handle_other_event)
