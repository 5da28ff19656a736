"""The work contact letter's files: the DOCX read back with python-docx, the
PDF with pypdf, and the PDF's embedded font read with fontTools. The facts
are built by hand; every expected figure below is worked out by hand here."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import docx
import pytest
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from bot.core.letters import LetterFacts, LetterReason, SentEscalation, UnfixedItem
from bot.core.monthly import Counts, Month
from bot.documents.letter import NoLocale, letter_text, render_letter_docx, render_letter_pdf
from bot.documents.truetype import cjk_truetype
from bot.i18n import Catalog, UnknownLocale

ORDERS = ("SO2026110301", "SO2026110517", "XS-77-0042", "SO2026111288")

FACTS = LetterFacts(
    number="KF-2026-007",
    issued_on=date(2026, 12, 2),
    sender="回访部",
    recipient="物流公司配送运营管理中心",
    owner="小件配送",
    month=Month(2026, 11),
    reason=LetterReason.NO_IMPROVEMENT,
    # posted 23 = confirmed 11 + deemed 5 + overruled 1 + upheld 2 + open 4;
    # disputed 4 = upheld 2 + overruled 1 + one still awaiting CS (among the open).
    counts=Counts(
        posted=23, confirmed=11, deemed=5, disputed=4, upheld=2, overruled=1, open=4, fixed=9, fixed_in_window=6,
        answer_median=timedelta(hours=5, minutes=30), fix_median=timedelta(hours=26), escalations=7,
    ),
    previous_mistaken=13,
    per_item=50,
    unfixed=(
        UnfixedItem(ORDERS[0], date(2026, 11, 3), "南京分公司", "confirmed", datetime(2026, 11, 3, 3, 0, tzinfo=UTC)),
        UnfixedItem(ORDERS[1], date(2026, 11, 5), "苏州分公司", "deemed_confirmed", datetime(2026, 11, 6, 10, 0, tzinfo=UTC)),
        UnfixedItem(ORDERS[2], date(2026, 11, 9), "南京分公司", "confirmed", datetime(2026, 11, 10, 1, 0, tzinfo=UTC)),
        UnfixedItem(ORDERS[3], date(2026, 11, 12), "苏州分公司", "deemed_confirmed", datetime(2026, 11, 13, 10, 0, tzinfo=UTC)),
    ),
    escalations=(
        SentEscalation(datetime(2026, 11, 12, 2, 30, tzinfo=UTC), 1, "U0OPSHEAD", "王经理"),
        SentEscalation(datetime(2026, 11, 18, 6, 0, tzinfo=UTC), 2, "U0LOGIBOSS"),  # Slack gave no name: the level's role
    ),
    agreement="回访部每日发送邮件前先与物流公司核实；客户描述不准确的记录经确认后删除。",
    improvement="请各分公司拒收销售单前先上报退货热线，并每周报告整改进度。",
    reply_days=5,
    reply_by=date(2026, 12, 9),
    as_of=datetime(2026, 12, 1, 0, 45, tzinfo=UTC),
)

ZH = ("zh_CN",)
ZH_EN = ("zh_CN", "en")

# Worked out by hand from FACTS.
ZH_FIGURES = (
    "回访发现并发布的误拒单 23 条",
    "负责人确认 11 条",
    "逾期未答复，默认确认 5 条",
    "提出申诉 4 条",
    "其中：申诉成立（回访部撤回） 2 条",
    "其中：申诉不成立（维持误拒） 1 条",
    "尚待答复或尚待回访部处理 4 条",
    "误拒单合计（确认＋默认确认＋申诉不成立） 17 条",  # 11 + 5 + 1
    "已整改 9 条",
    "其中：在整改时限内完成 6 条（67%）",  # 6 / 9
    "答复用时中位数（工作时间） 5.5 小时",
    "整改用时中位数（工作时间） 26.0 小时",
    "本月发出的升级提醒 7 次",
    "上月误拒单 13 条，本月 17 条（↑ +31%）",  # (17 - 13) / 13 = 30.8 %
    "按每条误拒单 50 元计，本月应处罚 850 元（17 条 × 50 元）",  # 17 × 50
)
EN_FIGURES = (
    "Mistaken rejections found by callbacks and posted 23",
    "Mistaken rejections in all (confirmed + deemed + overruled) 17",
    "of which fixed within the fix window 6 (67%)",
    "Median time to answer (working time) 5.5 h",
    "Previous month: 13 mistaken rejection(s); this month: 17 (↑ +31%)",
    "this month's penalty is 850 yuan (17 × 50 yuan)",
)


# --- reading the files back --------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The PDF's text without the page footers (number · page), whitespace
    collapsed to single spaces (pypdf puts table cells and wrapped lines on
    lines of their own)."""
    pages = []
    for n, page in enumerate(PdfReader(io.BytesIO(data)).pages, start=1):
        text = " ".join(page.extract_text().split())
        footer = f"KF-2026-007 · {n}"
        assert text.count(footer) == 1, f"page {n} has no footer"
        pages.append(text.replace(footer, "").strip())
    return " ".join(pages)


