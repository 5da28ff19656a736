"""The callback-export parser: formats, encodings, headers, values, bad rows."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.core.importing import (
    ExportError,
    ParsedExport,
    Record,
    normalise_order_no,
    parse_category,
    parse_export,
    parse_scenario,
)
from bot.i18n import Catalog

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"
GOOD_ROW = "SO1,2026-11-26,杭州分公司,大件,客户已收货,吴先生 15140260662,陈静,2026-11-27 09:44,已收到"


def csv_file(*lines: str, bom: bool = False, encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def xlsx_file(*rows: tuple) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def parse_csv(*lines: str, **kwargs) -> ParsedExport:
    return parse_export(csv_file(*lines, **kwargs), filename="callbacks.csv")


def export_error(data: bytes, filename: str = "callbacks.csv") -> ExportError:
    with pytest.raises(ExportError) as caught:
        parse_export(data, filename=filename)
    assert_renders(caught.value.key, caught.value.params)
    return caught.value


def assert_renders(key: str, params: dict) -> None:
    """The message exists in both catalogs and takes exactly these parameters."""
    for locale in ("en", "zh_CN"):
        text = Catalog(locale).t(key, **params)
        assert "{" not in text


def problems_of(parsed: ParsedExport) -> list[tuple[int, str, dict]]:
    for problem in parsed.problems:
        assert_renders(problem.key, problem.params)
    return [(p.row, p.key, p.params) for p in parsed.problems]


# --- the samples -------------------------------------------------------------


@pytest.mark.parametrize("name", ["callbacks-2026-11-26.csv", "callbacks-2026-11-26.xlsx"])
def test_samples_parse_to_forty_records(name):
    parsed = parse_export((SAMPLES / name).read_bytes(), filename=name)

    assert parsed.header_row == 1
    assert len(parsed.records) == 40
    assert parsed.problems == [] and parsed.duplicates == []
    assert parsed.records[0] == Record(
        row=2,
        order_no="SO20261126000000",
        rejected_on=date(2026, 11, 26),
        branch="上海浦东分公司",
        category="large",
        scenario="reschedule",
        customer="郑女士 15523938499",
        callback_agent="张敏",
        callback_at=datetime(2026, 11, 27, 14, 33),
        note="客户约定次日下午送货，配送员直接拒收",  # free text keeps its Chinese punctuation
    )
    assert [r.row for r in parsed.records] == list(range(2, 42))


def test_csv_and_xlsx_samples_agree():
    csv_records = parse_export((SAMPLES / "callbacks-2026-11-26.csv").read_bytes(), filename="a.csv").records
    xlsx_records = parse_export((SAMPLES / "callbacks-2026-11-26.xlsx").read_bytes(), filename="a.xlsx").records
    assert csv_records == xlsx_records


# --- encodings and layout ----------------------------------------------------


def test_gbk_csv():
    parsed = parse_csv(HEADER, GOOD_ROW, encoding="gbk")
    (record,) = parsed.records
    assert (record.branch, record.category, record.scenario) == ("杭州分公司", "large", "received")


def test_gb18030_only_characters():
    parsed = parse_csv(HEADER, GOOD_ROW.replace("陈静", "陈𠀀"), encoding="gb18030")
    assert parsed.records[0].callback_agent == "陈𠀀"


@pytest.mark.parametrize("bom", [True, False])
def test_utf8_with_or_without_bom(bom):
    parsed = parse_csv(HEADER, GOOD_ROW, bom=bom)
    assert [r.order_no for r in parsed.records] == ["SO1"]


def test_title_rows_above_the_header():
    parsed = parse_csv("回访结果导出,,,", "导出时间：2026-11-27 08:00,,,", "", HEADER, GOOD_ROW)
    assert parsed.header_row == 4
    assert [r.row for r in parsed.records] == [5]


def test_title_rows_in_xlsx():
    data = xlsx_file(("回访结果",), (), tuple(HEADER.split(",")), tuple(GOOD_ROW.split(",")))
    parsed = parse_export(data, filename="callbacks.xlsx")
    assert parsed.header_row == 3
    assert [r.row for r in parsed.records] == [4]


def test_english_headers_in_another_order_and_any_case_with_extra_columns():
    parsed = parse_csv(
        "Category, ORDER_NO ,Extra,branch,Rejected_On,Note",
        "small,so2,whatever,南京分公司,2026-11-25,客户要求改期",
    )
    (record,) = parsed.records
    assert record == Record(
        row=2, order_no="SO2", rejected_on=date(2026, 11, 25), branch="南京分公司", category="small",
        scenario=None, customer="", callback_agent="", callback_at=None, note="客户要求改期",
    )


def test_full_width_characters_and_stray_spaces():
    parsed = parse_csv(
        "　订单号　, 拒收日期 ,分公司,配送类型,场景,客户,回访人",
        "ＳＯ　１２３ ,２０２６－１１－２６, 杭州  分公司 ,ＬＡＲＧＥ, 客户已收货 ,"
        "吴先生　　１５１４０２６０６６２ , 陈　静",
    )
    (record,) = parsed.records
    assert record.order_no == "SO123"
    assert record.rejected_on == date(2026, 11, 26)
    assert record.branch == "杭州 分公司"
    assert record.category == "large"
    assert record.scenario == "received"
    assert record.customer == "吴先生 15140260662"
    assert record.callback_agent == "陈 静"


def test_short_rows_and_blank_rows():
    parsed = parse_csv(HEADER, "SO1,2026-11-26,杭州分公司,小件", ",,,,,,,,", "", "  ,  ", "SO2,2026-11-26,杭州,小件")
    assert [(r.row, r.order_no, r.note) for r in parsed.records] == [(2, "SO1", ""), (6, "SO2", "")]
    assert parsed.problems == []
    assert parsed.total_rows == 2


def test_quoted_cells_with_commas_and_new_lines():
    parsed = parse_csv(HEADER, 'SO1,2026-11-26,杭州分公司,大件,,"王, 先生",陈静,,"第一行\n第二行"')
    (record,) = parsed.records
    assert (record.customer, record.note) == ("王, 先生", "第一行\n第二行")


# --- dates and times ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26", "2026/11/26", "2026.11.26", "2026年11月26日", "2026/11/26 10:30", "2026-11-26 10:30:05",
        "2026-11-26T10:30:05", "46352", "46352.75", "２０２６年１１月２６日", "20261126",
    ],
)
def test_date_formats(text):
    (record,) = parse_csv("订单号,拒收日期,分公司,配送类型", f"SO1,{text},杭州分公司,大件").records
    assert record.rejected_on == date(2026, 11, 26)


def test_unpadded_dates():
    records = parse_csv("订单号,拒收日期,分公司,配送类型", "SO1,2026/1/5,杭州,大件", "SO2,2026-1-5,杭州,大件").records
    assert [r.rejected_on for r in records] == [date(2026, 1, 5)] * 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27 14:33", datetime(2026, 11, 27, 14, 33)),
        ("2026/11/27 14:33:05", datetime(2026, 11, 27, 14, 33, 5)),
        ("2026年11月27日 9:05", datetime(2026, 11, 27, 9, 5)),
        ("2026.11.27 14:33", datetime(2026, 11, 27, 14, 33)),
        ("2026-11-27T14:33:05", datetime(2026, 11, 27, 14, 33, 5)),
        ("46353.6041666667", datetime(2026, 11, 27, 14, 30)),
        ("", None),
        ("   ", None),
    ],
)
def test_callback_time_formats(text, expected):
    (record,) = parse_csv("订单号,拒收日期,分公司,配送类型,回访时间", f"SO1,2026-11-26,杭州,大件,{text}").records
    assert record.callback_at == expected


def test_xlsx_date_cells_and_serial_numbers():
    data = xlsx_file(
        tuple(HEADER.split(",")),
        ("SO1", datetime(2026, 11, 26), "杭州", "大件", None, None, None, datetime(2026, 11, 27, 14, 33), None),
        ("SO2", date(2026, 11, 26), "杭州", "小件", None, None, None, 46353.6041666667, None),
        ("SO3", 46352, "杭州", "小件", None, None, None, None, None),
        (20261126000004, "2026/11/26", "杭州", "小件", None, None, None, "2026-11-27 09:00", None),
    )
    parsed = parse_export(data, filename="callbacks.XLSX")
    assert parsed.problems == []
    assert [(r.order_no, r.rejected_on, r.callback_at) for r in parsed.records] == [
        ("SO1", date(2026, 11, 26), datetime(2026, 11, 27, 14, 33)),
        ("SO2", date(2026, 11, 26), datetime(2026, 11, 27, 14, 30)),
        ("SO3", date(2026, 11, 26), None),
        ("20261126000004", date(2026, 11, 26), datetime(2026, 11, 27, 9, 0)),
    ]


def test_xlsx_with_a_wrong_stored_size():
    rows = [HEADER, GOOD_ROW, GOOD_ROW.replace("SO1", "SO2")]
    data = xlsx_file(*(tuple(row.split(",")) for row in rows))
    source, patched = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', content)
            target.writestr(item, content)

    parsed = parse_export(patched.getvalue(), filename="callbacks.xlsx")
    assert [(r.order_no, r.note) for r in parsed.records] == [("SO1", "已收到"), ("SO2", "已收到")]


# --- whole-file errors -------------------------------------------------------


def test_missing_required_columns_are_all_named():
    error = export_error(csv_file("订单号,分公司,场景,回访记录", "SO1,杭州,客户已收货,x"))
    assert error.key == "import.missing_columns"
    assert error.params["columns"] == "拒收日期/rejected_on, 配送类型/category"


def test_no_header_at_all_names_every_required_column():
    error = export_error(csv_file("a,b,c", "1,2,3"))
    assert error.key == "import.missing_columns"
    for column in ("订单号/order_no", "拒收日期/rejected_on", "分公司/branch", "配送类型/category"):
        assert column in error.params["columns"]


def test_header_below_the_search_window_is_not_found():
    error = export_error(csv_file(*(["title"] * 20), HEADER, GOOD_ROW))
    assert error.key == "import.missing_columns"


def test_a_column_twice_in_the_header():
    error = export_error(csv_file(HEADER + ",order_no", GOOD_ROW))
    assert (error.key, error.params["column"]) == ("import.duplicate_column", "订单号/order_no")


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n\r\n", b",,,\r\n,,\r\n"])
def test_empty_csv(data):
    assert export_error(data).key == "import.empty"


def test_empty_xlsx():
    assert export_error(xlsx_file(), filename="callbacks.xlsx").key == "import.empty"


def test_header_only_is_not_an_error():
    parsed = parse_csv(HEADER)
    assert (parsed.header_row, parsed.records, parsed.total_rows) == (1, [], 0)


@pytest.mark.parametrize("filename", ["callbacks.xls", "callbacks.txt", "callbacks"])
def test_unsupported_file_type(filename):
    error = export_error(csv_file(HEADER, GOOD_ROW), filename=filename)
    assert (error.key, error.params) == ("import.unsupported_type", {"filename": filename})


def test_undecodable_csv():
    assert export_error(b"\xff\xff\x80\x80,\xff\r\n").key == "import.undecodable"


def test_utf16_csv_is_refused():
    assert export_error(("\ufeff" + HEADER + "\r\n" + GOOD_ROW).encode("utf-16-le")).key == "import.undecodable"


def test_not_really_an_xlsx():
    error = export_error(csv_file(HEADER, GOOD_ROW), filename="callbacks.xlsx")
    assert (error.key, error.params) == ("files.broken_zip", {"detail": "File is not a zip file"})


# --- bad rows ------------------------------------------------------------------


def test_bad_rows_are_reported_and_good_rows_kept():
    parsed = parse_csv(
        HEADER,
        GOOD_ROW,
        "SO2,2026-13-45,杭州分公司,大件,,,,,",
        "SO3,2026-11-26,杭州分公司,中件,,,,,",
        "SO4,2026-11-26,杭州分公司,小件,客户不在家,,,,",
        "SO5,2026-11-26,杭州分公司,小件,,,,明天下午,",
        ",2026-11-26,,小件,,,,,",
        "SO7,,杭州分公司,,,,,,",
        "S" * 65 + ",2026-11-26,杭州分公司,小件,,,,,",
        "SO9,2026-11-26,杭州分公司,L,,,,,",
        "SO10,2026-11-26,杭州分公司,大件,,,,,",
    )
    assert [r.order_no for r in parsed.records] == ["SO1", "SO10"]
    assert problems_of(parsed) == [
        (3, "import.bad_date", {"column": "拒收日期", "value": "2026-13-45"}),
        (4, "import.unknown_category", {"column": "配送类型", "value": "中件"}),
        (5, "import.unknown_scenario", {"column": "场景", "value": "客户不在家"}),
        (6, "import.bad_callback_at", {"column": "回访时间", "value": "明天下午"}),
        (7, "import.missing_value", {"column": "订单号"}),
        (7, "import.missing_value", {"column": "分公司"}),
        (8, "import.missing_value", {"column": "拒收日期"}),
        (8, "import.missing_value", {"column": "配送类型"}),
        (9, "import.too_long", {"column": "订单号", "length": 65, "limit": 64}),
        (10, "import.unknown_category", {"column": "配送类型", "value": "L"}),
    ]
    assert parsed.total_rows == 10


def test_problems_name_the_column_as_the_file_does():
    parsed = parse_csv("order_no,rejected_on,branch,category", "SO1,yesterday,杭州,large")
    assert problems_of(parsed) == [(2, "import.bad_date", {"column": "rejected_on", "value": "yesterday"})]


def test_implausible_serial_numbers_are_bad_dates():
    parsed = parse_csv("订单号,拒收日期,分公司,配送类型", "SO1,2026,杭州,大件", "SO2,7,杭州,大件")
    assert [(row, key) for row, key, _ in problems_of(parsed)] == [(2, "import.bad_date"), (3, "import.bad_date")]


def test_over_long_branch_and_agent():
    parsed = parse_csv("订单号,拒收日期,分公司,配送类型,回访人", f"SO1,2026-11-26,{'杭' * 129},大件,{'王' * 65}")
    assert problems_of(parsed) == [
        (2, "import.too_long", {"column": "分公司", "length": 129, "limit": 128}),
        (2, "import.too_long", {"column": "回访人", "length": 65, "limit": 64}),
    ]


# --- duplicates ----------------------------------------------------------------


def test_duplicates_within_the_file():
    parsed = parse_csv(
        HEADER,
        GOOD_ROW,
        "SO2,2026-11-26,杭州分公司,大件",
        "so1 ,2026/11/26,南京分公司,小件",  # the same key once normalised, other content
        "SO1,2026-11-25,杭州分公司,大件",  # same order, another day: a record of its own
        GOOD_ROW,
    )
    assert [(r.row, r.order_no, r.rejected_on.day) for r in parsed.records] == [
        (2, "SO1", 26), (3, "SO2", 26), (5, "SO1", 25),
    ]
    assert parsed.duplicates == [(4, 2), (6, 2)]
    assert parsed.total_rows == 5


# --- value helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("大件", "large"), ("Large", "large"), (" ＬＡＲＧＥ ", "large"), ("小件", "small"), ("SMALL", "small"),
     ("中件", None), ("", None), (None, None)],
)
def test_parse_category(text, expected):
    assert parse_category(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("客户已收货", "received"), ("Received", "received"), ("客户要求改期", "reschedule"),
     ("RESCHEDULE", "reschedule"), ("", None), ("客户不在家", None)],
)
def test_parse_scenario(text, expected):
    assert parse_scenario(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("SO123", "SO123"), ("so123", "SO123"), (" SO 123\t", "SO123"), ("ＳＯ１２３", "SO123"), ("SO-12　3", "SO-123")],
)
def test_normalise_order_no(text, expected):
    assert normalise_order_no(text) == expected
