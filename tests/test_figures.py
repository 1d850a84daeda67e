"""The book's figures, in both layouts: labels that do not collide, series a reader can tell apart, SVG
that follows the page's theme, text that stays legible at the width each layout is shown at, no label
over two vendors' markers, record names rather than ids, every chip a caption names drawn, no panel
that only restates an identity, and the figures whose geometry is a claim."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

import hwdb
from claims import Evaluation, evaluate_all
from claims.figlabels import MARKER_RADIUS, place_labels, short_name, side_by_side
from claims.figstyle import INK, LAYOUTS, MIN_TEXT_PX, NARROW, PAPER, PX_PER_PT, SERIES, VENDORS, WIDE, Layout, svg_of
from claims.figures import FIGURES, ROOFLINE_CHIPS, panels_of, render_svg

BOOK = Path(__file__).resolve().parents[1] / "book"
#: The narrowest content column each layout is shown in, in CSS px (furo pads the page 16 px a side below
#: its sidebar breakpoints): a 420 px phone's for the narrow one, a 641 px window's for the wide one, the
#: narrowest that gets it (claims.css switches at 40em). tests/browser/test_figures_rendered.py measures
#: what the browser really shows.
COLUMN = {NARROW.name: 420 - 32, WIDE.name: 641 - 32}
#: The scatters whose points are accelerators, one marker per vendor.
SCATTERS = ("hardware-ratio", "ratio-by-year", "drain-time")
CASES = [(name, layout.name) for name in sorted(FIGURES) for layout in LAYOUTS]
Drawn = dict[tuple[str, str], tuple[Figure, ...]]
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
def drawn(evaluations: tuple[hwdb.Database, dict[str, Evaluation]]) -> Iterator[Drawn]:
    """Every figure in every layout, by (name, layout name), drawn as the SVG would be (in its layout's style)."""
    db, evs = evaluations
    figures = {}
    for layout in LAYOUTS:
        for name, spec in FIGURES.items():
            panels = panels_of(spec.draw(db, evs, layout))
            with plt.rc_context(layout.style):
                for fig in panels:
                    fig.canvas.draw()
            figures[name, layout.name] = panels
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


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_no_two_labels_overlap(drawn: Drawn, name: str, layout: str) -> None:
    for fig in drawn[name, layout]:
        canvas = fig.bbox
        for ax in fig.axes:
            boxes = _texts(ax)
            assert not _overlapping(boxes), f"{name}: labels overlap: {_overlapping(boxes)}"
            for text, box in boxes:
                assert canvas.x0 <= box.x0 and box.x1 <= canvas.x1 + 0.5, f"{name}: '{text}' runs off the figure"
                assert canvas.y0 <= box.y0 and box.y1 <= canvas.y1 + 0.5, f"{name}: '{text}' runs off the figure"


@pytest.mark.parametrize(("name", "layout"), [(n, layout.name) for n in SCATTERS for layout in LAYOUTS])
def test_the_crowded_scatters_label_every_accelerator_by_name(drawn: Drawn, name: str, layout: str) -> None:
    """Merging points that share a spot must not drop a name, and a label names a chip, not its record id."""
    db = hwdb.load()
    (fig,) = drawn[name, layout]
    (ax,) = fig.axes
    shown = [n for t in ax.texts for n in t.get_text().split(", ")]
    plotted = sum(np.asarray(c.get_offsets()).shape[0] for c in ax.collections if isinstance(c, PathCollection))
    assert len(shown) == len(set(shown)) == plotted, name
    assert set(shown) <= {short_name(r) for r in db.of_kind("accelerator")}, name


def _markers(ax: Axes) -> list[tuple[str, float, float]]:
    """(vendor, x, y in display points) of every scatter marker; each vendor's markers are one collection."""
    scale = ax.figure.dpi / 72
    out = []
    for collection in ax.collections:
        if isinstance(collection, PathCollection):
            for x, y in ax.transData.transform(np.asarray(collection.get_offsets())):
                out.append((str(collection.get_label()), float(x) / scale, float(y) / scale))
    return out


@pytest.mark.parametrize(("name", "layout"), [(n, layout.name) for n in SCATTERS for layout in LAYOUTS])
def test_no_label_or_marker_hides_another_vendor(drawn: Drawn, name: str, layout: str) -> None:
    """The issue's "gb300, mi355x, tpu-v7": three vendors on one spot, one marker seen and one label for all."""
    db = hwdb.load()
    vendor_of = {short_name(r): str(r.meta.get("vendor")) for r in db.of_kind("accelerator")}
    (fig,) = drawn[name, layout]
    (ax,) = fig.axes
    for text in ax.texts:
        vendors = {vendor_of[n] for n in text.get_text().split(", ")}
        assert len(vendors) == 1, f"{name}: '{text.get_text()}' labels {sorted(vendors)}"
    for (a, ax_, ay), (b, bx, by) in itertools.combinations(_markers(ax), 2):
        if a != b:
            gap = math.hypot(ax_ - bx, ay - by)
            assert gap >= 2 * MARKER_RADIUS, f"{name}: a {a} marker sits on a {b} one ({gap:.1f} pt apart)"


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_no_text_shows_a_record_id(
    drawn: Drawn, evaluations: tuple[hwdb.Database, dict[str, Evaluation]], name: str, layout: str
) -> None:
    """Titles, labels and legends say "GB200", never "gb200" or "hgx-h100"."""
    db, _ = evaluations
    ids = {r.id for kind in ("accelerator", "system", "memory-tier") for r in db.of_kind(kind)}
    for fig in drawn[name, layout]:
        for text in fig.findobj(Text):
            words = set(re.findall(r"[\w.-]+", text.get_text()))
            assert not words & ids, f"{name}: '{text.get_text()}' shows a record id"


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


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_series_on_one_axes_have_distinct_colours(drawn: Drawn, name: str, layout: str) -> None:
    for fig in drawn[name, layout]:
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


def test_the_roofline_gives_each_chip_its_own_colour(drawn: Drawn) -> None:
    """Three of its chips are NVIDIA's: a vendor colour would draw them alike."""
    (fig,) = drawn["roofline", WIDE.name]
    (ax,) = fig.axes
    lines = [s for s in _series(ax) if s[2] != "None"]
    assert len(lines) >= 5
    assert len({colour for _, colour, _ in lines}) == len(lines)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_svg_follows_the_page_theme(
    evaluations: tuple[hwdb.Database, dict[str, Evaluation]], drawn: Drawn, name: str
) -> None:
    db, evs = evaluations
    panels = len(drawn[name, WIDE.name])
    html = FIGURES[name].render(db, evs)
    assert "currentColor" in html, f"{name}: text and axes must take the page's colour"
    assert INK not in html and PAPER not in html, f"{name}: a sentinel colour was left in"
    # Pure black vanishes on furo's dark theme and pure white glares on it; neither may be drawn.
    assert not re.search(r"(fill|stroke): ?#(000000|ffffff)", html), f"{name}: draws in fixed black or white"
    wide, narrow = html.split('<div class="claim-figure-narrow">')
    assert wide.startswith('<div class="claim-figure-wide">') and wide.count("<svg") == narrow.count("<svg") == panels
    assert len(re.findall(r"<svg data-smallest-text-pt=\"[\d.]+\" ", html)) == 2 * panels
    # The narrow copy is hidden on a wide screen and the wide one on a phone: neither may use the other's
    # definitions (glyphs, markers, clip paths), so the narrow copy's ids are all its own.
    ids = re.findall(r'id="([^"]+)"', narrow)
    assert ids and all(i.startswith("n-") for i in ids), f"{name}: a narrow id is not prefixed"
    references = re.findall(r'(?:href="#|url\(#)([^")]+)', narrow)
    assert references and all(r.startswith("n-") for r in references), f"{name}: a narrow reference is not prefixed"


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_text_is_legible_at_the_width_it_is_shown(drawn: Drawn, name: str, layout: str) -> None:
    """An SVG shrinks to its column and its text with it: the smallest text, scaled to the narrowest
    column its layout is shown in, must still be MIN_TEXT_PX (the issue found 8 px labels at 420 px)."""
    column = COLUMN[layout]
    for fig in drawn[name, layout]:
        natural = fig.get_figwidth() * 72 * PX_PER_PT
        scale = min(1.0, column / natural)
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        smallest = min(float(t.get_fontsize()) for t in texts)
        shown = smallest * PX_PER_PT * scale
        assert shown >= MIN_TEXT_PX, f"{name} ({layout}): {smallest} pt text shows at {shown:.1f} px"


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_each_layout_fits_the_column_it_is_shown_in(layout: Layout) -> None:
    """A figure narrower than its column is never shrunk, so its text is shown at its own size."""
    assert layout.natural_px <= COLUMN[layout.name]


def _captions() -> dict[str, str]:
    """Each figure's caption (with its alt text) as the book's source writes it."""
    found: dict[str, str] = {}
    for source in sorted(BOOK.glob("*.md")):
        for match in re.finditer(r"```\{claim-figure\} ([\w.-]+)\n(.*?)\n```", source.read_text(), re.S):
            found[match.group(1)] = match.group(2)
    return found


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_chip_a_caption_names_is_drawn(
    drawn: Drawn, evaluations: tuple[hwdb.Database, dict[str, Evaluation]], name: str
) -> None:
    """The issue's roofline caption named a GB200 line the figure did not draw: each accelerator the caption
    or alt text names must appear in the figure's own text (a legend entry, a label, a title)."""
    db, _ = evaluations
    caption = _captions().get(name)
    if caption is None:
        pytest.skip(f"{name} is on no page")
    chips = {short_name(r) for r in db.of_kind("accelerator")}
    named = {c for c in chips if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", caption)}
    for layout in LAYOUTS:
        shown = " ".join(t.get_text() for fig in drawn[name, layout.name] for t in fig.findobj(Text))
        for chip in named:
            assert re.search(rf"(?<![\w-]){re.escape(chip)}(?![\w-])", shown), (
                f"{name} ({layout.name}): the caption names {chip}, the figure does not draw it"
            )


def test_the_roofline_draws_the_chip_its_caption_names(drawn: Drawn) -> None:
    """The balanced batch is computed for GB200: its roof is drawn, and the batch's line meets its ridge."""
    assert "gb200" in ROOFLINE_CHIPS
    db = hwdb.load()
    gb200 = db["gb200"]
    ridge = gb200["bf16_flops"].quantity.to("TFLOP/s").magnitude / gb200["hbm_bandwidth"].quantity.to("TB/s").magnitude
    (fig,) = drawn["roofline", WIDE.name]
    (ax,) = fig.axes
    assert any(line.get_label() == f"NVIDIA {short_name(gb200)}" for line in ax.lines)
    verticals = [float(np.asarray(line.get_xdata())[0]) for line in ax.lines if line.get_linestyle() == "--"]
    assert any(x == pytest.approx(ridge, rel=1e-9) for x in verticals)


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_no_panel_only_restates_an_identity(drawn: Drawn, name: str, layout: str) -> None:
    """A panel whose every curve is y = x (the issue's second pipeline panel) says nothing its axes don't."""
    for fig in drawn[name, layout]:
        for ax in fig.axes:
            curves = [
                (np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float))
                for line in ax.lines
                if np.size(line.get_xdata()) > 2
            ]
            identities = [np.allclose(x, y) for x, y in curves]
            assert not (curves and all(identities)), f"{name} ({layout}): a panel draws only y = x"


def test_the_serving_context_figure_holds_the_batch_its_replica_is_sized_for(
    drawn: Drawn, evaluations: tuple[hwdb.Database, dict[str, Evaluation]]
) -> None:
    """The issue's figure kept the batch flat past the point its first panel calls unbalanced without saying
    so: every panel must shade that point on, the balancing curve must stop there, the held batch must be
    the replica claim's, and the step panel must show the step's arithmetic short of the step."""
    _, evs = evaluations
    limit = evs["batch.optimal-size"].reference.details["context_limit"]
    held = evs["serving.replica-throughput"].reference.details["balanced_batch"]
    first, middle, _ = drawn["serving-context", WIDE.name]
    for fig in drawn["serving-context", WIDE.name]:
        (ax,) = fig.axes
        spans = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_label() == "no batch balances"]
        assert len(spans) == 1 and spans[0].get_x() == pytest.approx(limit), "the unbalanced region is not shaded"
    (ax,) = first.axes
    balancing = next(line for line in ax.lines if str(line.get_label()).startswith("balances"))
    contexts, batch = (np.asarray(v, dtype=float) for v in balancing.get_data())
    assert np.all(np.isnan(batch[contexts >= limit])) and np.all(np.isfinite(batch[contexts < limit]))
    holding = next(line for line in ax.lines if "held" in str(line.get_label()))
    assert np.allclose(np.asarray(holding.get_ydata(), dtype=float), held)
    (ax,) = middle.axes
    _, step = _line(ax, "step of the smallest replica")
    _, arithmetic = _line(ax, "the step's arithmetic")
    assert np.all(arithmetic < step)


