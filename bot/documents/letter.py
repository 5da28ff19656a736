"""The work contact letter (工作联系函) as files: DOCX (python-docx) and PDF
(reportlab), rendered from ``bot.core.letters.LetterFacts``.

``letter_text`` turns the facts into the letter's blocks (title, heading,
paragraph, table…) in one locale; both renderers draw exactly those blocks,
so the DOCX and the PDF say the same thing. Every sentence comes from the
``letterdoc`` catalog, every value from the facts: nothing is made up.

``locales`` is the letter's languages in order: ``("zh_CN",)`` is the
Chinese letter; ``("zh_CN", "en")`` the Chinese letter followed, from a new
page, by its English version, marked as a translation.

The PDF embeds Noto Sans CJK SC, cut to the letter's characters and
converted to TrueType outlines (``truetype.cjk_truetype``), so it renders
the same everywhere with no system font. (reportlab's built-in CID font
STSong-Light needs no file but is not embedded either: on a machine with no
CJK font, pdftoppm draws its Chinese as empty boxes.) The DOCX names SimSun (宋体) as the
East Asian font (``w:eastAsia``), which every Chinese Word has; Word and
LibreOffice substitute a CJK font where it is missing.

Both renderers are deterministic: the same facts give the same bytes (the
DOCX's dates are the letter's date; the PDF is written in reportlab's
invariant mode), so a hash recorded at approval can be checked by rendering
again.

Errors: ``NoLocale`` (``locales`` is empty), ``bot.i18n.UnknownLocale``,
``fonts.FontMissing``.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import CondPageBreak, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bot.core.letters import LetterFacts, LetterReason, SentEscalation
from bot.core.monthly import Month, Trend
from bot.documents.truetype import cjk_truetype
from bot.i18n import Catalog

DOCX_LATIN_FONT = "Times New Roman"
DOCX_CJK_FONT = "SimSun"  # 宋体: the East Asian font Word uses for this letter


class NoLocale(ValueError):
    """A letter needs at least one locale."""


class Kind(StrEnum):
    TITLE = "title"  # 工作联系函, centred
    META = "meta"  # number and date, right-aligned
    FIELD = "field"  # from, to, subject
    SALUTATION = "salutation"  # 收函部门：
    NOTE = "note"  # "translation, for reference", small
    PARAGRAPH = "paragraph"
    INTRO = "intro"  # a paragraph kept on the page of the table after it
    HEADING = "heading"  # 一、…
    TABLE = "table"  # rows[0] is the header row
    LINE = "line"  # one line of a list (the escalations)
    SIGNATURE = "signature"  # the sender department over the date, right-aligned (approval is recorded apart)


@dataclass(frozen=True, slots=True)
class Block:
    kind: Kind
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()  # TABLE only
    widths: tuple[float, ...] = ()  # TABLE only: each column's share of the text width

    def strings(self) -> list[str]:
        return [self.text, *(cell for row in self.rows for cell in row)]


# --- the text -------------------------------------------------------------------------


def letter_text(facts: LetterFacts, catalog: Catalog) -> list[Block]:
    """The letter in ``catalog``'s language, as blocks to draw in order."""
    t = catalog.t
    owner = _clean(facts.owner)
    month = _month(facts.month, catalog)
    blocks = [
        Block(Kind.TITLE, t("letterdoc.title")),
        Block(Kind.META, t("letterdoc.number", number=_clean(facts.number))),
        Block(Kind.META, t("letterdoc.issued", date=_date(facts.issued_on, catalog))),
        Block(Kind.FIELD, t("letterdoc.from", sender=_clean(facts.sender))),
        Block(Kind.FIELD, t("letterdoc.to", recipient=_clean(facts.recipient))),
        Block(Kind.FIELD, t("letterdoc.subject_line", subject=letter_subject(facts, catalog))),
        Block(Kind.SALUTATION, t("letterdoc.salutation", recipient=_clean(facts.recipient))),
        Block(Kind.PARAGRAPH, t("letterdoc.opening", owner=owner, month=month)),
        Block(Kind.PARAGRAPH, t(_REASONS[facts.reason], owner=owner)),
    ]
    if facts.as_of is not None:
        blocks.append(Block(Kind.PARAGRAPH, t("letterdoc.as_of", at=_local(facts.as_of, facts))))

    sections: list[tuple[str, list[Block]]] = [(t("letterdoc.figures_title", month=month), _figures(facts, catalog, month))]
    sections.append((t("letterdoc.unfixed_title"), _unfixed(facts, catalog)))
    if facts.escalations:
        lines = [
            Block(Kind.LINE, t("letterdoc.escalation_line", at=_local(e.at, facts), level=e.level, recipient=_manager(e, catalog)))
            for e in sorted(facts.escalations, key=lambda e: (e.at, e.level))
        ]
        sections.append((t("letterdoc.escalations_title"), lines))
    if facts.agreement and facts.agreement.strip():
        sections.append((t("letterdoc.agreement_title"), [Block(Kind.PARAGRAPH, _clean(facts.agreement).strip())]))
    sections.append((t("letterdoc.improvement_title"), [Block(Kind.PARAGRAPH, _clean(facts.improvement).strip())]))
    sections.append((t("letterdoc.reply_title"), [
        Block(Kind.PARAGRAPH, t("letterdoc.reply", days=facts.reply_days, date=_date(facts.reply_by, catalog)))
    ]))

    numbers = t("letterdoc.section_numbers").split()
    for number, (title, body) in zip(numbers, sections, strict=False):
        blocks.append(Block(Kind.HEADING, t("letterdoc.section", number=number, title=title)))
        blocks.extend(body)
    blocks += [
        Block(Kind.PARAGRAPH, t("letterdoc.closing")),
        Block(Kind.SIGNATURE, f"{_clean(facts.sender)}\n{_date(facts.issued_on, catalog)}"),
    ]
    return blocks