def docx_text(data: bytes) -> str:
    parts = []
    for block in docx.Document(io.BytesIO(data)).iter_inner_content():
        if isinstance(block, docx.table.Table):
            parts.extend(cell.text for row in block.rows for cell in row.cells)
        else:
            parts.append(block.text)
    return " ".join(" ".join(parts).split())


def read(kind: str, facts: LetterFacts = FACTS, locales=ZH) -> str:
    return pdf_text(render_letter_pdf(facts, locales=locales)) if kind == "pdf" else docx_text(render_letter_docx(facts, locales=locales))


def squeeze(text: str) -> str:
    """Without any whitespace: CJK lines wrap between any two characters."""
    return "".join(text.split())


def pdf_fonts(data: bytes) -> dict[str, dict]:
    """Every font of every page: BaseFont -> font dictionary."""
    fonts = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    return fonts


def fonts_drawn_with(data: bytes) -> set[str]:
    """The BaseFont of every font a page's content selects with ``Tf``."""
    used = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        resources = page["/Resources"]["/Font"]
        content = page.get_contents().get_data().decode("latin-1")
        for name in re.findall(r"/([^\s/]+)\s+[\d.]+\s+Tf", content):
            used.add(str(resources["/" + name].get_object()["/BaseFont"]))
    return used


def to_unicode(font: dict) -> dict[int, str]:
    """The font's ToUnicode CMap (reportlab writes one bfchar per code)."""
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    return {int(code, 16): chr(int(uni, 16)) for code, uni in re.findall(r"<([0-9A-F]{2})>\s*<([0-9A-F]{4})>", cmap)}