def test_the_pipeline_figure_peaks_where_a_micro_batch_is_a_balanced_batch(drawn: Drawn) -> None:
    """Its second panel (once y = x) trades the bubble against weight reads: each global batch of g balanced
    batches does the most arithmetic at g micro-batches."""
    _, second = drawn["pipeline-bubble", WIDE.name]
    (ax,) = second.axes
    for g in (4, 16, 64):
        micro, share = _line(ax, f"global batch: {g} balanced batches")
        assert micro[int(np.argmax(share))] == g


def _line(ax: Axes, label: str) -> tuple[np.ndarray, np.ndarray]:
    for line in ax.lines:
        if line.get_label() == label:
            return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
    raise AssertionError(f"no line labelled {label!r}")


def test_sparse_attention_is_never_drawn_costlier_than_dense(
    drawn: Drawn, evaluations: tuple[hwdb.Database, dict[str, Evaluation]]
) -> None:
    """Both read the same bytes per token; sparse reads 2·√(m·L) tokens, fewer than L past 4·m tokens."""
    db, _ = evaluations
    threshold = db["gemini-3.1-pro"]["long_context_threshold"].quantity.to("token").magnitude
    (fig,) = drawn["kv-against-compute", WIDE.name]
    (ax,) = fig.axes
    contexts, dense = _line(ax, "dense: reads every cached token")
    assert np.interp(threshold, contexts, dense) == pytest.approx(1, rel=1e-2)
    for blocks in (1, 16):
        xs, sparse = _line(ax, f"sparse, {blocks} selected block(s)")
        assert np.all(sparse[xs > 4 * blocks] < dense[xs > 4 * blocks])
        assert sparse * threshold == pytest.approx(2 * np.sqrt(blocks * xs), rel=1e-9)


