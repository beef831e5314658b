"""Charts as PNG bytes: a trend (money spent as bars, messages below) and horizontal bars of money
per name. Readable on a phone: 1080 px wide, large type, Babel-formatted money and dates.

matplotlib is imported on the first chart, not at start (the bot's memory at start stays as it
was), and only its object API is used (no pyplot). Each figure is made once and redrawn for every
chart: a new matplotlib figure is a web of reference cycles that only the full garbage collection
frees, so a figure per chart grew the process by about 1 MB a chart until one ran (100 MB after
100 charts, bench/charts.py), and that collection costs ~100 ms of GIL. Drawing is blocking and
matplotlib is not thread-safe: ``render`` runs it on one worker thread of its own. Free of
aiogram: labels come translated from the caller.
"""

from __future__ import annotations

import asyncio
import io
import textwrap
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from bot.formats import money_in, number_in, skeleton_in

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN: Final = 7.2
DPI: Final = 150  # 1080 px wide: a phone shows it without scaling down much
SPEND: Final = "#2f6fb0"
MESSAGES: Final = "#e07b28"
# Bars beyond this many are summed into one "others" bar.
MAX_BARS: Final = 12
_import_lock = threading.Lock()
_ready = False
# One thread draws every chart (made on first use): the figures below belong to it.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")
_figures: dict[str, tuple[Figure, list[Axes]]] = {}


async def render(draw: Callable[..., bytes], *args: object) -> bytes:
    """Run a ``draw_*`` function on the charts thread; the event loop never waits on it."""
    return await asyncio.get_running_loop().run_in_executor(_executor, draw, *args)


def N_(message: str) -> str:  # the catalog's marker: translated later
    return message


@dataclass(frozen=True, slots=True)
class TrendText:
    """The words on a trend chart, already in the reader's language."""

    spent: str
    messages: str


def trend_text(span: str, translate: Callable[[str], str]) -> TrendText:
    return TrendText(
        spent=translate(N_("Money spent") if span == "month" else N_("Money spent per day")),
        messages=translate(N_("Messages") if span == "month" else N_("Messages per day")),
    )


def _setup() -> None:
    """Import matplotlib once, with the Agg backend and our defaults."""
    global _ready
    with _import_lock:
        if _ready:
            return
        import matplotlib

        matplotlib.use("Agg", force=True)
        matplotlib.rcParams.update(
            {
                "font.family": "DejaVu Sans",  # ships with matplotlib, has Cyrillic
                "font.size": 15,
                "axes.titlesize": 18,
                "axes.titleweight": "bold",
                "axes.spines.top": False,
                "axes.spines.right": False,
                "axes.grid": True,
                "axes.grid.axis": "y",
                "grid.alpha": 0.3,
            }
        )
        _ready = True


def _figure(kind: str, height_in: float, panels: int = 1) -> tuple[Figure, list[Axes]]:
    """The figure of this kind, made once, its axes cleared, resized to ``height_in``."""
    _setup()
    made = _figures.get(kind)
    if made is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # Fixed margins, not a layout engine: constrained layout took a third of a chart's time.
        figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
        FigureCanvasAgg(figure)
        if panels == 1:
            axes = [figure.subplots()]
        else:
            axes = list(figure.subplots(panels, 1, sharex=True, height_ratios=(3, 2)))
        made = _figures[kind] = (figure, axes)
    figure, axes = made
    figure.set_size_inches(WIDTH_IN, height_in)
    for ax in axes:
        ax.cla()
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _money_axis(axis: Any, currency: str, locale: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    # Whole units: ticks are written without decimals, so 0.5 would show as a second "1 ₽".
    axis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=3))
    axis.set_major_formatter(
        FuncFormatter(lambda v, _pos: money_in(Decimal(round(v)), currency, locale, whole=True))
    )


def _count_axis(axis: Any, locale: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=3))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: number_in(round(v), locale)))


def tick_labels(starts: Sequence[date], span: str, locale: str) -> list[str]:
    """Months as "янв." (with the year under January and the first one), days as numbers with
    only every few shown when there are many."""
    labels = []
    for n, start in enumerate(starts):
        if span == "month":
            # Three letters ("янв", "фев", "Jan"): CLDR's "февр." and "сент." crowd twelve bars.
            label = skeleton_in("LLL", start, locale).rstrip(".")[:3]
            if n == 0 or start.month == 1:
                label += f"\n{start.year}"
        else:
            step = 1 if len(starts) <= 10 else 3 if len(starts) <= 21 else 5
            shown = start.day == 1 or (start.day % step == 0) or n == len(starts) - 1
            label = str(start.day) if shown else ""
        labels.append(label)
    return labels


