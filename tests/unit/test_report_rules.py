"""Legitimate-rejection reports, the pure parts: parsing ``/reject report``
(English and Chinese reason words), the importer's order rules, the match
window, the modal and its errors, the review DM, the digest line, and the
monthly notice's line. No doubles."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.commands import CommandError, Verb, parse_command
from bot.core.monthly import Counts, MonthFigures, OwnerFigures, Trend
from bot.core.monthly import Month as M
from bot.core.monthly_text import describe_changes, owner_lines
from bot.core.reports import (
    MATCH_DAYS,
    Reason,
    ReportRequest,
    check_order,
    digest_report_line,
    matches,
    parse_reason,
    parse_report,
    read_report_view,
    report_modal,
    review_message,
)
from bot.i18n import Catalog

EN, ZH = Catalog("en"), Catalog("zh_CN")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("word", "reason"),
    [
        ("damaged", Reason.DAMAGED), ("DAMAGED", Reason.DAMAGED), ("货损", Reason.DAMAGED), ("破损", Reason.DAMAGED),
        ("refused", Reason.REFUSED), ("客户拒收", Reason.REFUSED), ("拒收", Reason.REFUSED),
        ("wrong-customer", Reason.WRONG_CUSTOMER), ("wrong_customer", Reason.WRONG_CUSTOMER), ("客户编号错误", Reason.WRONG_CUSTOMER),
        ("ｄａｍａｇｅｄ", Reason.DAMAGED),  # full-width, as pasted from a Chinese IME
        ("lost", None), ("", None),
    ],
)
def test_reason_words_in_english_and_chinese(word: str, reason: Reason | None) -> None:
    assert parse_reason(word) == reason


def test_report_is_a_subcommand_in_both_languages() -> None:
    assert parse_command("report SO1 damaged").verb is Verb.REPORT
    assert parse_command("上报 SO1 货损 外箱压坏").reason == "SO1 货损 外箱压坏"
    assert parse_command("上报").reason == ""


def test_parse_report_normalises_the_order_and_keeps_the_note_as_typed() -> None:
    assert parse_report("  so1２3  refused  the customer said no ") == ReportRequest("SO123", Reason.REFUSED, "the customer said no")
    assert parse_report("ｓｏ123，客户拒收，客户说  不要了") == ReportRequest("SO123", Reason.REFUSED, "客户说  不要了")
    assert parse_report("SO123 wrong-customer") == ReportRequest("SO123", Reason.WRONG_CUSTOMER, "")
    assert parse_report("") is None and parse_report("  ") is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("SO1", "reports.needs_reason"),
        ("SO1 lost", "reports.unknown_reason"),
        ("X" * 65 + " damaged", "reports.order_too_long"),
        ("SO\u200b1 damaged", "reports.order_unprintable"),
        ("SO1 damaged " + "n" * 1001, "reports.note_too_long"),
    ],
)
def test_parse_report_refuses_what_the_importer_would(text: str, key: str) -> None:
    with pytest.raises(CommandError) as raised:
        parse_report(text)
    assert raised.value.key == key


def test_check_order_is_the_importer_s_rule() -> None:
    assert check_order(" so-１２３ ") == "SO-123"
    assert check_order("X" * 64) == "X" * 64
    for bad in ("", "   ", "X" * 65, "SO\x001"):
        with pytest.raises(CommandError):
            check_order(bad)


def test_the_match_window_is_seven_days_either_way() -> None:
    assert MATCH_DAYS == 7
    day = date(2026, 11, 26)
    assert matches(day, date(2026, 11, 19)) and matches(day, date(2026, 12, 3)) and matches(day, day)
    assert not matches(day, date(2026, 11, 18)) and not matches(day, date(2026, 12, 4))


# --- the modal ------------------------------------------------------------------------------


def submitted(order: object, reason: object, note: object = None) -> dict:
    return {"state": {"values": {
        "report.order": {"report.order_input": {"type": "plain_text_input", "value": order}},
        "report.reason": {"report.reason_input": {"type": "static_select", "selected_option": {"value": reason} if reason else None}},
        "report.note": {"report.note_input": {"type": "plain_text_input", "value": note}},
    }}}


def test_the_modal_has_the_three_reasons_in_the_reader_s_language() -> None:
    for catalog in (EN, ZH):
        view = report_modal(catalog, channel="C1")
        assert view["callback_id"] == "report.submit" and len(view["title"]["text"]) <= 24  # Slack: 24 characters at most
        (select,) = [b["element"] for b in view["blocks"] if b.get("block_id") == "report.reason"]
        assert [o["value"] for o in select["options"]] == ["damaged", "refused", "wrong_customer"]
        assert [o["text"]["text"] for o in select["options"]] == [catalog.t(f"reports.reason_{r}") for r in Reason]
    assert ZH.t("reports.reason_damaged") == "货损"


def test_the_modal_reads_a_good_submission_and_puts_errors_on_their_fields() -> None:
    assert read_report_view(submitted(" so1 ", "refused", " 客户拒收 "), EN) == (ReportRequest("SO1", Reason.REFUSED, "客户拒收"), {})
    request, errors = read_report_view(submitted("", None), EN)
    assert request is None and errors == {"report.order": EN.t("reports.needs_order"), "report.reason": EN.t("reports.modal_needs_reason")}
    assert read_report_view(submitted("SO1", "stolen"), EN)[1] == {"report.reason": EN.t("reports.modal_needs_reason")}
    assert read_report_view(submitted(["SO1"], "damaged"), EN)[1] == {"report.order": EN.t("reports.needs_order")}  # not a string
    assert read_report_view({}, ZH)[1].keys() == {"report.order", "report.reason"}


# --- the review DM and the digest line -----------------------------------------------------


@dataclass
class FakeReport:  # the shape of storage.models.RejectionReport the texts read
    id: int = 7
    order_no: str = "SO1"
    reason: str = "damaged"
    note: str = "外箱压坏，郑女士 15523938499 拒收"
    reporter: str = "U0OWNERZ"
    reporter_role: str = "owner"
    reporter_owner: str | None = "小件配送"
    created_at: datetime = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass
class FakeRecord:
    order_no: str = "SO1"
    rejected_on: date = date(2026, 11, 26)
    branch: str = "杭州分公司"
    category: str = "small"
    customer: str = "郑女士 15523938499"
    callback_agent: str = "陈静"
    note: str = "客户确认已收到"


def test_the_review_dm_shows_the_record_and_the_report_with_keep_and_drop() -> None:
    text, blocks = review_message(FakeReport(), FakeRecord(), EN, SHANGHAI, agent="U0CS0002")
    assert "<@U0CS0002>" in text and "SO1" in text
    shown = str(blocks)
    assert "<@U0OWNERZ>" in shown and "11-26 15:00" in shown and "外箱压坏" in shown and EN.t("reports.reason_damaged") in shown
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [("reported.keep", "7"), ("reported.drop", "7")]
    _, decided = review_message(
        replace(FakeReport(), decision="drop", decided_by="U0CSLEAD", decided_at=datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),
        FakeRecord(), EN, SHANGHAI, agent="U0CS0002",
    )
    assert not [b for b in decided if b["type"] == "actions"]
    assert EN.t("reports.review_dropped", user="<@U0CSLEAD>", at="11-27 10:00") in str(decided)


def test_the_digest_line_masks_the_customer_in_the_report_s_note() -> None:
    line = digest_report_line(reason="refused", reporter="U0OWNERZ", note="郑女士 15523938499 拒收", customer="郑女士 15523938499", catalog=EN)
    assert "<@U0OWNERZ>" in line and EN.t("reports.reason_refused") in line
    assert "15523938499" not in line


# --- the monthly notice ---------------------------------------------------------------------


def test_the_notice_shows_reports_as_good_behaviour_only_when_there_are_some() -> None:
    def owner(reported: int) -> OwnerFigures:
        return OwnerFigures("小件配送", Counts(posted=2, confirmed=2, reported=reported), (), Trend(None, 2), 200)

    def month(o: OwnerFigures) -> MonthFigures:
        return MonthFigures(M(2026, 11), datetime(2026, 12, 1, tzinfo=UTC), 100, (o,), ())

    with_reports, without = owner(3), owner(0)
    assert EN.t("reports.monthly_owner", count=3) in owner_lines(with_reports, month(with_reports), EN)
    assert not [line for line in owner_lines(without, month(without), EN) if "📝" in line]
    changes = describe_changes(month(without), month(with_reports), EN)
    assert changes == [EN.t("monthly.correction_owner_line", owner="小件配送", what=EN.t("reports.field_reported"), old="0", new="3")]


def test_the_digest_reads_the_report_the_item_carries() -> None:
    from bot.core.reports import REPORT_SEPARATOR, report_shown_line

    shown = REPORT_SEPARATOR.join(["damaged", "U0DRIVER1", f"外箱{REPORT_SEPARATOR}压坏"])  # the note last: it may hold anything
    line = report_shown_line(shown, customer="", catalog=ZH)
    assert "<@U0DRIVER1>" in line and "货损" in line and "压坏" in line
    assert report_shown_line("stolen", customer="", catalog=ZH) == ""  # not one of ours: nothing shown