def letter_subject(facts: LetterFacts, catalog: Catalog) -> str:
    return catalog.t("letterdoc.subject", owner=_clean(facts.owner), month=_month(facts.month, catalog))


_REASONS = {
    LetterReason.ESCALATIONS: "letterdoc.reason_escalations",
    LetterReason.NO_IMPROVEMENT: "letterdoc.reason_no_improvement",
    LetterReason.BY_HAND: "letterdoc.reason_by_hand",
}
_STATUSES = {"confirmed": "letterdoc.status_confirmed", "deemed_confirmed": "letterdoc.status_deemed_confirmed"}


def _figures(facts: LetterFacts, catalog: Catalog, month: str) -> list[Block]:
    t = catalog.t
    c = facts.counts

    def count(n: int) -> str:
        return t("letterdoc.count", count=n)

    share = (
        t("letterdoc.share", count=c.fixed_in_window, percent=round(c.fixed_in_window * 100 / c.fixed))
        if c.fixed else count(c.fixed_in_window)
    )
    rows = (
        (t("letterdoc.col_item"), t("letterdoc.col_value", month=month)),
        (t("letterdoc.fig_posted"), count(c.posted)),
        (t("letterdoc.fig_confirmed"), count(c.confirmed)),
        (t("letterdoc.fig_deemed"), count(c.deemed)),
        (t("letterdoc.fig_disputed"), count(c.disputed)),
        (t("letterdoc.fig_upheld"), count(c.upheld)),
        (t("letterdoc.fig_overruled"), count(c.overruled)),
        (t("letterdoc.fig_open"), count(c.open)),
        (t("letterdoc.fig_mistaken"), count(c.mistaken)),
        (t("letterdoc.fig_fixed"), count(c.fixed)),
        (t("letterdoc.fig_fixed_in_window"), share),
        (t("letterdoc.fig_answer_median"), _hours(c.answer_median, catalog)),
        (t("letterdoc.fig_fix_median"), _hours(c.fix_median, catalog)),
        (t("letterdoc.fig_escalations"), t("letterdoc.times", count=c.escalations)),
    )
    blocks = [Block(Kind.TABLE, rows=rows, widths=(0.7, 0.3))]
    if facts.previous_mistaken is None:
        blocks.append(Block(Kind.PARAGRAPH, t("letterdoc.compare_none", current=c.mistaken)))
    else:
        trend = Trend(previous=facts.previous_mistaken, current=c.mistaken)
        change = trend.arrow if trend.percent is None else f"{trend.arrow} {trend.percent:+d}%" if trend.percent else f"{trend.arrow} 0%"
        blocks.append(Block(Kind.PARAGRAPH, t("letterdoc.compare", previous=facts.previous_mistaken, current=c.mistaken, change=change)))
    if facts.per_item is not None:
        blocks.append(Block(Kind.PARAGRAPH, t("letterdoc.penalty", per_item=facts.per_item, amount=facts.per_item * c.mistaken, count=c.mistaken)))
    return blocks


