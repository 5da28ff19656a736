"""The pure half of logging and importing in Slack: the log modal reads its
inputs into the importer's cells and gets the importer's verdicts (one
``RowChecker`` for files and the modal), errors land on fields, and the file
of rejected rows never holds a formula."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from bot.core.importing import COLUMNS, Record, check_row, parse_export
from bot.core.slack_import import LOG_INPUTS, field_errors, import_summary, log_cells, log_modal, log_view_errors, rejected_rows_csv
from bot.fakeslack import check_view
from bot.i18n import Catalog
from bot.ids import BlockId

EN = Catalog("en")
HEADER = list(COLUMNS)  # English headers


def view(**values: str | None) -> dict:
    state: dict = {}
    for field, (block, action) in LOG_INPUTS.items():
        value = values.get(field)
        if field == "rejected_on":
            element = {"type": "datepicker", "selected_date": value}
        elif field in ("category", "scenario"):
            element = {"type": "static_select", "selected_option": None if value is None else {"value": value}}
        else:
            element = {"type": "plain_text_input", "value": value}
        state[block] = {action: element}
    return {"state": {"values": state}}


ROWS = [
    dict(order_no="SO1", rejected_on="2026-11-26", branch="南京分公司", category="large", scenario="received", customer="王伟 138", note="好"),
    dict(order_no="SO\u200b1", rejected_on="2026-11-26", branch="南京分公司", category="small"),
    dict(order_no="SO1", rejected_on="1999-01-01", branch="", category="large"),
    dict(order_no="", rejected_on=None, branch="分" * 200, category=None),
    dict(order_no="x" * 65, rejected_on="2026-11-26", branch="b", category="large", note="a\x01b"),
]


@pytest.mark.parametrize("values", ROWS)
def test_the_modal_and_a_file_get_the_same_verdict(values) -> None:
    cells = log_cells(view(**values), agent="王丽")
    one = check_row(cells, row=2)
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, ["" if c is None else c for c in cells]])
    parsed = parse_export(text.getvalue().encode(), filename="x.csv")
    if isinstance(one, Record):
        assert parsed.records == [one] and parsed.problems == []
    else:
        assert [(p.key, p.field) for p in parsed.problems] == [(p.key, p.field) for p in one]
        def facts(problems):  # the file names a column by its header; the modal by both names
            return [{k: v for k, v in p.params.items() if k != "column"} for p in problems]

        assert facts(parsed.problems) == facts(one)


def test_errors_land_on_their_fields() -> None:
    errors = log_view_errors(view(order_no="SO1", rejected_on="2100-01-01", branch="b", category="large", scenario="nope"), EN)
    assert set(errors) == {BlockId.LOG_REJECTED_ON, BlockId.LOG_SCENARIO}
    assert log_view_errors(view(**ROWS[0]), EN) is None
    problems = check_row(log_cells(view(order_no="SO1", rejected_on="2026-11-26", branch="b", category="large"), agent="x" * 65))
    assert list(field_errors(problems, EN)) == [BlockId.LOG_ORDER]  # the agent is no field of the modal: shown on the order


def test_the_modal_is_a_valid_view_in_both_languages() -> None:
    for locale in ("en", "zh_CN"):
        modal = log_modal(catalog=Catalog(locale), today=date(2026, 11, 27), agent="王丽")
        assert check_view(modal) == []
        assert len(modal["title"]["text"]) <= 24 and len(modal["submit"]["text"]) <= 24


def test_the_rejected_rows_file_holds_no_formula() -> None:
    data = "\n".join([",".join(HEADER), "=1+1,2026-13-01,+b,大件,,-c,@d,,=HYPERLINK(1)"]).encode()
    parsed = parse_export(data, filename="x.csv")
    from bot.core.importing import read_rows

    cells = read_rows(data, filename="x.csv", wanted={2})
    table = list(csv.reader(io.StringIO(rejected_rows_csv(cells, parsed.problems, EN).decode("utf-8-sig"))))
    assert table[0][:2] == ["row", "reasons"] and table[0][2:] == HEADER
    assert table[1][2:] == ["'=1+1", "2026-13-01", "'+b", "大件", "", "'-c", "'@d", "", "'=HYPERLINK(1)"]


def test_the_summary_lists_a_few_rejected_rows_and_points_at_the_file() -> None:
    data = "\n".join([",".join(HEADER)] + [f"SO{i},bad,b,large,,,,," for i in range(50)]).encode()
    parsed = parse_export(data, filename="x.csv")
    text = import_summary(filename="x.csv", total=50, added=0, skipped_known=0, duplicates=0, problems=parsed.problems,
                          unrouted=0, has_file=True, catalog=EN)  # fmt: skip
    assert "row 21:" in text and "row 22:" not in text and "30 more rejected" in text and "file in this thread" in text


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_summary_says_how_many_records_are_held_only_when_some_are(locale: str) -> None:
    catalog = Catalog(locale)
    common = dict(filename="x.csv", total=3, added=3, skipped_known=0, duplicates=0, problems=[], unrouted=0, has_file=False, catalog=catalog)
    assert import_summary(**common, held=2) == "\n".join([import_summary(**common), catalog.t("slackimport.held", count=2)])
    assert catalog.t("slackimport.held", count=2) not in import_summary(**common, held=0)
