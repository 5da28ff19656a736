"""Slack surfaces. Each module registers its listeners with ``register(app,
services)``; listeners ack, parse, call a service and let it reply."""

from slack_bolt import App

from bot.services import Services
from handlers import actions, commands, errors, events, home, validate, views


def register(app: App, services: Services) -> None:
    for surface in (commands, actions, views, events, home, errors):
        surface.register(app, services)
    validate.register(app, services)  # last: its catch-all answers the events nobody else takes
