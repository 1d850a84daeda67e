"""How the book's figures look: one palette, two layouts, and SVG that follows the page's theme.

Colours are the Okabe–Ito set (Okabe & Ito, *Color Universal Design*, 2008), which stays distinct
under the common colour-vision deficiencies; each vendor also gets its own marker, so a point is
identified even in grey. Text, axes and the neutral series are drawn in a sentinel ink that
:func:`themed` rewrites to ``currentColor``, and legend backgrounds in a sentinel paper rewritten to
the theme's background, so one inline SVG reads on furo's light and dark themes alike. Every figure
is drawn in two layouts (:class:`Layout`), wide and narrow, each with type sized so that, at the narrowest
column it is shown in, no text is under MIN_TEXT_PX.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import LogFormatterSciNotation
from matplotlib.typing import RcKeyType

#: The Okabe–Ito colours (yellow left out: it vanishes on a white page).
ORANGE = "#e69f00"
SKY = "#56b4e9"
GREEN = "#009e73"
BLUE = "#0072b2"
VERMILLION = "#d55e00"
PURPLE = "#cc79a7"
#: Series colours in the order a figure takes them.
SERIES = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY)

#: Sentinels rewritten in the SVG: the page's text colour and its background.
INK = "#010203"
PAPER = "#fefdfc"
#: A mid grey for reference lines (the lecture's figure, a marked batch): readable on both themes.
GREY = "#8a8a8a"

#: Vendor → (colour, marker): one style per accelerator maker, the same in every figure.
VENDORS: dict[str, tuple[str, str]] = {
    "NVIDIA": (GREEN, "o"),
    "Google": (BLUE, "s"),
    "AMD": (VERMILLION, "^"),
    "AWS": (ORANGE, "D"),
    "Intel": (PURPLE, "v"),
}
OTHER_VENDOR = (INK, "X")

#: The smallest text a figure may print, in CSS px as the reader sees it, at either layout's width.
MIN_TEXT_PX = 11.0
#: CSS px per point: a figure's natural size in the page is its size in points times this.
PX_PER_PT = 96 / 72

_INK_STYLE: dict[RcKeyType, Any] = {
    "legend.facecolor": PAPER,
    "legend.edgecolor": GREY,
    "legend.framealpha": 0.9,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "grid.color": INK,
    "grid.alpha": 0.18,
    "axes.axisbelow": True,
    "axes.facecolor": "none",
    "figure.facecolor": "none",
    "savefig.facecolor": "none",
    "axes.prop_cycle": cycler(color=list(SERIES)),
    "lines.linewidth": 2.0,
    "svg.hashsalt": "claims-book",
    "svg.fonttype": "path",
}


@dataclass(frozen=True)
class Layout:
    """One way to lay a figure out: its width, how its heights scale, and its type sizes in points.

    An SVG is shown at its natural size where the column is wider and shrunk to the column where it
    is not, so a layout's text stays readable only at the widths it is served at: the wide layout on
    screens wider than 40em (its column never narrower than the figure), the narrow one below, sized
    to fit a 420 px phone's column unshrunk.
    """

    name: str
    width: float  # inches
    height_scale: float  # a figure's heights are given for the wide layout; this layout's are this times those
    font: float  # axis labels and running text
    tick: float
    legend: float
    title: float
    note: float  # text written on the plot: annotations, point labels, bar names

    @property
    def style(self) -> dict[RcKeyType, Any]:
        """matplotlib's settings for this layout."""
        return _INK_STYLE | {
            "font.size": self.font,
            "axes.titlesize": self.title,
            "axes.labelsize": self.font,
            "xtick.labelsize": self.tick,
            "ytick.labelsize": self.tick,
            "legend.fontsize": self.legend,
        }

    @property
    def natural_px(self) -> float:
        """The figure's natural width in CSS px."""
        return self.width * 72 * PX_PER_PT


#: Shown at its natural 538 px from 40em up (the content column is wider there).
WIDE = Layout("wide", width=5.6, height_scale=1.0, font=11, tick=10, legend=9.5, title=10.5, note=9.5)
#: Shown below 40em: 384 px wide, unshrunk in the 388 px column of a 420 px phone.
NARROW = Layout("narrow", width=4.0, height_scale=1.05, font=10, tick=9.5, legend=9, title=9.5, note=9)
LAYOUTS = (WIDE, NARROW)
#: A figure's height in inches, in the wide layout, where it gives none.
HEIGHT = 4.0


