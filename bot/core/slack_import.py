"""Logging and importing inside Slack, the pure half: the ``/reject log``
modal (its view, reading a submission into the importer's cells, errors on
its fields), the summary of an import told in the DM, and the file of
rejected rows with their reasons.

The rules a record must meet are the importer's own
(``bot.core.importing.RowChecker``): the modal only turns its inputs into the
cells of one row, in ``COLUMNS`` order.

Errors: none of its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from itertools import groupby
from pathlib import PurePath

from bot.core.cells import safe_cell
from bot.core.importing import COLUMNS, Record, RowProblem, check_row
from bot.core.text import cut
from bot.i18n import Catalog
from bot.ids import ActionId, BlockId, ViewId

IMPORTABLE = (".csv", ".xlsx")
# field -> (block, input) of the log modal; the fields the modal asks for
LOG_INPUTS: dict[str, tuple[str, str]] = {
    "order_no": (BlockId.LOG_ORDER, ActionId.LOG_ORDER),
    "rejected_on": (BlockId.LOG_REJECTED_ON, ActionId.LOG_REJECTED_ON),
    "branch": (BlockId.LOG_BRANCH, ActionId.LOG_BRANCH),
    "category": (BlockId.LOG_CATEGORY, ActionId.LOG_CATEGORY),
    "scenario": (BlockId.LOG_SCENARIO, ActionId.LOG_SCENARIO),
    "customer": (BlockId.LOG_CUSTOMER, ActionId.LOG_CUSTOMER),
    "note": (BlockId.LOG_NOTE, ActionId.LOG_NOTE),
}
LABELS = {
    "order_no": "slackimport.log_order_no", "rejected_on": "slackimport.log_rejected_on", "branch": "slackimport.log_branch",
    "category": "slackimport.log_category", "scenario": "slackimport.log_scenario", "customer": "slackimport.log_customer",
    "note": "slackimport.log_note",
}  # fmt: skip
SCENARIO_LABELS = {"received": "slackimport.scenario_received", "reschedule": "slackimport.scenario_reschedule"}
CATEGORY_CHOICES = ("large", "small")  # the importer's values (bot.core.importing.CATEGORIES)
SCENARIO_CHOICES = ("received", "reschedule")  # the importer's values (bot.core.importing.SCENARIOS)
TEXT_MAX = 3000  # plain_text_input's max_length at most (Block Kit reference)
SUMMARY_ROWS = 20  # rejected rows listed in the DM; the file has them all
SUMMARY_LIMIT = 3500  # characters of the DM's summary (a section's text may hold 3000; plain text goes further)


def is_importable(filename: str) -> bool:
    return PurePath(filename).suffix.lower() in IMPORTABLE


# --- the /reject log modal -----------------------------------------------------------


def log_modal(*, catalog: Catalog, today: date, agent: str) -> dict:
    """The modal for one record; ``agent`` is the caller's callback-agent name
    (empty when they are not in ``[cs] agents``)."""
    t = catalog.t

    def text_input(field: str, *, optional: bool = False, multiline: bool = False) -> dict:
        block_id, action_id = LOG_INPUTS[field]
        return {
            "type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": t(LABELS[field])},
            "element": {"type": "plain_text_input", "action_id": action_id, "multiline": multiline, "max_length": TEXT_MAX},
        }  # fmt: skip

    def select(field: str, choices: Sequence[str], labels: Mapping[str, str], *, optional: bool) -> dict:
        block_id, action_id = LOG_INPUTS[field]
        return {
            "type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": t(LABELS[field])},
            "element": {
                "type": "static_select", "action_id": action_id,
                "placeholder": {"type": "plain_text", "text": t("slackimport.log_choose")},
                "options": [{"text": {"type": "plain_text", "text": labels[c]}, "value": c} for c in choices],
            },
        }  # fmt: skip

    date_block, date_action = LOG_INPUTS["rejected_on"]
    agent_line = t("slackimport.log_agent", agent=agent) if agent else t("slackimport.log_no_agent")
    return {
        "type": "modal",
        "callback_id": ViewId.LOG,
        "title": {"type": "plain_text", "text": t("slackimport.log_title")},
        "submit": {"type": "plain_text", "text": t("slackimport.log_submit")},
        "close": {"type": "plain_text", "text": t("modals.cancel")},
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": agent_line}]},
            text_input("order_no"),
            {
                "type": "input", "block_id": date_block,
                "label": {"type": "plain_text", "text": t(LABELS["rejected_on"])},
                "element": {"type": "datepicker", "action_id": date_action, "initial_date": today.isoformat()},
            },  # fmt: skip
            text_input("branch"),
            select("category", CATEGORY_CHOICES, {c: t(f"digest.category_{c}") for c in CATEGORY_CHOICES}, optional=False),
            select("scenario", SCENARIO_CHOICES, {c: t(SCENARIO_LABELS[c]) for c in SCENARIO_CHOICES}, optional=True),
            text_input("customer", optional=True),
            text_input("note", optional=True, multiline=True),
        ],
    }


def _state(view: Mapping, field: str) -> Mapping:
    block_id, action_id = LOG_INPUTS[field]
    node: object = view
    for key in ("state", "values", block_id, action_id):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def log_cells(view: Mapping, *, agent: str) -> tuple[object, ...]:
    """A submitted log modal as the cells of one import row, in ``COLUMNS``
    order: what the importer would read from a file with these values.
    The callback agent is ``agent``; the callback time is left empty."""
    def text(field: str) -> str:
        value = _state(view, field).get("value")
        return value if isinstance(value, str) else ""

    def chosen(field: str) -> str:
        option = _state(view, field).get("selected_option")
        value = option.get("value") if isinstance(option, Mapping) else None
        return value if isinstance(value, str) else ""

    picked = _state(view, "rejected_on").get("selected_date")
    values = {
        "order_no": text("order_no"), "rejected_on": picked if isinstance(picked, str) else "",
        "branch": text("branch"), "category": chosen("category"), "scenario": chosen("scenario"),
        "customer": text("customer"), "callback_agent": agent, "callback_at": None, "note": text("note"),
    }  # fmt: skip
    return tuple(values[key] for key in COLUMNS)


def log_view_errors(view: Mapping, catalog: Catalog) -> dict[str, str] | None:
    """The field errors of a submitted log modal by the importer's rules alone
    (no database: what the front of ``rejectbot run`` can answer before it
    acknowledges); None when the fields are good."""
    checked = check_row(log_cells(view, agent=""))
    return None if isinstance(checked, Record) else field_errors(checked, catalog)


def field_errors(problems: Iterable[RowProblem], catalog: Catalog) -> dict[str, str]:
    """``response_action: errors`` for the modal: each problem on its field's
    block (problems of fields the modal does not show go on the order number)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        field = problem.field if problem.field in LOG_INPUTS else "order_no"
        errors.setdefault(LOG_INPUTS[field][0], []).append(catalog.t(problem.key, **problem.params))
    return {block: cut(catalog.t("import.reason_separator").join(texts), 150) for block, texts in errors.items()}


