"""The monthly notice's trend chart (PNG): mistaken rejections per owner over
the last six months, one line per owner.

``render_trend_chart`` returns the PNG's bytes. It never touches matplotlib's
global state: no pyplot, no rcParams; it builds a ``Figure`` with its own Agg
canvas, so two threads may render at once. Every text it draws (title, axis
labels, month labels, counts on the axis, legend, the "as of" line) uses the
packaged CJK font (``fonts.cjk_font_path``) through ``FontProperties(fname=…)``,
never a font looked up on the machine, and is drawn as plain text (no
mathtext: an owner called ``$x$`` stays ``$x$``). A character the font has
no glyph for (an emoji in an owner's name) is drawn as □. The PNG carries no
matplotlib version or date, so the same input gives the same bytes.

The months shown are the last six months that occur in ``series`` (all
owners together); an owner with no figure for one of them has a gap there,
which is not the same as a month of zero.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from functools import cache

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from bot.core.monthly import Month
from bot.documents.fonts import cjk_font_path
from bot.i18n import Catalog

MONTHS_SHOWN = 6
SIZE_INCHES = (10.0, 6.0)
DPI = 120  # 1200 × 720 pixels
# Colour-blind-safe (Okabe–Ito) colours and distinct markers, in owner order.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DODGE = 0.05  # month widths between neighbouring owners' points
MAX_SPREAD = 0.4  # month widths from the first owner's point to the last one's
NO_GLYPH = "\u25a1"  # □ stands for a character the font cannot draw (an emoji in an owner's name)


def render_trend_chart(series: Mapping[str, Sequence[tuple[Month, int]]], *, catalog: Catalog, as_of_text: str) -> bytes:
    """The chart as PNG bytes.

    ``series``: owner name → (month, mistaken rejections that month), in any
    order; owners are drawn in the mapping's order. ``as_of_text``: the
    moment the figures are counted at, as the notice writes it
    (``2026-12-01 08:45``); the chart puts it into ``chart.as_of``.
    """
    figure = build_trend_figure(series, catalog=catalog, as_of_text=as_of_text)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


@cache
def _glyphs() -> frozenset[int]:
    return frozenset(FT2Font(str(cjk_font_path())).get_charmap())


def drawable(text: str) -> str:
    """``text`` with each character the font has no glyph for replaced by □,
    so that matplotlib neither warns nor draws an empty box silently."""
    glyphs = _glyphs()
    return "".join(ch if ch == "\n" or ord(ch) in glyphs else NO_GLYPH for ch in text)


def months_shown(series: Mapping[str, Sequence[tuple[Month, int]]]) -> list[Month]:
    """The last six months that any owner has a figure for, oldest first."""
    months = sorted({month for points in series.values() for month, _ in points})
    return months[-MONTHS_SHOWN:]


def month_label(month: Month, catalog: Catalog) -> str:
    names = catalog.t("chart.month_names").split()
    return catalog.t("chart.month_label", year=month.year, name=names[month.month - 1])


def build_trend_figure(series: Mapping[str, Sequence[tuple[Month, int]]], *, catalog: Catalog, as_of_text: str) -> Figure:
    """The chart as a matplotlib ``Figure`` (what ``render_trend_chart``
    renders); tests read its texts."""
    font = FontProperties(fname=cjk_font_path())
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    months = months_shown(series)
    positions = range(len(months))

    top = 0
    handles, labels = [], []
    for index, (owner, points) in enumerate(series.items()):
        by_month = dict(points)
        values = [by_month.get(month, math.nan) for month in months]
        top = max([top, *(v for v in values if not math.isnan(v))])
        # Each owner's points a little to the side of the month, so that owners
        # with the same count (a month of zeros) stay visible side by side.
        dodge = (index - (len(series) - 1) / 2) * min(DODGE, MAX_SPREAD / max(len(series) - 1, 1))
        (line,) = axes.plot(
            [p + dodge for p in positions], values, color=COLOURS[index % len(COLOURS)], marker=MARKERS[index % len(MARKERS)],
            markersize=7, linewidth=2.2, clip_on=False, zorder=3,
        )
        handles.append(line)
        labels.append(drawable(owner))

    figure.suptitle(catalog.t("chart.title"), fontproperties=font, fontsize=15)
    axes.set_title(catalog.t("chart.as_of", as_of=drawable(as_of_text)), fontproperties=font, fontsize=10, loc="right", color="#555555")
    axes.set_xlabel(catalog.t("chart.x_label"), fontproperties=font, fontsize=11)
    axes.set_ylabel(catalog.t("chart.y_label"), fontproperties=font, fontsize=11)

    if months:
        axes.set_xlim(-0.4, len(months) - 0.6)
        axes.set_xticks(list(positions), labels=[month_label(m, catalog) for m in months], fontproperties=font, fontsize=10)
    else:
        axes.set_xticks([])
        axes.text(0.5, 0.5, catalog.t("chart.no_data"), transform=axes.transAxes, ha="center", va="center",
                  fontproperties=font, fontsize=13, color="#555555")
    # Whole counts only, from 0, with some room above the highest point; a
    # chart of zeros still gets an axis up to 5.
    ceiling = max(5, math.ceil(top * 1.12))
    ticks = [int(t) for t in MaxNLocator(nbins=6, integer=True, min_n_ticks=2).tick_values(0, ceiling) if 0 <= t <= ceiling]
    axes.set_ylim(0, max(ceiling, ticks[-1]))
    axes.set_yticks(ticks, labels=[str(t) for t in ticks], fontproperties=font, fontsize=10)
    axes.grid(axis="y", color="#dddddd", linewidth=0.8, zorder=0)
    axes.spines[["top", "right"]].set_visible(False)

    if handles:
        legend_font = font.copy()
        legend_font.set_size(11)
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 4), prop=legend_font, frameon=False)
    for text in figure.findobj(Text):
        text.set_parse_math(False)  # owner names and catalog texts are plain text, never mathtext
    return figure
