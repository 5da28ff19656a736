"""Keeping less: a closed item's customer data is masked in the database
``[privacy] retention_days`` after it closed (docs/operations.md, "Customer
data").

Closed means a final state — one the lifecycle allows no action from
(``fixed``, ``withdrawn``); nothing changes such an item any more, so its
``updated_at`` is when it closed. What is masked, as the channel shows it
(``bot.core.masking``): the customer cell (张* 138****1234), the callback
note, and the notes of the item's audit rows and penalties (a dispute's
reason, an overrule's evidence, a fix note: people's words, which may name
the customer or give a phone number). The rows themselves stay; only their
free text is masked. Items that never close (confirmed and never fixed, or
disputed and never resolved) keep their data.

The ticker runs ``mask_expired`` every minute: at most ``BATCH`` items a
run, in one transaction, the longest closed first. An item is marked
(``redacted_at``) in the same statement that masks it, only if nobody did
first, so two replicas running the job at once mask each item once and a
crash masks nothing half.

Errors: none of its own; a database error propagates to the ticker, which
logs it and tries again next minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.lifecycle import TRANSITIONS, Status
from bot.core.masking import mask_customer, mask_note
from bot.services.deps import Deps
from storage import retention as rt
from storage.db import transaction

log = logging.getLogger(__name__)

BATCH = 1000  # items a run: one short transaction even on SQLite, and a year's backlog done in minutes
CLOSED = frozenset(s for s in Status if not any(status is s for status, _ in TRANSITIONS))  # fixed, withdrawn


@dataclass(frozen=True)
class RetentionReport:
    masked: int  # items masked by this run
    due_before: datetime  # items closed before this were due
    more: bool  # a full batch: more may be waiting for the next run


def mask_expired(deps: Deps, *, now: datetime | None = None, batch: int = BATCH) -> RetentionReport:
    """Mask the customer data of items closed more than ``retention_days`` ago
    (a batch of them); idempotent."""
    now = now or deps.clock.now()
    due_before = now - timedelta(days=deps.routing.privacy.retention_days)
    masked = 0
    with transaction(deps.session_factory) as session:
        items = rt.list_due(session=session, statuses=sorted(CLOSED), closed_before=due_before, limit=batch)
        audit, penalties = rt.list_notes(session=session, item_ids=[i.id for i in items])
        customers: dict[int, str] = {}
        for item in items:
            customer = item.customer
            if rt.redact_item(session=session, item=item, customer=mask_customer(customer), note=mask_note(item.note, customer), now=now):
                customers[item.id] = customer
                masked += 1
        rt.set_notes(
            session=session,
            audit=_masked_notes(audit, customers),
            penalties=_masked_notes(penalties, customers),
        )
    if masked:
        log.info("retention: masked the customer data of %d item(s) closed before %s", masked, due_before.isoformat())
    return RetentionReport(masked=masked, due_before=due_before, more=len(items) == batch)


def _masked_notes(rows, customers: dict[int, str]) -> dict[int, str]:
    """New notes of the rows of the items just masked, where masking changes them."""
    notes = {}
    for row in rows:
        if row.item_id in customers:
            masked = mask_note(row.note, customers[row.item_id])
            if masked != row.note:
                notes[row.id] = masked
    return notes
