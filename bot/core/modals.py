"""Modal views as plain dicts: dispute (reason), overrule (evidence) and fix
(note), each asking for one required text about one item."""

from __future__ import annotations

import json

from bot.i18n import Catalog
from bot.ids import ActionId, BlockId, ViewId, parse_id


def dispute_modal(*, item_id: int, order_no: str, channel: str | None, catalog: Catalog) -> dict:
    """The owner disputes an item: the reason is required."""
    return _text_modal(
        callback_id=ViewId.DISPUTE, item_id=item_id, channel=channel,
        title=catalog.t("modals.dispute_title"), submit=catalog.t("modals.dispute_submit"),
        intro=catalog.t("modals.dispute_intro", order=order_no), label=catalog.t("modals.dispute_reason"),
        block_id=BlockId.DISPUTE_REASON, action_id=ActionId.DISPUTE_REASON, catalog=catalog,
    )


def read_item_metadata(private_metadata: str) -> tuple[int, str | None] | None:
    """(item id, channel) from one of our item modals, or None when it is not ours."""
    try:
        data = json.loads(private_metadata)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or (item_id := parse_id(data.get("item"))) is None:
        return None
    channel = data.get("channel")
    return item_id, channel if isinstance(channel, str) and channel else None



def _text_modal(
    *, callback_id: str, item_id: int, channel: str | None, title: str, submit: str, intro: str,
    label: str, block_id: str, action_id: str, catalog: Catalog,
) -> dict:
    """A modal asking for one required text about one item."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"item": item_id, "channel": channel}),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": catalog.t("modals.cancel")},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
            {
                "type": "input",
                "block_id": block_id,
                "label": {"type": "plain_text", "text": label},
                "element": {
                    "type": "plain_text_input",
                    "action_id": action_id,
                    "multiline": True,
                    "min_length": 2,
                    "max_length": 2000,
                },
            },
        ],
    }


def overrule_modal(*, item_id: int, order_no: str, channel: str | None, catalog: Catalog) -> dict:
    """CS overrules a dispute: the evidence is required."""
    return _text_modal(
        callback_id=ViewId.OVERRULE, item_id=item_id, channel=channel,
        title=catalog.t("modals.overrule_title"), submit=catalog.t("modals.overrule_submit"),
        intro=catalog.t("modals.overrule_intro", order=order_no), label=catalog.t("modals.overrule_evidence"),
        block_id=BlockId.OVERRULE_EVIDENCE, action_id=ActionId.OVERRULE_EVIDENCE, catalog=catalog,
    )


def fix_modal(*, item_id: int, order_no: str, channel: str | None, catalog: Catalog) -> dict:
    """The owner's side records the remedy of a confirmed item: the note is required."""
    return _text_modal(
        callback_id=ViewId.FIX, item_id=item_id, channel=channel,
        title=catalog.t("modals.fix_title"), submit=catalog.t("modals.fix_submit"),
        intro=catalog.t("modals.fix_intro", order=order_no), label=catalog.t("modals.fix_note"),
        block_id=BlockId.FIX_NOTE, action_id=ActionId.FIX_NOTE, catalog=catalog,
    )




def input_value(view: dict, block_id: str, action_id: str) -> str:
    """The text typed into one input of a submitted modal, stripped ("" when blank)."""
    node: object = view
    for key in ("state", "values", block_id, action_id, "value"):
        node = node.get(key) if isinstance(node, dict) else None
    return node.strip() if isinstance(node, str) else ""
