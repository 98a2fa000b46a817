"""Static PNG charts for the stakeholder reports: the HTML e-mail and the PDF WeasyPrint renders from it.

Both show the images about 640 CSS px wide with no browser and no network, so charts are drawn
offline by matplotlib's Agg renderer at 6.4 in x 200 dpi = 1280 px: twice the display width, sharp
on high-density screens and in print. Each function takes plain Python values (``float``, ``int``,
``Decimal`` from the warehouse, ``None``, ``datetime.date``, ``str``) and returns PNG bytes.

Why it is built the way it is:

* **No pyplot.** ``pyplot`` keeps a global registry of open figures (a leak in a long-running
  Airflow worker) and is not thread-safe. Figures are plain :class:`~matplotlib.figure.Figure`
  objects with their own ``FigureCanvasAgg``, dropped after use.
* **Style without side effects.** matplotlib reads ``rcParams`` (a process-wide dict) while
  building and drawing, so rendering happens under one lock inside ``rc_context``, starting from
  matplotlib's defaults: a user's ``matplotlibrc`` cannot change the charts and nothing leaks.
* **Deterministic bytes.** The same input gives the same PNG (no ``Software`` or date metadata,
  month names from a fixed table rather than the locale), so archived reports can be compared
  and re-sent byte for byte.
* **Chinese labels.** Category names come from the business (门店, 官方App); the font list puts
  Noto Sans CJK (Debian's ``fonts-noto-cjk``) first and DejaVu Sans after it. Without a CJK font a
  character no font can draw is replaced by a box and logged, instead of matplotlib's "Glyph
  missing" warning (which it attributes to this module, and the test suite treats as an error).
* **Reading the numbers honestly** (see the domain notes on NPS): intervals are drawn whenever the
  caller has them, low-sample cells are drawn hollow and grey, and a period-on-period change that
  lies inside the sampling noise is shown grey as "within noise", not as good or bad.
"""

from __future__ import annotations

import io
import logging
import math
import re
import shutil
import subprocess
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

log = logging.getLogger(__name__)

WIDTH_IN = 6.4
DPI = 200
NO_DATA = "No data for this period"

# Okabe & Ito (2008) colour-blind-safe palette. Blue is the one accent (the current value);
# bluish green and vermillion mean good and bad and nothing else.
ACCENT = "#0072B2"
GOOD = "#009E73"
BAD = "#D55E00"
COMPARISON = ["#8C8C8C", "#C4C4C4"]  # previous period, target: quiet greys next to the accent
OTHER_SERIES = ["#E69F00", "#56B4E9", "#CC79A7", "#000000", "#8C8C8C"]
MUTED_BAR = "#B9C7D3"
INK = "#222222"
TICK = "#444444"
SUBTLE = "#6B6B6B"
LOW_SAMPLE = "#9A9A9A"
GRID = "#E5E5E5"
SPINE = "#BFBFBF"
ZERO = "#555555"

TITLE_PT = 10.5
LABEL_PT = 9.0
SMALL_PT = 8.0
PAD_IN = 0.08  # constrained-layout padding; the title starts at the same left edge

_CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK HK", "Noto Sans CJK JP", "Noto Sans CJK KR",
    "Noto Sans SC", "Source Han Sans SC",
)
_LATIN_FAMILY = "DejaVu Sans"  # ships inside matplotlib, so it is always there
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# matplotlib's rcParams and font manager are process-wide: one chart is built at a time.
_LOCK = threading.RLock()

Values = Sequence[float | int | Decimal | None]


# --------------------------------------------------------------------------- fonts


def available_cjk_font() -> str | None:
    """The CJK font family the charts use for Chinese text, or ``None`` when none is installed.

    The HTML/CSS side can put the same family in its font stack so e-mail, PDF and charts match.
    """
    return _find_cjk_font()


@lru_cache(maxsize=1)
def _find_cjk_font() -> str | None:
    from matplotlib import font_manager

    with _LOCK:
        found = _preferred(f.name for f in font_manager.fontManager.ttflist)
        if found:
            return found
        # matplotlib caches its font list on first use: a font installed after that (the setup
        # script runs after `uv sync`) is unknown to it until registered by path.
        for path in _fontconfig_cjk_files():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError) as exc:
                log.debug("cannot register font %s: %s", path, exc)
        return _preferred(f.name for f in font_manager.fontManager.ttflist)


