"""The book's figures: labels that do not collide, series a reader can tell apart, SVG that follows
the page's theme, text that stays legible on a phone, and the two figures whose geometry is a claim."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox

import hwdb
from claims import Evaluation, evaluate_all
from claims.figlabels import place_labels
from claims.figstyle import INK, PAPER, SERIES, VENDORS, svg_of
from claims.figures import FIGURES, panels_of, render_svg

#: A phone's content column at a 420 px viewport, in CSS px, and the smallest text we accept there.
PHONE_COLUMN = 380
MIN_TEXT_PX = 8.0
#: Two series colours closer than this (Euclidean, RGB in 0..1) read as one: #3367d6 against #1f77b4 is 0.17.
MIN_COLOUR_DISTANCE = 0.2


@pytest.fixture(scope="module", autouse=True)
def _many_figures() -> Iterator[None]:
    """Every figure stays open for the module's checks; matplotlib would warn past twenty."""
    with plt.rc_context({"figure.max_open_warning": 0}):
        yield


@pytest.fixture(scope="module")
def evaluations() -> tuple[hwdb.Database, dict[str, Evaluation]]:
    db = hwdb.load()
    return db, evaluate_all(db)


@pytest.fixture(scope="module")
def drawn(evaluations: tuple[hwdb.Database, dict[str, Evaluation]]) -> Iterator[dict[str, tuple[Figure, ...]]]:
    db, evs = evaluations
    figures = {name: panels_of(spec.draw(db, evs)) for name, spec in FIGURES.items()}
    for panels in figures.values():
        for fig in panels:
            fig.canvas.draw()
    yield figures
    plt.close("all")


def _overlapping(boxes: list[tuple[str, Bbox]]) -> list[tuple[str, str]]:
    pairs = []
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        w = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        h = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if w > 0.5 and h > 0.5:
            pairs.append((a, b))
    return pairs


def _texts(ax: Axes) -> list[tuple[str, Bbox]]:
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    # Text's own extent: an annotation's would include its leader line.
    boxes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in ax.texts if t.get_visible() and t.get_text()]
    legend = ax.get_legend()
    if legend is not None:
        boxes.append(("<legend>", legend.get_window_extent(renderer)))
    return boxes


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_no_two_labels_overlap(drawn: dict[str, tuple[Figure, ...]], name: str) -> None:
    for fig in drawn[name]:
        canvas = fig.bbox
        for ax in fig.axes:
            boxes = _texts(ax)
            assert not _overlapping(boxes), f"{name}: labels overlap: {_overlapping(boxes)}"
            for text, box in boxes:
                assert canvas.x0 <= box.x0 and box.x1 <= canvas.x1 + 0.5, f"{name}: '{text}' runs off the figure"
                assert canvas.y0 <= box.y0 and box.y1 <= canvas.y1 + 0.5, f"{name}: '{text}' runs off the figure"


def test_the_crowded_scatters_label_every_accelerator(drawn: dict[str, tuple[Figure, ...]]) -> None:
    """Merging points that share a spot must not drop a name."""
    db = hwdb.load()
    for name in ("hardware-ratio", "ratio-by-year", "drain-time"):
        (fig,) = drawn[name]
        (ax,) = fig.axes
        shown = {n for t in ax.texts for n in t.get_text().split(", ")}
        plotted = sum(np.asarray(c.get_offsets()).shape[0] for c in ax.collections if isinstance(c, PathCollection))
        assert len(shown) == plotted, name
        assert shown <= {r.id for r in db.of_kind("accelerator")}, name