# --- what the letter says -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_the_chinese_letter_has_its_title_figures_orders_and_deadline(kind: str) -> None:
    text = read(kind)
    assert "工作联系函" in text
    for line in ("编号：KF-2026-007", "日期：2026年12月02日", "发函部门：回访部", "收函部门：物流公司配送运营管理中心",
                 "事由：关于2026年11月小件配送误拒单情况及整改要求的函", "以下数据统计截至 2026-12-01 08:45"):
        assert line in text
    for figure in ZH_FIGURES:
        assert figure in text
    for order in ORDERS:
        assert order in text
    # the unfixed items, oldest first, with their dates; "since" in Shanghai time (10:00 UTC is 18:00 there)
    assert "SO2026110301 2026-11-03 南京分公司 已确认 2026-11-03" in text
    assert "SO2026110517 2026-11-05 苏州分公司 逾期默认确认 2026-11-06" in text
    assert text.index(ORDERS[0]) < text.index(ORDERS[1]) < text.index(ORDERS[2]) < text.index(ORDERS[3])
    # escalations in the team's time (UTC+8), the agreement, the improvement, the deadline
    assert "2026-11-12 10:30 第 1 级 发送给 王经理" in text
    assert "2026-11-18 14:00 第 2 级 发送给 第 2 级上级" in text
    assert "U0OPSHEAD" not in text and "U0LOGIBOSS" not in text  # never a Slack user id
    assert squeeze(FACTS.agreement) in squeeze(text)
    assert squeeze(FACTS.improvement) in squeeze(text)
    assert squeeze("请于本函发出后 5 个工作日内，即 2026年12月09日 前，书面回复整改措施及完成时间。") in squeeze(text)
    # numbered sections, in order; the signature: the sender department and the date
    headings = ["一、2026年11月误拒单情况", "二、尚未整改的误拒单", "三、升级提醒记录", "四、此前约定", "五、整改要求", "六、回复期限"]
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)
    assert "特此函告。 回访部 2026年12月02日" in text
    assert "Work Contact Letter" not in text


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_the_english_version_follows_the_chinese_letter(kind: str) -> None:
    text = read(kind, locales=ZH_EN)
    for figure in ZH_FIGURES:
        assert figure in text
    english = text[text.index("Work Contact Letter"):]
    assert text.index("工作联系函") < text.index("Work Contact Letter")
    assert "English translation, for reference only" in english
    for line in ("No.: KF-2026-007", "Date: 2026-12-02", "From: 回访部", "To: 物流公司配送运营管理中心",
                 "Subject: Mistaken rejections of 小件配送 in 2026-11 and the improvement requested",
                 "1. Mistaken rejections in 2026-11", "6. Reply deadline",
                 "2026-11-12 10:30 · level 1 · to 王经理", "2026-11-18 14:00 · level 2 · to the escalation level 2 manager",
                 "that is by 2026-12-09"):
        assert line in english
    for figure in EN_FIGURES:
        assert figure in english
    for order in ORDERS:
        assert order in english
    assert squeeze(FACTS.improvement) in squeeze(english)


def test_both_documents_say_exactly_the_blocks_of_letter_text() -> None:
    pdf, word = squeeze(read("pdf", locales=ZH_EN)), squeeze(read("docx", locales=ZH_EN))
    for locale in ZH_EN:
        for block in letter_text(FACTS, Catalog(locale)):
            for text in block.strings():
                assert squeeze(text) in pdf, text
                assert squeeze(text) in word, text


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_what_is_not_set_is_not_said(kind: str) -> None:
    bare = replace(
        FACTS, reason=LetterReason.BY_HAND, per_item=None, previous_mistaken=None, unfixed=(), escalations=(), agreement="  ",
        counts=Counts(posted=3, confirmed=2, open=1), as_of=None,
    )
    text = read(kind, bare)
    assert "元" not in text  # no penalty without an amount
    assert "上月没有误拒单记录，本月 2 条" in text
    assert "截至发函之日，没有尚未整改的误拒单" in text
    assert "升级提醒记录" not in text and "此前约定" not in text and "统计截至" not in text
    assert "答复用时中位数（工作时间） 无" in text
    assert "其中：在整改时限内完成 0 条" in text  # no share of nothing
    # the sections are numbered without gaps
    assert ["一、2026年11月误拒单情况", "二、尚未整改的误拒单", "三、整改要求", "四、回复期限"] == re.findall(r"[一二三四五六]、\S+", text)


@pytest.mark.parametrize(("reason", "said"), [
    (LetterReason.ESCALATIONS, "发函原因：本月小件配送的误拒单跟进已升级至最高一级负责人"),
    (LetterReason.NO_IMPROVEMENT, "发函原因：本月误拒单数量与上月相比未见下降"),
    (LetterReason.BY_HAND, "发函原因：回访部根据误拒单跟进情况发函"),
])
def test_the_letter_says_why_it_was_sent(reason: LetterReason, said: str) -> None:
    assert said in read("docx", replace(FACTS, reason=reason))