def vendor_style(vendor: object) -> tuple[str, str]:
    """(colour, marker) of an accelerator maker."""
    return VENDORS.get(str(vendor), OTHER_VENDOR)


def panel(layout: Layout = WIDE, height: float = HEIGHT, narrow: float | None = None) -> tuple[Figure, Any]:
    """One figure with one axes in ``layout``, laid out by matplotlib's constrained layout.

    ``height`` is the wide layout's; the narrow one scales it, unless ``narrow`` gives its own.
    """
    if layout is NARROW and narrow is not None:
        height = narrow
    else:
        height *= layout.height_scale
    fig, ax = plt.subplots(figsize=(layout.width, height), layout="constrained")
    return fig, ax


def smallest_text_pt(figure: Figure) -> float:
    """The size in points of the smallest text the figure prints (tick labels included, once drawn)."""
    sizes = [float(t.get_fontsize()) for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes)


def themed(svg: str) -> str:
    """Sentinel colours to the page's: text and axes in ``currentColor``, legend boxes on the background."""
    return svg.replace(INK, "currentColor").replace(PAPER, "var(--color-background-primary, #ffffff)")


_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")
_MATHTEXT = re.compile(r"\$\\mathdefault\{(?P<body>.*)\}\$")


def plain_text(label: str) -> str:
    """A log axis label matplotlib writes in mathtext ("$\\mathdefault{2\\times10^{3}}$") as plain text ("2×10³")."""
    found = _MATHTEXT.fullmatch(label)
    if found is None:
        return label
    body = re.sub(r"\^\{([-0-9.]+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), found.group("body"))
    return body.replace("\\times", "×").replace("\\cdot", "·").replace("{", "").replace("}", "").replace("\\", "")


class PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's own choice of log-axis labels (which ticks, which value), written as plain text.

    Its mathtext labels cost a parse per distinct label, a quarter of the time to render a log-scaled
    figure; "10³" in the text font reads the same and is measured, laid out and drawn like any text.
    An axis whose ticks all lie in PLAIN_RANGE is written in plain numbers ("1", "64", "2,000"), which
    a reader takes in faster; one that leaves it keeps powers throughout, never a mix of the two.
    """

    plain = False

    def set_locs(self, locs: Any = None) -> None:
        super().set_locs(locs)
        low, high = PLAIN_RANGE
        lo, hi = sorted(abs(v) for v in self.axis.get_view_interval()) if self.axis is not None else (0.0, 0.0)
        self.plain = low <= lo and hi < high

    def __call__(self, x: float, pos: int | None = None) -> str:
        label = plain_text(super().__call__(x, pos))
        return f"{x:,.6g}" if label and self.plain else label


#: Log-axis tick values written as plain numbers rather than powers.
PLAIN_RANGE = (0.001, 100_000.0)


def plain_log_labels(figure: Figure) -> None:
    """Give every log axis of the figure :class:`PlainLogFormatter` (its scale sets the mathtext one)."""
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for formatter, use in (
                (axis.get_major_formatter(), axis.set_major_formatter),
                (axis.get_minor_formatter(), axis.set_minor_formatter),
            ):
                if type(formatter) is LogFormatterSciNotation:
                    use(
                        PlainLogFormatter(
                            base=getattr(formatter, "_base", 10.0),  # private in matplotlib; 10 by default
                            labelOnlyBase=formatter.labelOnlyBase,
                            minor_thresholds=formatter.minor_thresholds,
                            linthresh=getattr(formatter, "_linthresh", None),
                        )
                    )


_ID = re.compile(r'(id="|url\(#|href="#)')


def svg_of(figure: Figure, layout: Layout = WIDE, ids: str = "") -> str:
    """One figure as SVG text with no timestamp and a fixed hash salt, so builds are byte-identical.

    Its ``<svg>`` says the size of its smallest text (``data-smallest-text-pt``) so a browser test can
    tell what a reader sees. It is saved in the layout it was drawn in (ticks made while saving take its
    sizes); ``ids`` prefixes every id and reference, so two layouts of one figure on a
    page never resolve to each other's definitions (one of them is hidden).
    """
    plain_log_labels(figure)
    buffer = io.StringIO()
    with plt.rc_context(layout.style):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, transparent=True)
    smallest = smallest_text_pt(figure)
    plt.close(figure)
    text = buffer.getvalue()
    svg = themed(text[text.index("<svg") :])
    if ids:
        svg = _ID.sub(lambda m: m.group(1) + ids, svg)
    return svg.replace("<svg ", f'<svg data-smallest-text-pt="{smallest:g}" ', 1)