def draw_trend(
    points: Sequence[tuple[date, int, Decimal]],
    span: str,
    currency: str,
    locale: str,
    text: TrendText,
) -> bytes:
    """Two panels: money spent as bars above, messages below, one bar per month or day."""
    figure, (top, bottom) = _figure("trend", 7.2, panels=2)
    xs = list(range(len(points)))
    spent = [float(p[2]) for p in points]
    sms = [p[1] for p in points]
    # Room on the left for the widest tick label ("RUB10,000", "10 000 ₽").
    widest = max(
        len(money_in(Decimal(round(max([*spent, 1.0]) * 1.15)), currency, locale, whole=True)),
        len(number_in(round(max([*sms, 1]) * 1.15), locale)),
    )
    left = min(0.35, (0.3 + 0.125 * widest) / WIDTH_IN)
    figure.subplots_adjust(left=left, right=0.97, top=0.94, bottom=0.1, hspace=0.28)
    top.bar(xs, spent, color=SPEND, width=0.7)
    _panel_title(top, text.spent)
    _money_axis(top.yaxis, currency, locale)
    top.set_ylim(bottom=0, top=max([*spent, 1.0]) * 1.15)
    bottom.bar(xs, sms, color=MESSAGES, width=0.7)
    _panel_title(bottom, text.messages)
    _count_axis(bottom.yaxis, locale)
    bottom.set_ylim(bottom=0, top=max([*sms, 1]) * 1.15)
    bottom.set_xticks(xs, tick_labels([p[0] for p in points], span, locale))
    bottom.tick_params(axis="x", length=0, labelsize=13 if span == "month" else 14)
    if spent and spent[-1]:
        # The latest figure, written out: the one people look for first.
        label = money_in(Decimal(str(spent[-1])), currency, locale, whole=True)
        top.annotate(
            label,
            (xs[-1], spent[-1]),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            fontsize=13,
        )
    return _png(figure)


def draw_bars(title: str, rows: Sequence[tuple[str, Decimal]], currency: str, locale: str) -> bytes:
    """Horizontal bars, the biggest on top, each with its amount; past MAX_BARS one "…" bar."""
    rows = sorted(rows, key=lambda r: -r[1])
    if len(rows) > MAX_BARS:
        rest = sum((r[1] for r in rows[MAX_BARS - 1 :]), Decimal(0))
        rows = [*rows[: MAX_BARS - 1], (f"… +{len(rows) - MAX_BARS + 1}", rest)]
    height = 1.6 + 0.55 * max(len(rows), 1)
    figure, (axes,) = _figure("bars", height)
    # Room on the left for the longest name, in inches of 15-point type; the title above spans
    # the whole width (a figure title, so a long period is not cut at the right edge).
    longest = max((len(_short(name)) for name, _amount in rows), default=4)
    lines = textwrap.wrap(title, 38) or [""]
    top_in = 0.35 + 0.32 * len(lines)
    figure.set_size_inches(WIDTH_IN, height + 0.32 * (len(lines) - 1))
    height = figure.get_figheight()
    figure.subplots_adjust(
        left=min(0.45, (0.25 + 0.125 * longest) / WIDTH_IN),
        right=0.97,
        top=1 - top_in / height,
        bottom=0.2 / height,
    )
    figure.suptitle(
        "\n".join(lines),
        x=0.03,
        y=1 - 0.12 / height,
        ha="left",
        va="top",
        fontsize=18,
        fontweight="bold",
    )
    names = [_short(name) for name, _amount in rows][::-1]
    values = [float(amount) for _name, amount in rows][::-1]
    axes.barh(range(len(values)), values, color=SPEND, height=0.65)
    axes.set_yticks(range(len(values)), names)
    axes.grid(visible=False)
    # Every bar carries its amount: no money axis to crowd on a phone.
    axes.xaxis.set_visible(False)
    axes.spines["bottom"].set_visible(False)
    # The axis reaches far enough that the widest amount (13-point type) fits after its bar.
    widest = max((len(money_in(Decimal(str(v)), currency, locale)) for v in values), default=4)
    left, right = figure.subplotpars.left, figure.subplotpars.right
    share = min(0.6, (0.15 + 0.11 * widest) / ((right - left) * WIDTH_IN))
    axes.set_xlim(left=0, right=max([*values, 1.0]) / (1 - share))
    for y, value in enumerate(values):
        axes.annotate(
            money_in(Decimal(str(value)), currency, locale),
            (value, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=13,
        )
    return _png(figure)


def _panel_title(axes: Axes, title: str) -> None:
    # A text above the axes rather than set_title: a title is placed by measuring the axes' ticks
    # on every draw, which took a third of a chart's time.
    axes.text(0, 1.03, title, transform=axes.transAxes, fontsize=18, fontweight="bold", va="bottom")


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
