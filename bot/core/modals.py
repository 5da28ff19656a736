"""Modal views as plain dicts."""

from __future__ import annotations

import json

from bot.i18n import Catalog
from bot.ids import ActionId, BlockId, ViewId


def dispute_modal(*, item_id: int, order_no: str, channel: str | None, catalog: Catalog) -> dict:
    return {
        "type": "modal",
        "callback_id": ViewId.DISPUTE,
        "private_metadata": json.dumps({"item": item_id, "channel": channel}),
        "title": {"type": "plain_text", "text": catalog.t("modals.dispute_title")},
        "submit": {"type": "plain_text", "text": catalog.t("modals.dispute_submit")},
        "close": {"type": "plain_text", "text": catalog.t("modals.cancel")},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": catalog.t("modals.dispute_intro", order=order_no)},
            },
            {
                "type": "input",
                "block_id": BlockId.DISPUTE_REASON,
                "label": {"type": "plain_text", "text": catalog.t("modals.dispute_reason")},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ActionId.DISPUTE_REASON,
                    "multiline": True,
                    "min_length": 2,
                    "max_length": 2000,
                },
            },
        ],
    }


def read_dispute_metadata(private_metadata: str) -> tuple[int, str | None] | None:
    """(item id, channel) from a dispute modal, or None when it is not ours."""
    try:
        data = json.loads(private_metadata)
        return int(data["item"]), data.get("channel")
    except (ValueError, KeyError, TypeError):
        return None
