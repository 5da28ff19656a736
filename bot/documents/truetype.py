"""The packaged CJK font, cut down to the characters of one document and
converted to TrueType outlines, in memory, so that reportlab can embed it.

Noto Sans CJK SC (``fonts.cjk_font_path``) is an OpenType font with CFF
(cubic) outlines; reportlab's ``TTFont`` embeds only TrueType (quadratic,
``glyf``) outlines. fontTools subsets the font to the characters used (the
full font has 65,535 glyphs; a letter uses a few hundred) and converts each
glyph with cu2qu, the way fontTools' ``otf2ttf`` snippet does. Characters
the font lacks (emoji, say) get the font's .notdef box: the text is kept,
only its glyph is a box.

Errors: ``fonts.FontMissing`` when the packaged font is not installed.
"""

from __future__ import annotations

import io

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.subset import Options, Subsetter
from fontTools.ttLib import TTFont, newTable

from bot.documents.fonts import cjk_font_path

# The largest distance, in font units (1000 per em), between a cubic curve
# and its quadratic replacement: fontTools' otf2ttf default, invisible in print.
MAX_ERROR = 1.0
_DROPPED = ["GSUB", "GPOS", "BASE", "VORG", "vhea", "vmtx", "DSIG", "JSTF", "MATH"]


def cjk_truetype(text: str, *, name: str) -> bytes:
    """Noto Sans CJK SC with exactly the glyphs ``text`` needs (plus .notdef),
    as a TrueType (``glyf``) font file whose PostScript name is ``name``.

    Give each different subset its own name: reportlab keeps one font per
    PostScript name for the life of the process, so a second subset under
    the first one's name would be drawn with the first one's glyphs."""
    options = Options()
    options.layout_features = []  # reportlab shapes nothing: one glyph per character
    options.hinting = False
    options.notdef_outline = True  # a missing character shows as a box, not as nothing
    options.name_IDs = ["*"]
    options.drop_tables = [*options.drop_tables, *_DROPPED]
    font = TTFont(cjk_font_path(), lazy=True)
    subsetter = Subsetter(options)
    subsetter.populate(unicodes={ord(c) for c in text} | {0x20})
    subsetter.subset(font)
    _cff_to_glyf(font)
    _rename(font, name)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _rename(font: TTFont, name: str) -> None:
    if not name or len(name) > 63 or not all(c.isascii() and c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"not a PostScript font name: {name!r}")
    table = font["name"]
    for record in list(table.names):
        if record.nameID in (3, 4, 6):  # unique id, full name, PostScript name
            table.setName(name, record.nameID, record.platformID, record.platEncID, record.langID)


def _cff_to_glyf(font: TTFont) -> None:
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))  # CFF runs counter-clockwise, glyf clockwise
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    glyf.compile(font)  # computes each glyph's bounds
    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        width, _ = hmtx[name]
        hmtx[name] = (width, getattr(glyph, "xMin", 0))  # left side bearing = xMin in TrueType
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)
    font["maxp"] = maxp  # the point and contour maxima are recalculated on save
    post = font["post"]
    post.formatType = 3.0  # no glyph names: reportlab maps characters through cmap
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = None
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\0\1\0\0"