def test_the_month_over_month_change_is_shown_when_it_falls_or_holds() -> None:
    assert "上月误拒单 20 条，本月 17 条（↓ -15%）" in read("docx", replace(FACTS, previous_mistaken=20))  # -3 / 20
    assert "上月误拒单 17 条，本月 17 条（→ 0%）" in read("docx", replace(FACTS, previous_mistaken=17))
    assert "上月误拒单 0 条，本月 17 条（↑）" in read("docx", replace(FACTS, previous_mistaken=0))


# --- text the CS lead typed ------------------------------------------------------------


MARKUP = "<b>不要加粗</b> & 'quotes' \"double\" <br/> &amp; a<b"


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_markup_like_characters_render_literally(kind: str) -> None:
    text = read(kind, replace(FACTS, improvement=MARKUP, agreement="A & B <约定>"))
    assert squeeze(MARKUP) in squeeze(text)
    assert "A & B <约定>" in text


LONG = "\n".join(f"第{n}条：各分公司拒收销售单前必须先上报退货热线，回访部核实后方可关闭；本条编号 N{n:03d}。" for n in range(1, 121))


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_a_long_improvement_text_wraps_across_pages_and_loses_nothing(kind: str) -> None:
    facts = replace(FACTS, improvement=LONG)
    text = read(kind, facts)
    assert squeeze(LONG) in squeeze(text)
    assert "N120" in text and "六、回复期限" in text
    if kind == "pdf":
        assert len(PdfReader(io.BytesIO(render_letter_pdf(facts, locales=ZH))).pages) >= 4
        short = len(PdfReader(io.BytesIO(render_letter_pdf(FACTS, locales=ZH))).pages)
        assert short == 2


def test_a_long_unbroken_line_in_the_english_version_is_kept() -> None:
    unbroken = "X" * 300 + "整改" * 200
    assert squeeze(unbroken) in squeeze(read("pdf", replace(FACTS, improvement=unbroken), ZH_EN))


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_control_characters_are_dropped_and_the_rest_kept(kind: str) -> None:
    # XML cannot carry \x00 or \x0b: python-docx would raise on them
    text = read(kind, replace(FACTS, improvement="第一行\x00\x0b\r\n第二行\x1f结束", owner="小件\x07配送"))
    assert squeeze("第一行第二行结束") in squeeze(text)
    assert "小件配送" in text


# --- the PDF's font ---------------------------------------------------------------------