def _preferred(names: Iterable[str]) -> str | None:
    present = set(names)
    return next((family for family in _CJK_FAMILIES if family in present), None)


def _fontconfig_cjk_files() -> list[str]:
    """Font files fontconfig knows for the preferred CJK families (empty without fontconfig)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    files: list[str] = []
    for family in _CJK_FAMILIES:
        try:
            done = subprocess.run([fc_list, "--format", "%{file}\n", family], capture_output=True,
                                  text=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            return files
        files.extend(p for p in done.stdout.splitlines() if p and p not in files)
    return files


def _font_families() -> list[str]:
    """CJK first: Noto Sans CJK has good Latin letters too, so mixed labels share one typeface."""
    cjk = available_cjk_font()
    return [cjk, _LATIN_FAMILY] if cjk else [_LATIN_FAMILY]


@lru_cache(maxsize=4)
def _coverage(families: tuple[str, ...]) -> frozenset[int]:
    from matplotlib import font_manager

    covered: set[int] = set()
    for family in families:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=[family]), fallback_to_default=False)
        except ValueError:
            continue
        covered.update(font_manager.get_font(path).get_charmap())
    return frozenset(covered)


def _drawable(text: str) -> str:
    """``text`` with characters no chart font can draw replaced by a box (and logged once)."""
    covered = _coverage(tuple(_font_families()))
    missing = {ch for ch in text if ord(ch) not in covered and not ch.isspace()}
    if not missing:
        return text
    _log_missing(frozenset(missing))
    return "".join("\u25a1" if ch in missing else ch for ch in text)


@lru_cache(maxsize=256)
def _log_missing(chars: frozenset[str]) -> None:
    log.warning("no chart font can draw %s; install a CJK font (Debian: fonts-noto-cjk)",
                "".join(sorted(chars)))


# --------------------------------------------------------------------------- values and text


def _floats(values: Values | None, n: int, what: str) -> list[float | None]:
    """Validate the length; NaN and infinities count as missing, like ``None``."""
    if values is None:
        return [None] * n
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} values for {n} labels")
    out: list[float | None] = []
    for v in values:
        f = None if v is None else float(v)
        out.append(f if f is not None and math.isfinite(f) else None)
    return out


def _present(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _decimals(values: Iterable[float | None]) -> int:
    """Enough decimals to tell typical values apart (1523, 22.7, 4.23, -0.31), never more than the
    data has (5.1 hours stays 5.1)."""
    vals = _present(values)
    if not vals:
        return 0
    biggest = max(abs(v) for v in vals)
    wanted = 0 if biggest >= 100 else 1 if biggest >= 10 else 2
    has = max(next(d for d in range(4) if d == 3 or abs(v - round(v, d)) < 1e-9 * max(1.0, abs(v))) for v in vals)
    return min(wanted, has)


def _unit_suffix(unit: str) -> str:
    return "" if not unit else unit if unit == "%" else f" {_drawable(unit)}"


def _fmt(value: float, decimals: int, unit: str = "", *, signed: bool = False) -> str:
    if round(value, decimals) == 0:
        value = 0.0  # no "-0.0"
    text = f"{value:+,.{decimals}f}" if signed and value != 0 else f"{value:,.{decimals}f}"
    return text.replace("-", "\u2212") + _unit_suffix(unit)


def _width(text: str) -> int:
    """Display columns: CJK characters are about twice as wide as Latin letters."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_TOKEN = re.compile(r"\s+|[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+")


def _wrap(text: str, columns: int, max_lines: int) -> str:
    """Greedy wrap by display width (Latin at spaces, CJK between characters), ellipsis at the end."""
    lines: list[str] = []
    current = ""
    for token in _TOKEN.findall(" ".join(str(text).split())):
        if current and not token.isspace() and _width(current + token) > columns:
            lines.append(current.rstrip())
            current = ""
        if not (token.isspace() and not current):
            current += token
    if current.strip():
        lines.append(current.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _width(last) > columns - 1:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "\u2026"]
    return _drawable("\n".join(lines))


def _label(text: object, columns: int = 24) -> str:
    return _wrap("(blank)" if text is None else str(text), columns, 2)


# --------------------------------------------------------------------------- figure plumbing


def _style() -> dict[Any, Any]:
    return {
        "font.family": _font_families(),
        "font.size": LABEL_PT,
        "text.color": INK,
        "text.parse_math": False,  # "$" in a label is a dollar sign, not mathtext
        "axes.unicode_minus": True,
        "axes.edgecolor": SPINE,
        "axes.linewidth": 0.8,
        "axes.labelcolor": SUBTLE,
        "axes.labelsize": SMALL_PT,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.axisbelow": True,
        "axes.facecolor": "white",
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "grid.color": GRID,
        "grid.linewidth": 0.8,
        "xtick.color": SPINE,
        "ytick.color": SPINE,
        "xtick.labelcolor": TICK,
        "ytick.labelcolor": TICK,
        "xtick.labelsize": LABEL_PT,
        "ytick.labelsize": LABEL_PT,
        "xtick.major.size": 3,
        "ytick.major.size": 3,
        "legend.frameon": False,
        "legend.fontsize": SMALL_PT,
        "legend.handlelength": 1.6,
        "legend.borderaxespad": 0.2,
        "legend.borderpad": 0.2,
        "legend.columnspacing": 1.4,
        "lines.solid_capstyle": "round",
        "path.simplify": False,
    }


def _render(title: str, height_in: float, draw: Callable[[Figure], None]) -> bytes:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _LOCK, matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(_style())
        fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
        canvas = FigureCanvasAgg(fig)
        fig.set_layout_engine("constrained", w_pad=PAD_IN, h_pad=PAD_IN, wspace=0, hspace=0)
        heading = fig.suptitle("", x=PAD_IN / WIDTH_IN, ha="left", fontsize=TITLE_PT, fontweight="bold",
                               color=INK)
        renderer = canvas.get_renderer()
        for columns in (200, 96, 88, 80, 72, 64, 56, 48):  # wrap only as much as the width needs
            heading.set_text(_wrap(title, columns, 2))
            if heading.get_window_extent(renderer).width <= (WIDTH_IN - 2 * PAD_IN) * DPI:
                break
        draw(fig)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _no_data(title: str) -> bytes:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", color=SUBTLE,
                fontsize=LABEL_PT)

    return _render(title, 1.2, draw)