def _series(ax: Axes) -> list[tuple[str, tuple[float, float, float], str]]:
    """(label, colour, linestyle) of every artist the legend names."""
    out = []
    for artist in [*ax.lines, *ax.collections]:
        label = str(artist.get_label())
        if label.startswith("_"):
            continue
        if isinstance(artist, Line2D):
            out.append((label, to_rgb(artist.get_color()), str(artist.get_linestyle())))
        elif isinstance(artist, PathCollection):
            rgb = np.asarray(artist.get_facecolor(), dtype=float)[0, :3]
            out.append((label, (float(rgb[0]), float(rgb[1]), float(rgb[2])), "scatter"))
    return out


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_series_on_one_axes_have_distinct_colours(drawn: dict[str, tuple[Figure, ...]], name: str) -> None:
    for fig in drawn[name]:
        for ax in fig.axes:
            series = _series(ax)
            for (a, colour_a, dash_a), (b, colour_b, dash_b) in itertools.combinations(series, 2):
                distance = float(np.linalg.norm(np.subtract(colour_a, colour_b)))
                assert distance >= MIN_COLOUR_DISTANCE, f"{name}: '{a}' and '{b}' share a colour ({distance:.2f})"
                assert (colour_a, dash_a) != (colour_b, dash_b), f"{name}: '{a}' and '{b}' look the same"


def test_vendors_differ_in_colour_and_marker() -> None:
    colours = [c for c, _ in VENDORS.values()]
    markers = [m for _, m in VENDORS.values()]
    assert len(set(colours)) == len(colours) and len(set(markers)) == len(markers)
    assert set(colours) <= set(SERIES)


def test_the_roofline_gives_each_chip_its_own_colour(drawn: dict[str, tuple[Figure, ...]]) -> None:
    """Three of its chips are NVIDIA's: a vendor colour would draw them alike."""
    (fig,) = drawn["roofline"]
    (ax,) = fig.axes
    lines = [s for s in _series(ax) if s[2] != "None"]
    assert len(lines) >= 5
    assert len({colour for _, colour, _ in lines}) == len(lines)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_svg_follows_the_page_theme(evaluations: tuple[hwdb.Database, dict[str, Evaluation]], name: str) -> None:
    db, evs = evaluations
    drawn = FIGURES[name].draw(db, evs)
    panels = len(panels_of(drawn))
    svg = render_svg(drawn)
    assert "currentColor" in svg, f"{name}: text and axes must take the page's colour"
    assert INK not in svg and PAPER not in svg, f"{name}: a sentinel colour was left in"
    # Pure black vanishes on furo's dark theme and pure white glares on it; neither may be drawn.
    assert not re.search(r"(fill|stroke): ?#(000000|ffffff)", svg), f"{name}: draws in fixed black or white"
    assert svg.count("<svg") == panels


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_text_is_legible_in_a_phone_column(drawn: dict[str, tuple[Figure, ...]], name: str) -> None:
    """An SVG shrinks to the column; its smallest text must still be MIN_TEXT_PX there."""
    for fig in drawn[name]:
        width_px = fig.get_figwidth() * 96  # CSS px per inch
        scale = min(1.0, PHONE_COLUMN / width_px)
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        smallest = min(float(t.get_fontsize()) for t in texts)
        assert smallest * 96 / 72 * scale >= MIN_TEXT_PX, f"{name}: {smallest} pt text is too small on a phone"


def _line(ax: Axes, label: str) -> tuple[np.ndarray, np.ndarray]:
    for line in ax.lines:
        if line.get_label() == label:
            return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
    raise AssertionError(f"no line labelled {label!r}")


def test_sparse_attention_is_never_drawn_costlier_than_dense(
    drawn: dict[str, tuple[Figure, ...]], evaluations: tuple[hwdb.Database, dict[str, Evaluation]]
) -> None:
    """Both read the same bytes per token; sparse reads 2·√(m·L) tokens, fewer than L past 4·m tokens."""
    db, _ = evaluations
    threshold = db["gemini-3.1-pro"]["long_context_threshold"].quantity.to("token").magnitude
    (fig,) = drawn["kv-against-compute"]
    (ax,) = fig.axes
    contexts, dense = _line(ax, "dense: reads every cached token")
    assert np.interp(threshold, contexts, dense) == pytest.approx(1, rel=1e-2)
    for blocks in (1, 16):
        xs, sparse = _line(ax, f"sparse, {blocks} selected block(s)")
        assert np.all(sparse[xs > 4 * blocks] < dense[xs > 4 * blocks])
        assert sparse * threshold == pytest.approx(2 * np.sqrt(blocks * xs), rel=1e-9)