def _unfixed(facts: LetterFacts, catalog: Catalog) -> list[Block]:
    t = catalog.t
    if not facts.unfixed:
        return [Block(Kind.PARAGRAPH, t("letterdoc.unfixed_none"))]
    rows = [(t("letterdoc.col_order"), t("letterdoc.col_rejected_on"), t("letterdoc.col_branch"), t("letterdoc.col_status"), t("letterdoc.col_since"))]
    for item in sorted(facts.unfixed, key=lambda i: (i.rejected_on, i.since, i.order_no)):
        status = t(_STATUSES[item.status]) if item.status in _STATUSES else _clean(item.status)
        rows.append((_clean(item.order_no), item.rejected_on.isoformat(), _clean(item.branch), status,
                     item.since.astimezone(facts.timezone).date().isoformat()))
    return [
        Block(Kind.INTRO, t("letterdoc.unfixed_intro", count=len(facts.unfixed))),
        Block(Kind.TABLE, rows=tuple(rows), widths=(0.27, 0.18, 0.21, 0.16, 0.18)),
    ]


def _manager(escalation: SentEscalation, catalog: Catalog) -> str:
    """Whom an escalation went to, as a reader knows them: their name in
    Slack, else the level's role (never a Slack user id)."""
    return _clean(escalation.name).strip() or catalog.t("letterdoc.escalation_role", level=escalation.level)


def _date(day: date, catalog: Catalog) -> str:
    return catalog.t("letterdoc.date", year=day.year, month=f"{day.month:02d}", day=f"{day.day:02d}")


def _month(month: Month, catalog: Catalog) -> str:
    return catalog.t("letterdoc.month", year=month.year, month=f"{month.month:02d}")


def _local(at: datetime, facts: LetterFacts) -> str:
    return at.astimezone(facts.timezone).strftime("%Y-%m-%d %H:%M")


def _hours(value: timedelta | None, catalog: Catalog) -> str:
    if value is None:
        return catalog.t("letterdoc.no_value")
    return catalog.t("letterdoc.hours", hours=f"{value.total_seconds() / 3600:.1f}")