def _tick(value: float, unit: str) -> str:
    """Tick text such as "20%", "1,500", "0.25": no trailing zeros, and the same minus sign (U+2212)
    as the value labels."""
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text.replace("-", "\u2212")) + _unit_suffix(unit)


def _value_axis(ax: Axes, axis: Literal["x", "y"], unit: str) -> bool:
    """Light grid on the value axis only. A short unit ("%", "h") goes on the ticks; a longer one
    ("hours", "小时") is written once: under a horizontal axis, or level, above the tick labels of a
    vertical one (rotated CJK text is hard to read). Returns whether that spot above is taken."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    on_ticks = unit if unit == "%" or _width(unit) <= 2 else ""
    target.set_major_formatter(FuncFormatter(lambda v, _pos: _tick(v, on_ticks)))
    ax.grid(True, axis=axis)
    ax.grid(False, axis="y" if axis == "x" else "x")
    if not unit or on_ticks:
        return False
    if axis == "x":
        target.set_label_text(_drawable(unit))
        return False
    ax.annotate(_drawable(unit), (0, 1), xycoords="axes fraction", xytext=(-4, 6), textcoords="offset points",
                ha="right", va="bottom", fontsize=SMALL_PT, color=SUBTLE)
    return True


def _legend_above(ax: Axes, handles: Sequence[Any], names: Sequence[str], *, right: bool) -> None:
    """Legend in one row above the plot: left under the title, or right when a unit sits left."""
    ax.legend(handles, names, loc="lower right" if right else "lower left", bbox_to_anchor=(1 if right else 0, 1.0),
              ncols=min(len(handles), 4))


def _category_axis(ax: Axes, labels: Sequence[str]) -> None:
    """Rows top to bottom in the order given; the category axis has no line and no ticks."""
    ax.set_yticks(range(len(labels)), labels=list(labels))
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0, pad=5)


def _fit(fig: Figure, ax: Axes, texts: Sequence[Text], axes: str = "x", pad_px: float = 12.0) -> None:
    """Widen the axis limits until every value label lies inside the axes: a label that spills out
    would overlap the category labels, the legend, or get cut off at the edge of the image.

    Labels sit at an offset in points from a data position, so the limits that fit them depend on
    the axes' size in pixels, which depends on the layout: measure, widen, repeat.
    """
    if not texts:
        return
    for _ in range(8):
        fig.draw_without_rendering()
        box = ax.get_window_extent()
        done = True
        for axis in axes:
            x = axis == "x"
            low_over = max(((box.x0 - t.get_window_extent().x0) if x else (box.y0 - t.get_window_extent().y0))
                           for t in texts)
            high_over = max(((t.get_window_extent().x1 - box.x1) if x else (t.get_window_extent().y1 - box.y1))
                            for t in texts)
            if low_over <= 0 and high_over <= 0:
                continue
            done = False
            get, set_ = (ax.get_xlim, ax.set_xlim) if x else (ax.get_ylim, ax.set_ylim)
            first, second = get()
            inverted = first > second
            low, high = sorted((first, second))
            per_px = (high - low) / max(box.width if x else box.height, 1.0)
            if inverted:
                low_over, high_over = high_over, low_over
            low -= (low_over + pad_px) * per_px if low_over > 0 else 0.0
            high += (high_over + pad_px) * per_px if high_over > 0 else 0.0
            set_(*((high, low) if inverted else (low, high)))
        if done:
            return


def _rows_height(n: int, per_row: float = 0.34, extra: float = 0.0) -> float:
    return max(1.6, 0.85 + extra + per_row * n)


# --------------------------------------------------------------------------- charts


def trend_chart(
    title: str,
    periods: list[date],
    series: dict[str, list[float | None]],
    *,
    unit: str = "",
    band: tuple[list[float | None], list[float | None]] | None = None,
    highlight_last: bool = True,
) -> bytes:
    """Lines over weekly or monthly periods; ``None`` leaves a gap.

    The first series is the headline: drawn in the accent colour, with ``band`` (its 95% interval)
    shaded and its latest value marked and labelled. No change is computed here: whether a change
    is real is the marts' judgement, printed beside the chart.
    """
    n = len(periods)
    named = {_drawable(str(name)): _floats(values, n, f"series {name!r}") for name, values in series.items()}
    lows, highs = (_floats(band[0], n, "band lows"), _floats(band[1], n, "band highs")) if band else (None, None)
    if n == 0 or not any(_present(v) for v in named.values()):
        return _no_data(title)
    order = sorted(range(n), key=lambda i: periods[i])
    days = [periods[i].toordinal() for i in order]
    named = {name: [values[i] for i in order] for name, values in named.items()}
    if lows is not None and highs is not None:
        lows, highs = [lows[i] for i in order], [highs[i] for i in order]
    first = next(iter(named))
    decimals = _decimals([v for values in named.values() for v in values])

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        nan = float("nan")
        if lows is not None and highs is not None and _present(lows):
            ax.fill_between(days, [nan if v is None else v for v in lows], [nan if v is None else v for v in highs],
                            color=ACCENT, alpha=0.14, linewidth=0, label="95% interval")
        others = iter(OTHER_SERIES if len(named) > 2 else COMPARISON[:1])
        for name, values in reversed(named.items()):  # the headline series is drawn on top
            is_first = name == first
            colour = ACCENT if is_first else next(others, SUBTLE)
            ys = [nan if v is None else v for v in values]
            ax.plot(days, ys, color=colour, linewidth=2.0 if is_first else 1.5, label=name,
                    zorder=4 if is_first else 3)
            lonely = [i for i, v in enumerate(values) if v is not None
                      and (i == 0 or values[i - 1] is None) and (i == n - 1 or values[i + 1] is None)]
            if lonely:  # a point between two gaps has no line: show it as a dot
                ax.plot([days[i] for i in lonely], [ys[i] for i in lonely], "o", color=colour, markersize=3.5,
                        zorder=4)
        low, high = ax.get_ylim()
        if low < 0 < high:
            ax.axhline(0, color=SPINE, linewidth=0.8, zorder=1)
        _date_ticks(ax, days)
        unit_above = _value_axis(ax, "y", unit)
        ax.set_xlim(days[0] - 0.02 * max(days[-1] - days[0], 1), days[-1] + 0.02 * max(days[-1] - days[0], 1))
        labels: list[Text] = []
        if highlight_last:
            labels = _label_last(ax, days, named[first], decimals, unit)
        handles, names = ax.get_legend_handles_labels()
        if len(handles) > 1:  # headline series first, its interval next, then the others
            ranked = sorted(zip(handles, names, strict=True), key=lambda h: (h[1] != first, h[1] != "95% interval"))
            _legend_above(ax, [h for h, _ in ranked], [name for _, name in ranked], right=unit_above)
        _fit(fig, ax, labels, axes="xy")

    return _render(title, 2.4, draw)


def _date_ticks(ax: Axes, days: list[int]) -> None:
    """Short labels from a fixed table (locale-free): "10-19" weekly, "Oct" monthly, the year only
    when the chart spans more than one."""
    n = len(days)
    monthly = n > 1 and sorted(b - a for a, b in zip(days, days[1:], strict=False))[(n - 1) // 2] >= 28
    step = max(1, math.ceil(n / (12 if monthly else 7)))
    picks = list(range(n - 1, -1, -step))[::-1]  # always label the latest period
    dates = [date.fromordinal(days[i]) for i in picks]
    many_years = len({date.fromordinal(d).year for d in days}) > 1
    labels = []
    for k, d in enumerate(dates):
        text = _MONTHS[d.month - 1] if monthly else f"{d.month:02d}-{d.day:02d}"
        if many_years and (k == 0 or dates[k - 1].year != d.year):
            text += f"\n{d.year}"
        labels.append(text)
    ax.set_xticks([days[i] for i in picks], labels=labels)
    ax.tick_params(axis="x", length=3)


def _label_last(ax: Axes, days: list[int], values: list[float | None], decimals: int, unit: str) -> list[Text]:
    points = [i for i, v in enumerate(values) if v is not None]
    last = points[-1]
    value = values[last]
    assert value is not None
    ax.plot([days[last]], [value], "o", color=ACCENT, markersize=6, markeredgecolor="white", markeredgewidth=1.2,
            zorder=5)
    texts: list[Text] = [ax.annotate(_fmt(value, decimals, unit), (days[last], value), xytext=(7, 1), textcoords="offset points",
                         ha="left", va="bottom", fontsize=LABEL_PT, fontweight="bold", color=ACCENT)]
    # Only the value: the change and its significance are the marts' (the tiles and tables
    # print them); a chart that computed its own would disagree with them on low-sample periods.
    return texts


def interval_chart(
    title: str,
    labels: list[str],
    values: list[float | None],
    lows: list[float | None],
    highs: list[float | None],
    *,
    counts: list[int] | None = None,
    flagged: list[bool] | None = None,
    reference: float | None = None,
    unit: str = "",
    xlim: tuple[float, float] | None = None,
) -> bytes:
    """Dot-and-whisker rows (an estimate and its 95% interval, e.g. NPS by channel) in the order given.

    A dashed vertical line marks ``reference`` (the overall value); ``counts`` appear at the right
    of each row as "n=312"; ``flagged`` rows (too few responses) are hollow, grey and labelled
    "low sample" so nobody reads their dot as a result.
    """
    n = len(labels)
    vals = _floats(values, n, "values")
    lo, hi = _floats(lows, n, "lows"), _floats(highs, n, "highs")
    if counts is not None and len(counts) != n:
        raise ValueError(f"counts has {len(counts)} values for {n} labels")
    flags = [bool(f) for f in flagged] if flagged is not None else [False] * n
    if len(flags) != n:
        raise ValueError(f"flagged has {len(flags)} values for {n} labels")
    ref = None if reference is None or not math.isfinite(float(reference)) else float(reference)
    if not _present(vals):
        return _no_data(title)
    decimals = _decimals(vals + ([ref] if ref is not None else []))

    def draw(fig: Figure) -> None:
        from matplotlib.transforms import blended_transform_factory

        ax = fig.add_subplot()
        texts: list[Text] = []
        for i in range(n):
            colour = LOW_SAMPLE if flags[i] else ACCENT
            low, high = lo[i], hi[i]
            if low is not None and high is not None:
                ax.hlines(i, low, high, color=colour, linewidth=1.8, alpha=0.8 if flags[i] else 0.55, zorder=2)
            v = vals[i]
            if v is None:
                continue
            ax.plot([v], [i], "o", markersize=7, markerfacecolor="white" if flags[i] else ACCENT,
                    markeredgecolor=colour, markeredgewidth=1.5, zorder=4)
            texts.append(ax.annotate(_fmt(v, decimals, unit), (v, i), xytext=(0, 5), textcoords="offset points",
                                     ha="center", va="bottom", fontsize=SMALL_PT,
                                     color=LOW_SAMPLE if flags[i] else INK))
        # a flagged row keeps one line for its name and gets a second one saying why it is grey
        _category_axis(ax, [_wrap(str(lab), 24, 1) + "\nlow sample" if flags[i] else _label(lab)
                            for i, lab in enumerate(labels)])
        for tick, flag in zip(ax.get_yticklabels(), flags, strict=True):
            if flag:
                tick.set_color(LOW_SAMPLE)
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        for i in range(n):
            if vals[i] is None:
                ax.text(0.5, i, "no data", transform=blended_transform_factory(ax.transAxes, ax.transData),
                        ha="center", va="center", fontsize=SMALL_PT, color=SUBTLE)
        if ref is not None:
            ax.axvline(ref, color=ZERO, linewidth=1.0, linestyle=(0, (3, 3)), zorder=1)
            ax.annotate(f"overall {_fmt(ref, decimals, unit)}", (ref, 1.0), xycoords=trans, xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=SMALL_PT, color=ZERO)
        if counts is not None:
            right = ax.secondary_yaxis("right")
            right.set_yticks(range(n), labels=[f"n={c:,}" if c is not None else "" for c in counts])
            right.tick_params(length=0, pad=6, labelsize=SMALL_PT, labelcolor=SUBTLE)
            right.spines["right"].set_visible(False)
        _value_axis(ax, "x", unit)
        if xlim is not None:
            ax.set_xlim(*xlim)
        else:
            ends = _present(vals + lo + hi + ([ref] if ref is not None else []))
            span = (max(ends) - min(ends)) or max(abs(ends[0]), 1.0)
            ax.set_xlim(min(ends) - 0.06 * span, max(ends) + 0.06 * span)
            _fit(fig, ax, texts)

    return _render(title, _rows_height(n, 0.4, extra=0.2 if ref is not None else 0.0), draw)


def _missing(ax: Axes, row: int) -> Text:
    """The label of a bar with no value: "n/a" at zero, so the row is not silently empty."""
    return ax.annotate("n/a", (0, row), xytext=(4, 0), textcoords="offset points", ha="left", va="center",
                       fontsize=SMALL_PT, color=SUBTLE)


def diverging_bar_chart(
    title: str,
    labels: list[str],
    values: list[float | None],
    *,
    errors: list[float | None] | None = None,
    unit: str = "",
) -> bytes:
    """Horizontal bars either side of zero, e.g. SERVQUAL gap = perception - expectation.

    Negative (the company falls short) is drawn in the 'bad' colour, positive in the 'good' one;
    ``errors`` (e.g. 1.96 x standard error) become whiskers, and each value is written past the
    end of its bar and whisker.
    """
    n = len(labels)
    vals = _floats(values, n, "values")
    errs = [abs(e) if e is not None else None for e in _floats(errors, n, "errors")]
    if not _present(vals):
        return _no_data(title)
    decimals = _decimals(vals)

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        texts: list[Text] = []
        for i, v in enumerate(vals):
            if v is None:
                texts.append(_missing(ax, i))
                continue
            ax.barh(i, v, height=0.62, color=BAD if v < 0 else GOOD, zorder=2)
            e = errs[i] or 0.0
            if e:
                ax.errorbar([v], [i], xerr=[e], fmt="none", ecolor=INK, elinewidth=0.9, capsize=2.5,
                            capthick=0.9, zorder=3)
            end = v - e if v < 0 else v + e
            texts.append(ax.annotate(_fmt(v, decimals, unit, signed=True), (end, i),
                                     xytext=(-4 if v < 0 else 4, 0), textcoords="offset points",
                                     ha="right" if v < 0 else "left", va="center", fontsize=LABEL_PT, color=INK))
        ax.axvline(0, color=ZERO, linewidth=1.0, zorder=3)
        _category_axis(ax, [_label(lab) for lab in labels])
        _value_axis(ax, "x", unit)
        ends = [0.0] + [v - (errs[i] or 0) for i, v in enumerate(vals) if v is not None] \
            + [v + (errs[i] or 0) for i, v in enumerate(vals) if v is not None]
        span = (max(ends) - min(ends)) or 1.0
        ax.set_xlim(min(ends) - (0.03 * span if min(ends) < 0 else 0), max(ends) + (0.03 * span if max(ends) > 0 else 0))
        _fit(fig, ax, texts, pad_px=28)  # a negative label must not read as part of the row name

    return _render(title, _rows_height(n), draw)


def bar_chart(
    title: str,
    labels: list[str],
    values: list[float | None],
    *,
    unit: str = "",
    highlight: str | None = None,
    value_format: str = "{:.0f}",
) -> bytes:
    """Horizontal bars in the order given, each labelled with its value at the end of the bar.

    With ``highlight`` that bar is the accent colour and the others a quiet blue-grey; without it
    all bars are the accent colour.
    """
    n = len(labels)
    vals = _floats(values, n, "values")
    if not _present(vals):
        return _no_data(title)

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        texts: list[Text] = []
        for i, v in enumerate(vals):
            if v is None:
                texts.append(_missing(ax, i))
                continue
            accent = highlight is None or str(labels[i]) == highlight
            ax.barh(i, v, height=0.62, color=ACCENT if accent else MUTED_BAR, zorder=2)
            text = value_format.format(v).replace("-", "\u2212") + _unit_suffix(unit)
            texts.append(ax.annotate(text, (v, i), xytext=(-4 if v < 0 else 4, 0), textcoords="offset points",
                                     ha="right" if v < 0 else "left", va="center", fontsize=LABEL_PT,
                                     color=INK if accent else TICK))
        ax.axvline(0, color=ZERO, linewidth=0.9, zorder=3)
        _category_axis(ax, [_label(lab) for lab in labels])
        _value_axis(ax, "x", unit)
        present = _present(vals)
        ax.set_xlim(min(0.0, *present), max(0.0, *present) or 1.0)
        _fit(fig, ax, texts)

    return _render(title, _rows_height(n), draw)


def grouped_bar_chart(
    title: str,
    categories: list[str],
    groups: dict[str, list[float | None]],
    *,
    unit: str = "",
) -> bytes:
    """Columns per category, one per group, e.g. median hours to first response vs target by severity.

    The first group is the current value (accent colour); the others are comparisons (previous
    period, target) in greys, or, beyond three groups, in the colour-blind-safe palette.
    """
    n = len(categories)
    named = {str(name): _floats(values, n, f"group {name!r}") for name, values in groups.items()}
    if n == 0 or not any(_present(v) for v in named.values()):
        return _no_data(title)
    k = len(named)
    colours = [ACCENT, *(COMPARISON if k <= 3 else OTHER_SERIES)]
    decimals = _decimals([v for values in named.values() for v in values])
    width = 0.8 / k
    show_values = n * k <= 16

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        texts: list[Text] = []
        for g, (name, values) in enumerate(named.items()):
            xs = [i - 0.4 + width * (g + 0.5) for i in range(n)]
            ax.bar([x for x, v in zip(xs, values, strict=True) if v is not None], _present(values),
                   width=width * 0.92, color=colours[g % len(colours)], label=_drawable(name), zorder=2)
            if show_values:
                for x, v in zip(xs, values, strict=True):
                    if v is not None:
                        texts.append(ax.annotate(_fmt(v, decimals), (x, v), xytext=(0, -3 if v < 0 else 3),
                                                 textcoords="offset points", ha="center",
                                                 va="top" if v < 0 else "bottom", fontsize=SMALL_PT,
                                                 color=INK if g == 0 else TICK))
        ax.axhline(0, color=ZERO, linewidth=0.9, zorder=3)
        columns = max(8, int(56 / n))
        ax.set_xticks(range(n), labels=[_label(c, columns) for c in categories])
        ax.tick_params(axis="x", length=0, pad=5)
        ax.spines["bottom"].set_visible(False)
        ax.set_xlim(-0.5, n - 0.5)
        unit_above = _value_axis(ax, "y", unit)
        present = [v for values in named.values() for v in values if v is not None]
        ax.set_ylim(min(0.0, *present), max(0.0, *present) or 1.0)
        _legend_above(ax, *ax.get_legend_handles_labels(), right=unit_above)
        _fit(fig, ax, texts, axes="y", pad_px=6)

    return _render(title, 2.6, draw)


__all__ = [
    "NO_DATA",
    "available_cjk_font",
    "bar_chart",
    "diverging_bar_chart",
    "grouped_bar_chart",
    "interval_chart",
    "trend_chart",
]
