"""Reactions on digest messages."""

from functools import partial

from slack_bolt import App

from bot.ids import ACKNOWLEDGE_REACTION
from bot.services import Services


def _handle_reaction(body: dict, event: dict, *, services: Services, added: bool) -> None:
    item = event.get("item") or {}
    if item.get("type") != "message":
        return
    if event["reaction"] == ACKNOWLEDGE_REACTION:
        if added:
            services.acknowledge(event_id=body.get("event_id", ""), user=event["user"], channel=item["channel"], ts=item["ts"])
        return
    services.handle_reaction(
        event_id=body.get("event_id", ""), user=event["user"], reaction=event["reaction"],
        channel=item["channel"], ts=item["ts"], added=added,
    )


def handle_reaction_added(body: dict, event: dict, *, services: Services) -> None:
    _handle_reaction(body, event, services=services, added=True)


def handle_reaction_removed(body: dict, event: dict, *, services: Services) -> None:
    _handle_reaction(body, event, services=services, added=False)


def handle_thread_message(event: dict, *, services: Services) -> None:
    """A reply in a digest thread by the owner side restarts its quiet period."""
    if event.get("thread_ts") and event.get("user") and not event.get("bot_id"):
        services.note_thread_reply(user=event["user"], channel=event["channel"], thread_ts=event["thread_ts"])


def register(app: App, services: Services) -> None:
    app.event("reaction_added")(partial(handle_reaction_added, services=services))
    app.event("reaction_removed")(partial(handle_reaction_removed, services=services))
    app.event("message")(partial(handle_thread_message, services=services))