@pytest.mark.parametrize("locales", [ZH, ZH_EN])
def test_the_pdf_embeds_the_cjk_font_with_a_glyph_for_every_character(locales) -> None:
    data = render_letter_pdf(FACTS, locales=locales)
    text = squeeze(pdf_text(data))
    drawn = fonts_drawn_with(data)
    assert drawn and all(re.fullmatch(r"/[A-Z]{6}\+NotoSansCJKsc-[0-9a-f]{16}", name) for name in drawn), drawn
    outlines: dict[str, int] = {}  # character -> contours of its glyph in the embedded font
    for name, font in pdf_fonts(data).items():
        if name not in drawn:
            continue
        program = TTFont(io.BytesIO(font["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()))
        (cmap,) = program["cmap"].tables  # reportlab's subsets map each code to a glyph
        for code, char in to_unicode(font).items():
            if code and code in cmap.cmap:
                outlines[char] = max(outlines.get(char, 0), program["glyf"][cmap.cmap[code]].numberOfContours)
    covered = {char for char, contours in outlines.items() if contours > 0}
    assert set(text) <= covered, sorted(set(text) - covered)
    assert {"工", "函", "误", "拒", "K", "0", "（", "："} <= covered
    if locales == ZH_EN:
        assert {"W", "k", "y", "(", "×"} <= covered


def test_a_second_letter_in_the_same_process_keeps_its_own_characters() -> None:
    # reportlab keeps one font per PostScript name for the life of the
    # process: each subset must be named apart, or the second letter is drawn
    # with the first one's glyphs (its Latin letters were lost that way).
    render_letter_pdf(replace(FACTS, owner="大件配送"), locales=ZH)
    data = render_letter_pdf(replace(FACTS, improvement="Please report every rejection to the returns hotline."), locales=ZH_EN)
    text = pdf_text(data)
    assert "Please report every rejection to the returns hotline." in text
    assert "Work Contact Letter" in text


def test_the_subset_font_has_outlines_for_its_characters_and_its_own_name() -> None:
    font = TTFont(io.BytesIO(cjk_truetype("工作联系函 KF-2026 ¥（）😀", name="Letter-Test")))
    assert "glyf" in font and "CFF " not in font
    cmap = font.getBestCmap()
    for char in "工作联系函KF-2026¥（）":
        assert font["glyf"][cmap[ord(char)]].numberOfContours > 0, char
    assert ord("😀") not in cmap  # not in Noto Sans CJK: it becomes the .notdef box
    assert ord("字") not in cmap  # only what the text uses
    assert font["name"].getDebugName(6) == "Letter-Test"
    with pytest.raises(ValueError):
        cjk_truetype("工", name="has spaces")


# --- the DOCX ---------------------------------------------------------------------------


def test_the_docx_names_an_east_asian_font_and_no_theme_font() -> None:
    document = docx.Document(io.BytesIO(render_letter_docx(FACTS, locales=ZH)))
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    normal = document.styles["Normal"].element.rPr
    for rpr in (defaults, normal):
        fonts = rpr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) == "SimSun"
        assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would win over the name
        assert rpr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"


def test_the_english_version_starts_on_a_new_page_in_the_docx() -> None:
    document = docx.Document(io.BytesIO(render_letter_docx(FACTS, locales=ZH_EN)))
    texts = [p.text for p in document.paragraphs]
    title = texts.index("Work Contact Letter")
    breaks = document.paragraphs[title - 1]._p.xpath(".//w:br[@w:type='page']")
    assert breaks


def test_the_same_facts_give_the_same_bytes() -> None:
    assert render_letter_docx(FACTS, locales=ZH_EN) == render_letter_docx(FACTS, locales=ZH_EN)
    assert render_letter_pdf(FACTS, locales=ZH_EN) == render_letter_pdf(FACTS, locales=ZH_EN)
    other = replace(FACTS, reply_by=date(2026, 12, 10))
    assert render_letter_pdf(other, locales=ZH) != render_letter_pdf(FACTS, locales=ZH)
    data = render_letter_docx(FACTS, locales=ZH)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert {info.date_time for info in package.infolist()} == {(2026, 12, 2, 0, 0, 0)}
    props = docx.Document(io.BytesIO(data)).core_properties
    assert props.created == props.modified == datetime(2026, 12, 2, tzinfo=UTC)
    assert props.author == "回访部" and props.subject == "KF-2026-007"


# --- bad calls ----------------------------------------------------------------------------


@pytest.mark.parametrize("render", [render_letter_docx, render_letter_pdf])
def test_a_letter_needs_a_known_locale(render) -> None:
    with pytest.raises(NoLocale):
        render(FACTS, locales=())
    with pytest.raises(UnknownLocale):
        render(FACTS, locales=("fr",))


def test_each_typed_line_is_a_paragraph_of_its_own_indented_in_chinese() -> None:
    document = docx.Document(io.BytesIO(render_letter_docx(replace(FACTS, improvement="一、先上报热线。\n二、每周报告进度。"), locales=ZH)))
    paragraphs = {p.text: p for p in document.paragraphs}
    for line in ("一、先上报热线。", "二、每周报告进度。"):
        assert paragraphs[line].paragraph_format.first_line_indent is not None  # 首行缩进
    assert "一、先上报热线。\n二、每周报告进度。" not in paragraphs