def _clean(text: str) -> str:
    """Text as typed (a routing file, a Slack modal) without the control
    characters XML cannot carry; line breaks and tabs stay."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or (unicodedata.category(c) not in ("Cc", "Cs") and c not in "\ufffe\uffff"))


def _parts(facts: LetterFacts, locales: Sequence[str]) -> list[tuple[str, list[Block]]]:
    if not locales:
        raise NoLocale("a letter needs at least one locale")
    parts = []
    for index, locale in enumerate(locales):
        catalog = Catalog(locale)
        blocks = letter_text(facts, catalog)
        if index:
            blocks.insert(1, Block(Kind.NOTE, catalog.t("letterdoc.translation_note")))
        parts.append((locale, blocks))
    return parts


def _is_cjk(locale: str) -> bool:
    return locale.startswith(("zh", "ja", "ko"))


# --- DOCX ------------------------------------------------------------------------------


def render_letter_docx(facts: LetterFacts, *, locales: Sequence[str]) -> bytes:
    """The letter as a Word document (A4), one part per locale."""
    parts = _parts(facts, locales)
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(22)
    _docx_fonts(document)
    for index, (locale, blocks) in enumerate(parts):
        if index:
            document.add_page_break()
        for block in blocks:
            _docx_block(document, block, section.page_width - section.left_margin - section.right_margin, cjk=_is_cjk(locale))
    props = document.core_properties
    issued = datetime.combine(facts.issued_on, time())
    props.title = _clean(letter_subject(facts, Catalog(parts[0][0])))
    props.subject = _clean(facts.number)
    props.author = props.last_modified_by = _clean(facts.sender)
    props.created = props.modified = issued
    props.revision = 1
    out = io.BytesIO()
    document.save(out)
    return _fixed_zip_times(out.getvalue(), issued)


def _docx_fonts(document) -> None:
    """Latin and East Asian fonts by name, in the defaults and in Normal: no
    theme fonts, which would win over the names."""
    for rpr in (document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")),
                document.styles["Normal"].element.get_or_add_rPr()):
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.insert(0, fonts)
        for attribute in list(fonts.attrib):
            del fonts.attrib[attribute]
        for slot, name in (("w:ascii", DOCX_LATIN_FONT), ("w:hAnsi", DOCX_LATIN_FONT), ("w:cs", DOCX_LATIN_FONT), ("w:eastAsia", DOCX_CJK_FONT)):
            fonts.set(qn(slot), name)
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:eastAsia"), "zh-CN")
    document.styles["Normal"].font.size = Pt(11)


_DOCX_LOOK = {  # kind: (size in points, bold, alignment, space after in points)
    Kind.TITLE: (20, True, WD_ALIGN_PARAGRAPH.CENTER, 12),
    Kind.META: (10.5, False, WD_ALIGN_PARAGRAPH.RIGHT, 0),
    Kind.FIELD: (11, False, WD_ALIGN_PARAGRAPH.LEFT, 2),
    Kind.SALUTATION: (11, False, WD_ALIGN_PARAGRAPH.LEFT, 6),
    Kind.INTRO: (11, False, WD_ALIGN_PARAGRAPH.LEFT, 4),
    Kind.NOTE: (9, False, WD_ALIGN_PARAGRAPH.LEFT, 8),
    Kind.PARAGRAPH: (11, False, WD_ALIGN_PARAGRAPH.LEFT, 6),
    Kind.HEADING: (12, True, WD_ALIGN_PARAGRAPH.LEFT, 4),
    Kind.LINE: (11, False, WD_ALIGN_PARAGRAPH.LEFT, 2),
    Kind.SIGNATURE: (11, False, WD_ALIGN_PARAGRAPH.RIGHT, 0),
}


def _docx_block(document, block: Block, text_width, *, cjk: bool) -> None:
    if block.kind is Kind.TABLE:
        table = document.add_table(rows=len(block.rows), cols=len(block.rows[0]))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for c, share in enumerate(block.widths):
            table.columns[c].width = int(text_width * share)  # the grid LibreOffice reads; Word reads each cell's
        for r, row in enumerate(block.rows):
            for c, text in enumerate(row):
                cell = table.cell(r, c)
                cell.width = int(text_width * block.widths[c])
                paragraph = cell.paragraphs[0]
                paragraph.paragraph_format.space_after = Pt(0)
                run = paragraph.add_run(text)
                run.font.size = Pt(10)
                run.bold = r == 0
        document.add_paragraph().paragraph_format.space_after = Pt(0)
        return
    size, bold, alignment, after = _DOCX_LOOK[block.kind]
    if block.kind is Kind.PARAGRAPH and "\n" in block.text:  # typed paragraphs: each its own, each indented
        lines = block.text.split("\n")
        for index, line in enumerate(lines):
            _docx_block(document, Block(Kind.PARAGRAPH, line), text_width, cjk=cjk)
            if index < len(lines) - 1:
                document.paragraphs[-1].paragraph_format.space_after = Pt(2)
        return
    paragraph = document.add_paragraph()
    paragraph.alignment = alignment
    paragraph.paragraph_format.space_after = Pt(after)
    if block.kind is Kind.HEADING:
        paragraph.paragraph_format.space_before = Pt(8)
    if block.kind in (Kind.HEADING, Kind.INTRO):
        paragraph.paragraph_format.keep_with_next = True
    if block.kind is Kind.SALUTATION:
        paragraph.paragraph_format.space_before = Pt(10)
    if block.kind is Kind.PARAGRAPH and cjk:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)  # 首行缩进两字
    if block.kind is Kind.SIGNATURE:
        paragraph.paragraph_format.space_before = Pt(24)
    run = paragraph.add_run(block.text)  # python-docx turns \n into a line break (the signature's) and \t into a tab
    run.font.size = Pt(size)
    run.bold = bold
    if block.kind is Kind.NOTE:
        run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)


def _fixed_zip_times(data: bytes, at: datetime) -> bytes:
    """The same package with every member dated ``at``: python-docx stamps
    the time of saving, which would make each rendering's hash differ."""
    stamp = (at.year, at.month, at.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            target.writestr(member, source.read(info.filename))
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------


def render_letter_pdf(facts: LetterFacts, *, locales: Sequence[str]) -> bytes:
    """The letter as a PDF (A4) with the CJK font embedded, one part per
    locale, each part from a new page."""
    parts = _parts(facts, locales)
    footer = _clean(facts.number)
    used = "".join(s for _, blocks in parts for block in blocks for s in block.strings()) + footer + " ·0123456789"
    font = _pdf_font(used)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=22 * mm, bottomMargin=22 * mm,
        title=letter_subject(facts, Catalog(parts[0][0])), author=_clean(facts.sender), subject=footer,
        creator="rejectbot", invariant=1, initialFontName=font,
    )

    def page_footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"{footer} · {doc.page}")
        canvas.restoreState()

    story = []
    for index, (locale, blocks) in enumerate(parts):
        if index:
            story.append(PageBreak())
        styles = _pdf_styles(font, cjk=_is_cjk(locale))
        for block in blocks:
            story.extend(_pdf_block(block, styles, document.width))
    document.build(story, onFirstPage=page_footer, onLaterPages=page_footer)
    return out.getvalue()


