"""Reading who acted, where to answer them, and the id a button carries, from
any Slack payload — without trusting its shape."""

from bot.core.text import cut
from bot.gateway import ReplyTo
from bot.ids import parse_id


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _field(mapping: object, key: str) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None


def user_id_of(body: dict) -> str | None:
    """Who sent this command, click, submission or event (None when nobody is named)."""
    return (
        _text(_field(body, "user_id"))
        or _text(_field(_field(body, "user"), "id"))
        or _text(_field(_field(body, "event"), "user"))
    )


def reply_to_from(body: dict) -> ReplyTo | None:
    user = user_id_of(body)
    if not user:
        return None
    channel = (
        _text(_field(body, "channel_id"))
        or _text(_field(_field(body, "channel"), "id"))
        or _text(_field(_field(_field(body, "event"), "item"), "channel"))
    )
    container = _field(body, "container")  # a click on a message: the message it came from
    message_ts = _text(_field(container, "message_ts")) if _field(container, "type") == "message" else None
    return ReplyTo(user=user, channel=channel, response_url=_text(_field(body, "response_url")), message_ts=message_ts)


def clicked_id(action: object) -> int | None:
    """The item or thread id our button carries in its value (a string, like
    every button value Slack sends), None when it is not one."""
    value = _field(action, "value")
    return parse_id(value) if isinstance(value, str) else None


# The inbox pool (``bot.handoff``) marks each dispatch with these headers.
ATTEMPT_HEADER, MAX_ATTEMPTS_HEADER = "x-rejectbot-attempt", "x-rejectbot-max-attempts"


def is_retried_later(headers: object) -> bool:
    """Will the inbox pool dispatch this request again if it fails now
    (``headers`` as Bolt keeps them: lower-case names, lists of values)?
    False for a request that did not come through the pool."""
    def first(name: str) -> str:
        value = _field(headers, name)
        value = value[0] if isinstance(value, (list, tuple)) and value else value
        return value if isinstance(value, str) else ""

    attempt, most = first(ATTEMPT_HEADER), first(MAX_ATTEMPTS_HEADER)
    return attempt.isdigit() and most.isdigit() and int(attempt) < int(most)


REQUEST_LIMIT = 120  # what the user typed, echoed back


def describe_request(payload: dict) -> str:
    """What was asked, in a few words: the command with its text, the
    button, the form or the event."""
    if isinstance(payload.get("command"), str):
        return cut(f"{payload['command']} {payload.get('text') or ''}".strip(), REQUEST_LIMIT)
    actions = payload.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return cut(str(actions[0].get("action_id") or payload.get("type")), REQUEST_LIMIT)
    view = payload.get("view")
    if isinstance(view, dict) and view.get("callback_id"):
        return cut(str(view["callback_id"]), REQUEST_LIMIT)
    event = payload.get("event")
    if isinstance(event, dict) and event.get("type"):
        return cut(f"{event['type']} {event.get('reaction') or ''}".strip(), REQUEST_LIMIT)
    return cut(str(payload.get("type") or "?"), REQUEST_LIMIT)
