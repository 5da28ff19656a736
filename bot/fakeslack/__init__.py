"""Our own fake Slack: a Web API server on port 0 and signed-request builders.

Used by the tests, the offline demo (``rejectbot demo``) and benchmarks.

Errors raised: none of its own (see `bot.fakeslack.server` and
`bot.fakeslack.requests`).
"""

from bot.fakeslack.requests import (
    SignedRequest,
    SlackSigner,
    block_actions,
    event_callback,
    interactive,
    payload_of,
    reaction_event,
    slash_command,
    view_submission,
)
from bot.fakeslack.server import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DOWNLOAD_METHOD,
    MAX_BLOCK_TEXT,
    RATE_LIMITS,
    TEAM_DOMAIN,
    TEAM_ID,
    TRIGGER_TTL,
    UPLOAD_METHOD,
    UPLOAD_URL_TTL,
    Call,
    FakeSlack,
    check_blocks,
    check_view,
    count_block_text,
    new_trigger_id,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DOWNLOAD_METHOD",
    "MAX_BLOCK_TEXT",
    "RATE_LIMITS",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TRIGGER_TTL",
    "UPLOAD_METHOD",
    "UPLOAD_URL_TTL",
    "Call",
    "FakeSlack",
    "SignedRequest",
    "SlackSigner",
    "block_actions",
    "check_blocks",
    "check_view",
    "count_block_text",
    "event_callback",
    "interactive",
    "new_trigger_id",
    "payload_of",
    "reaction_event",
    "slash_command",
    "view_submission",
]
