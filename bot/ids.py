"""Every Slack action, block and view ID the bot uses; no ID literals elsewhere."""

from enum import StrEnum


class ActionId(StrEnum):
    CONFIRM = "item.confirm"
    DISPUTE = "item.dispute"
    DISPUTE_REASON = "dispute.reason_input"
    # CS re-verifying a dispute (buttons on the review DM). Not "review.*":
    # that prefix is the review catalog's, and ids must not look like its keys.
    UPHOLD = "dispute.uphold"
    OVERRULE = "dispute.overrule"
    OVERRULE_EVIDENCE = "overrule.evidence_input"
    FIX = "item.fix"
    FIX_NOTE = "fix.note_input"
    # Buttons on a manager's escalation DM (value: the thread's id). Not
    # "followup.*": that prefix is the follow-up catalog's.
    REMIND_OWNER = "escalation.remind"
    CONFIRM_FOR_OWNER = "escalation.confirm_all"
    OPEN_THREAD = "escalation.open_thread"  # a link button: Slack still sends the click


class BlockId(StrEnum):
    DISPUTE_REASON = "dispute.reason"
    OVERRULE_EVIDENCE = "overrule.evidence"
    FIX_NOTE = "fix.note"


class ViewId(StrEnum):
    DISPUTE = "dispute.submit"
    OVERRULE = "overrule.submit"
    FIX = "fix.submit"


COMMAND = "/reject"
CONFIRM_REACTION = "white_check_mark"
ACKNOWLEDGE_REACTION = "eyes"
