"""Reading who acted, and where to answer them, from any Slack payload."""

from bot.gateway import ReplyTo


def reply_to_from(body: dict) -> ReplyTo | None:
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    if not user:
        return None
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") or ((body.get("event") or {}).get("item") or {}).get("channel")
    return ReplyTo(user=user, channel=channel, response_url=body.get("response_url"))
