"""Reading who acted, where to answer them, and the id a button carries, from
any Slack payload — without trusting its shape."""

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
    return ReplyTo(user=user, channel=channel, response_url=_text(_field(body, "response_url")))


def clicked_id(action: object) -> int | None:
    """The item or thread id our button carries in its value (a string, like
    every button value Slack sends), None when it is not one."""
    value = _field(action, "value")
    return parse_id(value) if isinstance(value, str) else None
