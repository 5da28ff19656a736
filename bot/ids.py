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
    # The work contact letter (value: the letter's id). Not "letters.*": that
    # prefix is the letters catalog's.
    LETTER_APPROVE = "letter.approve"
    LETTER_EDIT = "letter.edit"
    LETTER_DISCARD = "letter.discard"
    LETTER_ACKNOWLEDGE = "letter.acknowledge"
    LETTER_IMPROVEMENT = "letter.improvement_input"
    LETTER_REPLY_DAYS = "letter.reply_days_input"
    # The App Home's "and N more" (value: the section's key). Not "home.*": that prefix is the home catalog's.
    HOME_MORE = "apphome.show_all"
    # /reject log: one record's fields (one input each; not "slackimport.*", the catalog's prefix)
    LOG_ORDER = "logrecord.order_input"
    LOG_REJECTED_ON = "logrecord.rejected_on_input"
    LOG_BRANCH = "logrecord.branch_input"
    LOG_CATEGORY = "logrecord.category_input"
    LOG_SCENARIO = "logrecord.scenario_input"
    LOG_CUSTOMER = "logrecord.customer_input"
    LOG_NOTE = "logrecord.note_input"
    # Legitimate-rejection reports (value: the report's id). Not "reports.*":
    # that prefix is the reports catalog's.
    REPORT_KEEP = "reported.keep"
    REPORT_DROP = "reported.drop"
    REPORT_ORDER = "report.order_input"
    REPORT_REASON = "report.reason_input"
    REPORT_NOTE = "report.note_input"


class BlockId(StrEnum):
    DISPUTE_REASON = "dispute.reason"
    OVERRULE_EVIDENCE = "overrule.evidence"
    FIX_NOTE = "fix.note"
    LETTER_IMPROVEMENT = "letter.improvement"
    LETTER_REPLY_DAYS = "letter.reply_days"
    LOG_ORDER = "logrecord.order"
    LOG_REJECTED_ON = "logrecord.rejected_on"
    LOG_BRANCH = "logrecord.branch"
    LOG_CATEGORY = "logrecord.category"
    LOG_SCENARIO = "logrecord.scenario"
    LOG_CUSTOMER = "logrecord.customer"
    LOG_NOTE = "logrecord.note"
    REPORT_ORDER = "report.order"
    REPORT_REASON = "report.reason"
    REPORT_NOTE = "report.note"


class ViewId(StrEnum):
    DISPUTE = "dispute.submit"
    OVERRULE = "overrule.submit"
    FIX = "fix.submit"
    LETTER_EDIT = "letter.edit_submit"
    LOG = "logrecord.submit"
    REPORT = "report.submit"


COMMAND = "/reject"
CONFIRM_REACTION = "white_check_mark"
ACKNOWLEDGE_REACTION = "eyes"


# The largest id a button or a modal may carry: our id columns are INTEGER
# (storage/migrations), and PostgreSQL refuses a larger value compared with
# one ("integer out of range"); SQLite's driver raises OverflowError past 2^63.
MAX_ID = 2**31 - 1


def parse_id(value: object) -> int | None:
    """The database id one of our buttons (its ``value``) or modals (its
    ``private_metadata``) carries: a positive integer up to ``MAX_ID``, as ASCII
    digits or a JSON integer. None for anything else (``"²"``, ``True``,
    ``1e30``, ``"-1"``, ``2**31``), which is then not ours."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and 0 < len(value) <= 19 and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None
