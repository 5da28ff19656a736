"""Reactions on digest messages."""

from functools import partial

from slack_bolt import App

from bot.services import Services


def _handle_reaction(body: dict, event: dict, *, services: Services, added: bool) -> None:
    item = event.get("item") or {}
    if item.get("type") != "message":
        return
    services.handle_reaction(
        event_id=body.get("event_id", ""), user=event["user"], reaction=event["reaction"],
        channel=item["channel"], ts=item["ts"], added=added,
    )


def handle_reaction_added(body: dict, event: dict, *, services: Services) -> None:
    _handle_reaction(body, event, services=services, added=True)


def handle_reaction_removed(body: dict, event: dict, *, services: Services) -> None:
    _handle_reaction(body, event, services=services, added=False)


def register(app: App, services: Services) -> None:
    app.event("reaction_added")(partial(handle_reaction_added, services=services))
    app.event("reaction_removed")(partial(handle_reaction_removed, services=services))
