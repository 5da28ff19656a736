"""The App Home tab: ``app_home_opened`` publishes the person's Home; its
"and N more" button opens the whole list.

The Home's item and letter buttons carry the digest's, the re-verification
DM's and the letter DM's action ids: ``handlers.actions`` handles them, the
same handlers for every surface. A click from the Home has no channel, no
message and no response_url (its ``container`` is the view), so its answer
goes by DM (``ReplyTo`` with the user alone). After the change, the
service publishes the actor's own Home again (``bot.services.answers``),
and the ticker's pass everyone else's (``Services.refresh_homes``)."""

import logging
from functools import partial

from slack_bolt import Ack, App

from bot.ids import ActionId
from bot.services import Services
from handlers.context import reply_to_from

log = logging.getLogger(__name__)


def _field(mapping: object, key: str) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None


def handle_app_home_opened(event: dict, *, services: Services) -> None:
    """The Home tab opened (the Messages tab sends this event too: ignored)."""
    user = event.get("user")
    if not isinstance(user, str) or not user or event.get("tab") != "home":
        return
    shown = _field(event.get("view"), "hash")
    services.open_home(user=user, shown_hash=shown if isinstance(shown, str) and shown else None)


def handle_home_more(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    ack()
    reply_to = reply_to_from(body)
    key = action.get("value")
    if reply_to is None or not isinstance(key, str) or not key:
        log.warning("a Home 'show all' click without a user or a section: ignored")
        return
    trigger_id = body.get("trigger_id")
    services.show_home_section(user=reply_to.user, key=key, trigger_id=trigger_id if isinstance(trigger_id, str) else "", reply_to=reply_to)


def register(app: App, services: Services) -> None:
    app.event("app_home_opened")(partial(handle_app_home_opened, services=services))
    app.action(ActionId.HOME_MORE)(partial(handle_home_more, services=services))