def _pdf_font(text: str) -> str:
    """Register the CJK font cut to ``text``'s characters with reportlab (once
    per character set: the name is the set's hash) and return its name."""
    characters = "".join(sorted(set(text)))
    name = "NotoSansCJKsc-" + hashlib.sha256(characters.encode("utf-8")).hexdigest()[:16]
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, io.BytesIO(cjk_truetype(characters, name=name))))
    return name


def _pdf_styles(font: str, *, cjk: bool) -> dict[Kind | str, ParagraphStyle]:
    wrap = "CJK" if cjk else None  # CJK text may break between any two characters

    def style(name: str, size: float, alignment: int = TA_LEFT, *, before: float = 0, after: float = 4,
              indent: float = 0, colour=colors.black) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.5, alignment=alignment,
                              spaceBefore=before, spaceAfter=after, firstLineIndent=indent, wordWrap=wrap, textColor=colour)

    return {
        Kind.TITLE: style("title", 20, TA_CENTER, after=14),
        Kind.META: style("meta", 10.5, TA_RIGHT, after=0),
        Kind.FIELD: style("field", 11, after=2),
        Kind.SALUTATION: style("salutation", 11, before=10, after=6),
        Kind.INTRO: style("intro", 11, after=4),
        Kind.NOTE: style("note", 9, after=8, colour=colors.HexColor("#555555")),
        Kind.PARAGRAPH: style("paragraph", 11, after=6, indent=22 if cjk else 0),  # 首行缩进两字
        "line_of_paragraph": style("line_of_paragraph", 11, after=2, indent=22 if cjk else 0),
        Kind.HEADING: style("heading", 12, before=8, after=4),
        Kind.LINE: style("line", 11, after=2),
        Kind.SIGNATURE: style("signature", 11, TA_RIGHT, before=24, after=0),
        "cell": style("cell", 10, after=0),
    }


def _pdf_block(block: Block, styles, width: float) -> list:
    if block.kind is Kind.TABLE:
        cell = styles["cell"]
        rows = [[Paragraph(_markup(text), cell) for text in row] for row in block.rows]
        table = Table(rows, colWidths=[width * w for w in block.widths], repeatRows=1)
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), cell.fontName, cell.fontSize),  # else the table selects Helvetica (unembedded)
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]))
        return [table, Spacer(1, 6)]
    if block.kind is Kind.HEADING:
        # to the next page only when less than a few lines are left: keeping
        # it with a long paragraph would push both to the next page
        return [CondPageBreak(30 * mm), Paragraph(_markup(block.text), styles[block.kind])]
    if block.kind is Kind.PARAGRAPH and "\n" in block.text:  # typed paragraphs: each its own, each indented
        lines = block.text.split("\n")
        return [
            Paragraph(_markup(line), styles[Kind.PARAGRAPH] if index == len(lines) - 1 else styles["line_of_paragraph"])
            if line.strip() else Spacer(1, styles[Kind.PARAGRAPH].leading / 2)
            for index, line in enumerate(lines)
        ]
    flowable = Paragraph(_markup(block.text), styles[block.kind])
    flowable.keepWithNext = block.kind is Kind.INTRO  # with its table
    return [flowable]


def _markup(text: str) -> str:
    """Text as reportlab's Paragraph markup: <, > and & escaped, line breaks kept."""
    return escape(text).replace("\t", " ").replace("\n", "<br/>")
