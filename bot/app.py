"""The composition root: ``create_app`` builds the whole bot. Nothing imports
this module but the CLI, the demo and tests."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

import handlers
from bot.clock import Clock
from bot.config import Settings, load_routing, resolve_emails, routing_emails
from bot.core.routing import Routing
from bot.gateway import SlackGateway
from bot.i18n import Catalog
from bot.pacing import Pacer
from bot.services import Services
from bot.services.deps import Deps, RoutingHolder
from bot.services.refresher import DigestRefresher
from bot.services.routing_reload import RoutingReloader
from storage.db import SessionFactory


@dataclass
class Bot:
    app: App
    services: Services


def create_app(
    settings: Settings,
    *,
    client: WebClient,
    session_factory: SessionFactory,
    clock: Clock,
    routing: Routing | None = None,
    routing_read_from: bytes | None = None,
    process_before_response: bool = False,
    verify_requests: bool = True,
    refresher: DigestRefresher | None = None,
) -> Bot:
    """The Bolt app with every listener registered, and the services behind it.

    ``process_before_response=True`` (tests, the demo) runs listeners to the
    end before the request returns. Request signatures are verified whenever
    a signing secret is configured (HTTP mode; Socket Mode needs none), except
    in the HTTP worker, whose requests the front has already verified.

    The routing is read from ``settings.routing_file`` unless given; read
    from the file (or given with ``routing_read_from``, the file's content it
    was parsed from, as ``run`` does), it is reloaded whenever the file
    changes (``Services.reload_routing``, each tick).

    ``refresher`` coalesces digest message updates once started
    (``Services.start_refresher``, as ``run`` does); a fresh one by default.
    """
    gateway = SlackGateway(client, pacer=Pacer() if settings.slack_pacing else None)  # one per process: every caller shares it
    loaded = routing_read_from
    if routing is None:
        loaded = settings.routing_file.read_bytes() if settings.routing_file.exists() else None
        routing = load_routing(settings.routing_file)
    if routing_emails(routing):
        routing = resolve_emails(routing, gateway.lookup_user_by_email)
    deps = Deps(
        holder=RoutingHolder(routing),
        session_factory=session_factory,
        notifier=gateway,
        clock=clock,
        catalog=Catalog(settings.locale),
        timezone=settings.timezone,
        refresher=refresher or DigestRefresher(),
    )
    reloader = None
    if loaded is not None:  # read from the file: reloaded when it changes (checked on each tick)
        reloader = RoutingReloader(settings.routing_file, lookup=gateway.lookup_user_by_email, loaded=loaded)
    services = Services(deps, reloader=reloader)
    app = App(
        client=client,
        signing_secret=settings.signing_secret,
        request_verification_enabled=verify_requests and settings.signing_secret is not None,
        process_before_response=process_before_response,
    )
    handlers.register(app, services)
    return Bot(app=app, services=services)