def test_the_decode_roofline_crosses_at_the_balanced_batch(
    drawn: dict[str, tuple[Figure, ...]], evaluations: tuple[hwdb.Database, dict[str, Evaluation]]
) -> None:
    _, evs = evaluations
    (fig,) = drawn["decode-roofline"]
    (ax,) = fig.axes
    sizes, fetch = _line(ax, "reading every weight once")
    _, compute = _line(ax, "the batch's arithmetic")
    assert np.allclose(fetch, 1.0)
    slope = compute[-1] / sizes[-1]
    assert np.allclose(compute, slope * sizes)
    assert 1 / slope == pytest.approx(evs["batch.optimal-size"].value, rel=1e-9)


def test_the_placer_separates_a_tight_cluster() -> None:
    rng = np.random.default_rng(7)
    xs, ys = rng.normal(0, 1, 24), rng.normal(0, 1, 24)
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    ax.scatter(xs, ys)
    ax.set_xlim(-5, 5)
    ax.set_ylim(-5, 5)
    labels = place_labels(ax, [(float(x), float(y), f"chip-{i}") for i, (x, y) in enumerate(zip(xs, ys, strict=True))])
    fig.canvas.draw()
    assert sorted(n for t in labels for n in t.get_text().split(", ")) == sorted(f"chip-{i}" for i in range(24))
    assert not _overlapping(_texts(ax))
    plt.close(fig)


def test_points_on_one_spot_share_a_label() -> None:
    fig, ax = plt.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    labels = place_labels(ax, [(5, 5, "a"), (5, 5, "b"), (2, 2, "c")])
    assert sorted(t.get_text() for t in labels) == ["a, b", "c"]
    svg = svg_of(fig)
    assert "currentColor" in svg


def test_a_labelled_figure_renders_byte_identical(evaluations: tuple[hwdb.Database, dict[str, Evaluation]]) -> None:
    """Label placement is a deterministic search: two builds give the same SVG."""
    db, evs = evaluations
    first, second = (render_svg(FIGURES["ratio-by-year"].draw(db, evs)) for _ in range(2))
    assert first == second


def test_the_lifetime_figure_and_the_overtraining_verdict_use_one_compute_optimal_rule() -> None:
    """The figure's pre-training optimum and the claim's are the same numbers: one rule, not a grid's and a ratio's."""
    from claims import evaluate, get_claim
    from claims.catalogue.training import compute_optimal

    db = hwdb.load([])
    law, model = db["chinchilla-loss-fit"], db["lecture-frontier-model"]
    floor, a_n, alpha, a_d, beta = (
        law[f].si for f in ("loss_floor", "param_coefficient", "param_exponent", "data_coefficient", "data_exponent")
    )
    n0, d0 = model["active_params"].si, model["pretraining_tokens"].si
    n_best, d_best = compute_optimal(a_n / n0**alpha + a_d / d0**beta, a_n, a_d, alpha, beta)
    claim = evaluate(get_claim("training.overtraining"), db)
    assert claim.reference.details["tokens_per_param"] == pytest.approx(d_best / n_best, rel=1e-9)
    assert claim.value == pytest.approx((d0 / n0) / (d_best / n_best), rel=1e-9)
    # The optimum is the cheapest way to the same loss: any other size on the iso-loss curve costs more.
    for scale in (0.8, 1.25):
        n = n_best * scale
        d = (a_d / (a_n / n0**alpha + a_d / d0**beta - a_n / n**alpha)) ** (1 / beta)
        assert n * d > n_best * d_best
    assert floor > 0
