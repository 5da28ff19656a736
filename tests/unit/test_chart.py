"""The monthly notice's trend chart (bot.documents.chart): a PNG of the right
size, every label drawn with the packaged CJK font, and that font has a glyph
for every character of every label, in both locales (fontTools ``cmap``)."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from matplotlib.text import Text
from PIL import Image

from bot.core.monthly import Month
from bot.documents.chart import build_trend_figure, months_shown, render_trend_chart
from bot.documents.fonts import cjk_font_path
from bot.i18n import LOCALES, Catalog

ROOT = Path(__file__).resolve().parents[2]
MONTHS = [Month(2026, m) for m in range(6, 12)]
OWNERS = ["张伟（大件配送）", "小件配送部", "华东仓储 Warehouse East", "Y 大件", "$x$ _owner"]
VALUES = [[12, 15, 9, 7, 4, 3], [3, 5, 6, 2, 8, 6], [0, 1, 0, 2, 1, 0], [20, 18, 22, 17, 11, 9], [5, 4, 4, 5, 3, 2]]
AS_OF = "2026-12-01 08:45"


def series(owners: int, *, zeros: bool = False) -> dict[str, list[tuple[Month, int]]]:
    return {OWNERS[i]: [(m, 0 if zeros else v) for m, v in zip(MONTHS, VALUES[i], strict=True)] for i in range(owners)}


CASES = {"two owners": series(2), "five owners": series(5), "all zeros": series(2, zeros=True),
         "a month of zeros": {OWNERS[0]: [(m, 0 if m == Month(2026, 9) else v) for m, v in zip(MONTHS, VALUES[0], strict=True)]},
         "no data": {}}


@cache
def glyphs() -> frozenset[int]:
    return frozenset(TTFont(cjk_font_path(), lazy=True).getBestCmap())


def drawn_texts(figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_chart_is_a_png_of_fixed_size(locale: str, case: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Glyph … missing from font"
        data = render_trend_chart(CASES[case], catalog=Catalog(locale), as_of_text=AS_OF)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (1200, 720)
    image.verify()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_label_is_drawn_with_the_packaged_font_which_has_all_its_glyphs(locale: str, case: str) -> None:
    catalog = Catalog(locale)
    figure = build_trend_figure(CASES[case], catalog=catalog, as_of_text=AS_OF)
    figure.canvas.draw()  # lays out ticks and legend as in the PNG
    texts = drawn_texts(figure)
    shown = {t.get_text() for t in texts}
    expected = {catalog.t("chart.title"), catalog.t("chart.x_label"), catalog.t("chart.y_label"), catalog.t("chart.as_of", as_of=AS_OF),
                *CASES[case]}
    if CASES[case]:
        expected |= {catalog.t("chart.month_label", year=2026, name=catalog.t("chart.month_names").split()[m - 1]) for m in range(6, 12)}
    else:
        expected.add(catalog.t("chart.no_data"))
    assert expected <= shown, "the walk over the figure must see every label"
    for text in texts:
        assert Path(text.get_fontproperties().get_file()) == cjk_font_path(), text.get_text()
        missing = {ch for ch in text.get_text() if ord(ch) not in glyphs()}
        assert missing == set(), f"{text.get_text()!r} needs glyphs the font lacks"


def test_a_character_the_font_lacks_is_drawn_as_a_box_without_a_warning() -> None:
    assert 0x1F69A not in glyphs()  # 🚚: the font has no emoji
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = build_trend_figure({"张伟🚚": [(Month(2026, 11), 3)]}, catalog=Catalog("zh_CN"), as_of_text="🕗 08:45")
        figure.canvas.draw()
    shown = {t.get_text() for t in drawn_texts(figure)}
    assert "张伟□" in shown and "数据截至 □ 08:45" in shown


def test_month_labels_read_as_months_in_both_locales() -> None:
    figure = build_trend_figure(series(2), catalog=Catalog("zh_CN"), as_of_text=AS_OF)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == [f"2026年{m}月" for m in range(6, 12)]
    figure = build_trend_figure(series(2), catalog=Catalog("en"), as_of_text=AS_OF)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026"]


def test_owner_names_are_plain_text_not_mathtext() -> None:
    figure = build_trend_figure(series(5), catalog=Catalog("en"), as_of_text="$1$")
    figure.canvas.draw()
    legend = figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == OWNERS  # "_owner" is not hidden, "$x$" not typeset
    assert not any(t.get_parse_math() for t in figure.findobj(Text))


def test_only_the_last_six_months_are_shown_and_a_missing_month_is_a_gap() -> None:
    months = [Month(2026, m) for m in range(3, 12)]
    data = {"A": [(m, m.month) for m in months], "B": [(Month(2026, 11), 4), (Month(2026, 9), 2)]}
    assert months_shown(data) == months[-6:]
    figure = build_trend_figure(data, catalog=Catalog("en"), as_of_text=AS_OF)
    line_a, line_b = figure.axes[0].get_lines()
    assert list(line_a.get_ydata()) == [6, 7, 8, 9, 10, 11]
    b = list(line_b.get_ydata())
    assert [b[3], b[5]] == [2, 4] and all(math.isnan(b[i]) for i in (0, 1, 2, 4))


def test_the_axis_counts_whole_items_from_zero() -> None:
    figure = build_trend_figure(series(5), catalog=Catalog("en"), as_of_text=AS_OF)
    axes = figure.axes[0]
    ticks = list(axes.get_yticks())
    assert ticks[0] == 0 and all(float(t).is_integer() for t in ticks)
    assert axes.get_ylim()[1] >= 22  # the highest point fits
    figure = build_trend_figure(series(2, zeros=True), catalog=Catalog("en"), as_of_text=AS_OF)
    assert figure.axes[0].get_ylim() == (0, 5)  # a chart of zeros still has an axis


def test_the_same_input_gives_the_same_bytes_and_no_version() -> None:
    first = render_trend_chart(series(5), catalog=Catalog("zh_CN"), as_of_text=AS_OF)
    assert render_trend_chart(series(5), catalog=Catalog("zh_CN"), as_of_text=AS_OF) == first
    assert b"Matplotlib" not in first and matplotlib.__version__.encode() not in first


def test_rendering_in_threads_gives_the_same_bytes_and_leaves_rcparams_alone() -> None:
    before = dict(matplotlib.rcParams)
    inputs = [(series(2), "zh_CN"), (series(5), "en"), (series(2, zeros=True), "zh_CN"), (series(5), "zh_CN")] * 2
    serial = [render_trend_chart(s, catalog=Catalog(loc), as_of_text=AS_OF) for s, loc in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda args: render_trend_chart(args[0], catalog=Catalog(args[1]), as_of_text=AS_OF), inputs))
    assert parallel == serial
    assert dict(matplotlib.rcParams) == before


def test_rendering_never_imports_pyplot() -> None:
    code = (
        "import sys\n"
        "from bot.core.monthly import Month\n"
        "from bot.documents.chart import render_trend_chart\n"
        "from bot.i18n import Catalog\n"
        "render_trend_chart({'a': [(Month(2026, 11), 1)]}, catalog=Catalog('zh_CN'), as_of_text='x')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