def duplicate_error(catalog: Catalog, *, order_no: str, rejected_on: date) -> dict[str, str]:
    return {BlockId.LOG_ORDER: catalog.t("slackimport.log_duplicate", order=order_no, day=rejected_on.isoformat())}


# --- what an import in Slack tells ------------------------------------------------------


def import_summary(
    *, filename: str, total: int, added: int, skipped_known: int, duplicates: int, problems: Sequence[RowProblem],
    unrouted: int, has_file: bool, catalog: Catalog, held: int = 0,
) -> str:
    """The import's report for the DM: the counts, the first rejected rows
    (the attached file lists them all), what no owner covers, and how many
    records are held (their orders were reported)."""
    t = catalog.t
    lines = [t("slackimport.summary_title", filename=filename, total=total), t("import.added", count=added)]
    if added == 0 and not problems:
        lines.append(t("slackimport.nothing_new"))
    lines.append(t("import.skipped_known", count=skipped_known))
    if duplicates:
        lines.append(t("import.duplicates", count=duplicates))
    if problems:
        rows = [(row, list(group)) for row, group in groupby(problems, key=lambda p: p.row)]
        lines.append(t("import.rejected", count=len(rows)))
        separator = t("import.reason_separator")
        for row, group in rows[:SUMMARY_ROWS]:
            lines.append(t("import.rejected_row", row=row, reasons=separator.join(t(p.key, **p.params) for p in group)))
        if len(rows) > SUMMARY_ROWS:
            lines.append(t("slackimport.more_rejected", count=len(rows) - SUMMARY_ROWS))
        if has_file:
            lines.append(t("slackimport.rejected_file"))
    if unrouted:
        lines.append(t("slackimport.unrouted", count=unrouted))
    if held:
        lines.append(t("slackimport.held", count=held))
    return cut("\n".join(lines), SUMMARY_LIMIT)


def rejected_rows_csv(rows: Mapping[int, Sequence[str]], problems: Sequence[RowProblem], catalog: Catalog) -> bytes:
    """The rejected rows as CSV (UTF-8 with a BOM, as Excel opens it): the
    row number, every reason, then the row's own cells under the file's
    header (``rows[0]``). Every cell goes through ``safe_cell``: nothing the
    bot writes turns back into a formula."""
    t = catalog.t
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in [t("slackimport.csv_row"), t("slackimport.csv_reasons"), *rows.get(0, ())]])
    separator = t("import.reason_separator")
    for row, group in groupby(problems, key=lambda p: p.row):
        reasons = separator.join(t(p.key, **p.params) for p in group)
        writer.writerow([safe_cell(cell) for cell in [str(row), reasons, *rows.get(row, ())]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
