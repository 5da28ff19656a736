"""Slack surfaces. Each module registers its listeners with ``register(app,
services)``; listeners ack, parse, call a service and let it reply."""

from slack_bolt import App

from bot.services import Services
from handlers import actions, commands, errors, events, home, slack_import, validate, views


def register(app: App, services: Services) -> None:
    for surface in (commands, actions, views, slack_import, events, home, errors):  # slack_import before events: its message listener is narrower
        surface.register(app, services)
    validate.register(app, services)  # last: its catch-all answers the events nobody else takes
