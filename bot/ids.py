"""Every Slack action, block and view ID the bot uses; no ID literals elsewhere."""

from enum import StrEnum


class ActionId(StrEnum):
    CONFIRM = "item.confirm"
    DISPUTE = "item.dispute"
    DISPUTE_REASON = "dispute.reason_input"


class BlockId(StrEnum):
    DISPUTE_REASON = "dispute.reason"


class ViewId(StrEnum):
    DISPUTE = "dispute.submit"


COMMAND = "/reject"
CONFIRM_REACTION = "white_check_mark"