def test_the_decode_roofline_crosses_at_the_balanced_batch(
    drawn: Drawn, evaluations: tuple[hwdb.Database, dict[str, Evaluation]]
) -> None:
    _, evs = evaluations
    (fig,) = drawn["decode-roofline", WIDE.name]
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
    points = [(float(x), float(y), f"chip-{i}") for i, (x, y) in enumerate(zip(xs, ys, strict=True))]
    labels = place_labels(ax, points, 9)
    fig.canvas.draw()
    assert sorted(n for t in labels for n in t.get_text().split(", ")) == sorted(f"chip-{i}" for i in range(24))
    assert not _overlapping(_texts(ax))
    plt.close(fig)


def test_points_on_one_spot_share_a_label() -> None:
    fig, ax = plt.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    labels = place_labels(ax, [(5, 5, "a", "k"), (5, 5, "b", "k"), (5, 5, "d", "other"), (2, 2, "c", "k")], 9)
    assert sorted(t.get_text() for t in labels) == ["a, b", "c", "d"]  # one label per kind on a spot
    svg = svg_of(fig)
    assert "currentColor" in svg


def test_markers_of_different_kinds_on_one_spot_are_set_side_by_side() -> None:
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    moved = side_by_side(ax, [(5, 5, "a"), (5, 5, "b"), (5, 5, "a"), (2, 2, "c")])
    scale = fig.dpi / 72
    shown = [ax.transData.transform(p) / scale for p in moved]
    assert moved[0] == moved[2], "points of one kind stay together"
    assert math.dist(shown[0], shown[1]) >= 2 * MARKER_RADIUS
    assert (shown[0][1], shown[1][1]) == pytest.approx((shown[1][1], shown[0][1]))  # set in a row, not a column
    assert moved[3] == pytest.approx((2, 2)), "a point alone does not move"
    plt.close(fig)


def test_chips_are_named_as_the_book_names_them() -> None:
    db = hwdb.load()
    names = {r.id: short_name(r) for r in db.of_kind("accelerator")}
    assert len(set(names.values())) == len(names), "two chips would share a label"
    assert (names["mi300x"], names["h100-sxm"], names["gb200"], names["tpu-v7"]) == ("MI300X", "H100", "GB200", "TPU7x")
    assert short_name(db["hgx-h100"], maker="NVIDIA") == "HGX H100 8-GPU"


def test_a_labelled_figure_renders_byte_identical(evaluations: tuple[hwdb.Database, dict[str, Evaluation]]) -> None:
    """Label placement is a deterministic search: two builds give the same SVG, and it is the page's wide layout
    (every figure's page SVG against one drawn in the test process: tests/test_stale_build.py)."""
    db, evs = evaluations
    first, second = (render_svg(FIGURES["ratio-by-year"].draw(db, evs)) for _ in range(2))
    assert first == second
    assert first in FIGURES["ratio-by-year"].render(db, evs).split('<div class="claim-figure-narrow">')[0]


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
