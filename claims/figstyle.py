"""How the book's figures look: one palette, one type scale, and SVG that follows the page's theme.

Colours are the Okabe–Ito set (Okabe & Ito, *Color Universal Design*, 2008), which stays distinct
under the common colour-vision deficiencies; each vendor also gets its own marker, so a point is
identified even in grey. Text, axes and the neutral series are drawn in a sentinel ink that
:func:`themed` rewrites to ``currentColor``, and legend backgrounds in a sentinel paper rewritten to
the theme's background, so one inline SVG reads on furo's light and dark themes alike.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.figure import Figure
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

#: Type sizes in points. A single figure is WIDTH inches wide: at a 420 px phone width it is shown
#: at about three quarters of its size, which keeps 11 pt text near 11 px.
WIDTH = 5.6
HEIGHT = 4.0
LABEL_SIZE = 8.5

STYLE: dict[RcKeyType, Any] = {
    "font.size": 11,
    "axes.titlesize": 10.5,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
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


def vendor_style(vendor: object) -> tuple[str, str]:
    """(colour, marker) of an accelerator maker."""
    return VENDORS.get(str(vendor), OTHER_VENDOR)


def panel(width: float = WIDTH, height: float = HEIGHT) -> tuple[Figure, Any]:
    """One figure with one axes, laid out by matplotlib's constrained layout."""
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


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
    """

    def __call__(self, x: float, pos: int | None = None) -> str:
        return plain_text(super().__call__(x, pos))


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


def svg_of(figure: Figure) -> str:
    """One figure as SVG text with no timestamp and a fixed hash salt, so builds are byte-identical."""
    plain_log_labels(figure)
    buffer = io.StringIO()
    with plt.rc_context(STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, transparent=True)
    plt.close(figure)
    text = buffer.getvalue()
    return themed(text[text.index("<svg") :])
