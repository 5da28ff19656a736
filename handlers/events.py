"""Reactions on digest messages."""

from functools import partial

from slack_bolt import Ack, App

from bot.ids import ACKNOWLEDGE_REACTION
from bot.services import Services

# A person's reply in a thread: plain, also sent to the channel, or with a file
# (https://api.slack.com/events/message#subtypes); edits and deletions are not replies.
REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")


def _text(event: dict, key: str) -> str | None:
    value = event.get(key)
    return value if isinstance(value, str) and value else None


def _handle_reaction(body: dict, event: dict, *, services: Services, added: bool) -> None:
    """Only a person's reaction on a message we can place counts; Slack also
    sends reactions on files and file comments, and an event may lack the user
    or the channel (https://api.slack.com/events/reaction_added): ignored."""
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return
    user, reaction = _text(event, "user"), _text(event, "reaction")
    channel, ts = _text(item, "channel"), _text(item, "ts")
    if not (user and reaction and channel and ts):
        return
    event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else ""
    if reaction == ACKNOWLEDGE_REACTION:
        if added:
            services.acknowledge(event_id=event_id, user=user, channel=channel, ts=ts)
        return
    services.handle_reaction(event_id=event_id, user=user, reaction=reaction, channel=channel, ts=ts, added=added)


def handle_reaction_added(body: dict, event: dict, *, services: Services) -> None:
    _handle_reaction(body, event, services=services, added=True)


def handle_reaction_removed(body: dict, event: dict, *, services: Services) -> None:
    _handle_reaction(body, event, services=services, added=False)


def handle_thread_message(event: dict, *, services: Services) -> None:
    """A reply in a digest thread by the owner side restarts its quiet period."""
    user, channel, thread_ts = _text(event, "user"), _text(event, "channel"), _text(event, "thread_ts")
    if user and channel and thread_ts and not event.get("bot_id") and event.get("subtype") in REPLY_SUBTYPES:
        services.note_thread_reply(user=user, channel=channel, thread_ts=thread_ts)


def handle_other_event(ack: Ack) -> None:
    """An event no listener acts on (a message subtype, an event type we were
    sent but do not use): acknowledged so Slack neither retries it nor, after
    many failures, disables the app's events
    (https://api.slack.com/apis/events-api#failing)."""
    ack()


def register(app: App, services: Services) -> None:
    app.event("reaction_added")(partial(handle_reaction_added, services=services))
    app.event("reaction_removed")(partial(handle_reaction_removed, services=services))
    app.event("message")(partial(handle_thread_message, services=services))
