"""Ciphers and RevNets: invertible blocks from non-invertible round functions (section 9).

Two constructions, one idea. A Feistel round maps (l, r) to (r, l XOR f(r)); an
additive coupling block (RevNet) maps (x1, x2) to (x1 + F(x2), x2 + G(y1)). Either
is undone without ever inverting f, F or G. Two claims follow. The first is the
invertibility itself: SymPy proves the coupling identity for arbitrary functions, and
an exhaustive integer Feistel test gives the figure it is judged on. The second is
the activation memory a reversible stack saves; beside it, the BF16 round-off that
limits the saving in practice is measured on a random coupling stack.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from ..engine import Claim, Constant, Derivation, Detail, Input, Step
from ..policy import Stated

PAGE = "ciphers"
SECTION = "9. Ciphers and neural networks"

HALF_BITS = 8  # 16-bit blocks: small enough to test every input exhaustively
FEISTEL_KEYS = 16
FEISTEL_ROUNDS = 4
COUPLING_DEPTH = 64
COUPLING_WIDTH = 16
COUPLING_TOLERANCE = 1e-9  # float64 round-off through a deep stack, for activations of order one
SEED = 20170704  # RevNet's arXiv submission date; any fixed seed keeps the check reproducible
BF16_DEPTHS = (1, 4, 16, 64, 128)  # depths the box lists; the details are read at the model's own depth
BF16_MAX_DEPTH = 128  # deepest stack measured: deeper than every model in hwdb
BF16_SAMPLES = 256

RoundFunction = Callable[[np.ndarray], np.ndarray]
Rounding = Callable[[np.ndarray], np.ndarray]
FeistelMap = Callable[[np.ndarray, np.ndarray, Sequence[RoundFunction]], tuple[np.ndarray, np.ndarray]]

x1, x2, y1, y2 = sp.symbols("x_1 x_2 y_1 y_2")
Ff, Gf = sp.Function("F"), sp.Function("G")
N_tested, N_recovered, R = sp.symbols("N_tested N_recovered R", positive=True)
n_layers = sp.Symbol("n_layers", positive=True)
h, b, e = sp.symbols("h b e", positive=True)
VALUE_AS_WEIGHT = Constant(e, 1, "param", "an activation value is stored in the same format as a weight (BF16)")
M_stored, M_rev, S = sp.symbols("M_stored M_reversible S", positive=True)


def _exact(values: np.ndarray) -> np.ndarray:
    """No rounding beyond the arrays' own format (float64 for the exactness check)."""
    return values


def to_bf16(values: Any) -> np.ndarray:
    """Round to the nearest bfloat16, ties to even, returned as float32.

    BF16 is the upper half of a float32: add just under half of the 16 dropped bits, plus one when the
    kept half is odd (so ties go to even), then clear them. NaN stays NaN (the carry could make it
    infinite); a value past BF16's largest rounds to infinity, as hardware does. Float64 input is first
    rounded to float32, which differs from rounding it directly only within a float32 step of a tie.
    """
    single = np.asarray(values, dtype=np.float32)
    bits = single.view(np.uint32)
    kept = bits >> 16
    kept &= 1  # the last bit kept: a tie rounds up only when it is odd
    kept += 0x7FFF
    with np.errstate(over="ignore"):  # a negative NaN's carry wraps; NaNs are put back below
        kept += bits
    kept &= 0xFFFF0000
    rounded = kept.view(np.float32)
    nan = np.isnan(single)
    return np.where(nan, single, rounded) if nan.any() else rounded


def feistel_forward(
    left: np.ndarray, right: np.ndarray, rounds: Sequence[RoundFunction]
) -> tuple[np.ndarray, np.ndarray]:
    for f in rounds:
        left, right = right, left ^ f(right)
    return left, right


def feistel_inverse(
    left: np.ndarray, right: np.ndarray, rounds: Sequence[RoundFunction]
) -> tuple[np.ndarray, np.ndarray]:
    for f in reversed(rounds):
        left, right = right ^ f(left), left
    return left, right


def coupling_forward(
    a: np.ndarray,
    c: np.ndarray,
    blocks: Sequence[tuple[RoundFunction, RoundFunction]],
    rounded: Rounding = _exact,
) -> tuple[np.ndarray, np.ndarray]:
    for f, g in blocks:
        a = rounded(a + f(c))
        c = rounded(c + g(a))
    return a, c


def coupling_inverse(
    a: np.ndarray,
    c: np.ndarray,
    blocks: Sequence[tuple[RoundFunction, RoundFunction]],
    rounded: Rounding = _exact,
) -> tuple[np.ndarray, np.ndarray]:
    for f, g in reversed(blocks):
        c = rounded(c - g(a))
        a = rounded(a - f(c))
    return a, c


def table_round(table: np.ndarray) -> RoundFunction:
    """A round function given by a lookup table; random tables are almost never bijections."""
    return lambda half: table[half]


def dense_round(weights: np.ndarray, bias: np.ndarray) -> RoundFunction:
    return lambda v: np.tanh(v @ weights + bias)


def bf16_dense_round(weights: np.ndarray, bias: np.ndarray) -> RoundFunction:
    """``dense_round`` as BF16 hardware runs it: BF16 operands, and every result rounded to BF16.

    Between roundings the arithmetic is float64, exact or nearly so on BF16 operands, so the rounding
    decides every bit, not a BLAS kernel's summation order or a CPU's float32 tanh: the measured error,
    which the lock pins, is the same on any machine.
    """
    w, c = to_bf16(weights).astype(np.float64), to_bf16(bias).astype(np.float64)
    return lambda v: to_bf16(np.tanh(to_bf16(to_bf16(v.astype(np.float64) @ w) + c), dtype=np.float64))


def feistel_mismatches(rng: np.random.Generator, inverse: FeistelMap = feistel_inverse) -> tuple[int, int, int]:
    """Round-trip every 16-bit block under random keys: (blocks tested, mismatches, non-bijective rounds)."""
    size = 1 << HALF_BITS
    left, right = (g.ravel() for g in np.meshgrid(np.arange(size), np.arange(size), indexing="ij"))
    mismatches = non_bijective = 0
    for _ in range(FEISTEL_KEYS):
        tables = [rng.integers(0, size, size) for _ in range(FEISTEL_ROUNDS)]
        non_bijective += sum(len(np.unique(t)) < size for t in tables)
        rounds = [table_round(t) for t in tables]
        back = inverse(*feistel_forward(left, right, rounds), rounds)
        mismatches += int(np.count_nonzero((back[0] != left) | (back[1] != right)))
    return FEISTEL_KEYS * left.size, mismatches, non_bijective


def coupling_error(rng: np.random.Generator) -> float:
    """Largest absolute round-trip error through a deep random coupling stack."""
    half = COUPLING_WIDTH // 2
    scale = 1 / np.sqrt(half)
    blocks = [
        (
            dense_round(rng.normal(0, scale, (half, half)), rng.normal(0, 1, half)),
            dense_round(rng.normal(0, scale, (half, half)), rng.normal(0, 1, half)),
        )
        for _ in range(COUPLING_DEPTH)
    ]
    a, c = rng.normal(0, 1, (256, half)), rng.normal(0, 1, (256, half))
    back = coupling_inverse(*coupling_forward(a, c, blocks), blocks)
    return float(max(np.max(np.abs(back[0] - a)), np.max(np.abs(back[1] - c))))


def _bf16_random_round(rng: np.random.Generator, half: int) -> RoundFunction:
    """A random dense tanh round function in BF16, scaled as in ``coupling_error`` to keep activations of order one."""
    return bf16_dense_round(rng.normal(0, 1 / np.sqrt(half), (half, half)), rng.normal(0, 1, half))


@dataclass(frozen=True)
class RoundTrip:
    """Errors of inputs rebuilt by a coupling stack, relative to the inputs' RMS (activations of order one)."""

    largest: float
    rms: float


@cache
def bf16_round_trips(max_depth: int) -> tuple[RoundTrip, ...]:
    """Rebuild the inputs of a random BF16 coupling stack from its output at every depth up to ``max_depth``.

    Entry d - 1 is for the stack of its first d blocks. The inputs are drawn first and then each block,
    from one seeded stream, so a deeper stack extends a shallower one and the errors over depth are one
    stack's. The rebuilds all run together, one array row per starting depth, each row joining when the
    inverse reaches its depth: a single sweep instead of one stack per depth.
    """
    rng = np.random.default_rng(SEED)
    half = COUPLING_WIDTH // 2
    a, c = (to_bf16(rng.normal(0, 1, (BF16_SAMPLES, half))) for _ in range(2))
    blocks = [(_bf16_random_round(rng, half), _bf16_random_round(rng, half)) for _ in range(max_depth)]
    outputs = [(a, c)]
    for block in blocks:
        outputs.append(coupling_forward(*outputs[-1], [block], to_bf16))
    first = np.stack([top for top, _ in outputs[:0:-1]])  # row j starts from depth max_depth - j
    second = np.stack([bottom for _, bottom in outputs[:0:-1]])
    for depth in range(max_depth, 0, -1):
        live = max_depth - depth + 1  # the rows that start at this depth or deeper
        first[:live], second[:live] = coupling_inverse(first[:live], second[:live], [blocks[depth - 1]], to_bf16)
    inputs = np.concatenate([a, c], axis=-1).astype(np.float64)
    errors = np.concatenate([first, second], axis=-1).astype(np.float64)[::-1] - inputs
    scale = float(np.sqrt(np.mean(inputs**2)))
    largest = np.max(np.abs(errors), axis=(1, 2)) / scale
    rms = np.sqrt(np.mean(errors**2, axis=(1, 2))) / scale
    return tuple(RoundTrip(float(m), float(r)) for m, r in zip(largest, rms, strict=True))


def by_depth(values: Sequence[float]) -> sp.Expr:
    """Values measured at depths 1, 2, ... as a formula of ``n_layers``, so a detail follows the row's depth.

    A lookup table written as a formula keeps the measurement at build time and every row's evaluation
    plain NumPy, as with every catalogue formula: a sum of one clamped ramp per step between whole depths,
    so it passes through each measured value and is linear in between (from no error at depth zero).
    Past the deepest measured it stays at the deepest measurement, a floor (the error grows with depth),
    and the details' labels say so: a what-if with a deeper model still gets its saving. Built
    unevaluated, since SymPy would only re-check each Min and Max, slowly.
    """
    points = [(0, 0.0), *enumerate(values, start=1)]
    terms = [
        sp.Mul(
            sp.Float(y1 - y0),
            sp.Add(sp.Min(sp.Max(n_layers, x0, evaluate=False), x1, evaluate=False), -x0, evaluate=False),
            evaluate=False,
        )
        for (x0, y0), (x1, y1) in itertools.pairwise(points)
    ]
    return sp.Add(*terms, evaluate=False)


def derive_invertibility(inverse: FeistelMap = feistel_inverse) -> Derivation:
    """Prove the coupling inverse symbolically, then count the Feistel blocks ``inverse`` brings back exactly.

    The count, not an assertion, is the claim's value, so a wrong inverse shows as a verdict (the
    parameter is there for the test that says so). A failed proof, or a test whose round functions
    are all bijections and so proves nothing, still stops the build.
    """
    fy1 = x1 + Ff(x2)
    fy2 = x2 + Gf(fy1)
    back_x2 = y2 - Gf(y1)
    back_x1 = y1 - Ff(back_x2)
    inverse_of_forward = [sp.simplify(e.subs({y1: fy1, y2: fy2}, simultaneous=True)) for e in (back_x1, back_x2)]
    with sp.evaluate(False):  # the composition as written, for display; SymPy would cancel it on sight
        composed = [y1 - Ff(y2 - Gf(y1)), y2 - Gf(y1)]
        composed = [e.xreplace({y1: fy1, y2: fy2}) for e in composed]
    if inverse_of_forward != [x1, x2]:
        raise AssertionError(f"inverse(forward(x)) simplified to {inverse_of_forward}, not (x1, x2)")
    rng = np.random.default_rng(SEED)
    tested, mismatches, non_bijective = feistel_mismatches(rng, inverse)
    if non_bijective == 0:
        raise AssertionError("no round function was non-invertible; the test proves nothing")
    error = coupling_error(rng)
    if error > COUPLING_TOLERANCE:
        raise AssertionError(f"coupling round trip error {error:.3g} exceeds {COUPLING_TOLERANCE:g}")
    share = 100 * sp.Rational(tested - mismatches, tested)
    return Derivation(
        steps=(
            Step("Forward, first half", sp.Eq(y1, fy1)),
            Step("Forward, second half", sp.Eq(y2, fy2)),
            Step("Inverse, second half (no inverse of G needed)", sp.Eq(x2, back_x2)),
            Step("Inverse, first half (no inverse of F needed)", sp.Eq(x1, back_x1)),
            Step(
                "SymPy: inverse ∘ forward simplifies to the identity for arbitrary F and G",
                sp.Eq(sp.Tuple(*composed), sp.Tuple(x1, x2), evaluate=False),
            ),
            Step("Blocks round-tripped: every 16-bit block under each random key", sp.Eq(N_tested, tested)),
            Step("Blocks that came back exactly", sp.Eq(N_recovered, tested - mismatches)),
            Step("Share recovered exactly, in percent", sp.Eq(R, 100 * N_recovered / N_tested)),
        ),
        result=share,
        details=(
            Detail(
                "blocks_tested",
                "blocks round-tripped (every 16-bit block under each random key)",
                sp.Integer(tested),
                "1",
                noun="blocks",
                digits=7,
            ),
            Detail(
                "non_bijective_rounds",
                "round functions under those keys that are not bijections",
                sp.Integer(non_bijective),
                "1",
                noun="round functions",
            ),
        ),
        checks=((f"largest float64 coupling round-trip error, {COUPLING_DEPTH} random layers", error),),
    )


def derive_activation_saving() -> Derivation:
    """Count the activations kept per token with and without a reversible stack; beside them, BF16's rebuild error."""
    stored = n_layers * h * b * e
    reversible = h * b * e
    saving = sp.simplify(1 - reversible / stored)
    trips = bf16_round_trips(BF16_MAX_DEPTH)
    return Derivation(
        steps=(
            Step("Activations kept per token when every layer's input is stored", sp.Eq(M_stored, stored)),
            Step("and when inputs are recomputed backwards from the last layer", sp.Eq(M_rev, reversible)),
            Step("Fraction of activation memory saved", sp.Eq(S, saving)),
        ),
        result=saving,
        details=(
            Detail("stored_per_token", "residual-stream activations stored per token", stored, "KiB"),
            Detail("reversible_per_token", "activations kept per token by a reversible stack", reversible, "KiB"),
            Detail(
                "bf16_largest_error",
                "largest error of inputs rebuilt in BF16 by a random coupling stack as deep (at most the "
                f"{BF16_MAX_DEPTH} layers measured: deeper, at least this), relative to their RMS",
                by_depth([t.largest for t in trips]),
                "percent",
            ),
            Detail(
                "bf16_rms_error",
                "RMS error of inputs rebuilt in BF16 by a random coupling stack as deep (at most the "
                f"{BF16_MAX_DEPTH} layers measured: deeper, at least this), relative to their RMS",
                by_depth([t.rms for t in trips]),
                "percent",
            ),
        ),
        checks=tuple(
            (
                f"RMS BF16 rebuild error ÷ RMS of the inputs, random coupling stack of {d} layer{'s' * (d > 1)}",
                trips[d - 1].rms,
            )
            for d in BF16_DEPTHS
        ),
    )


FEISTEL = Claim(
    id="reversible.feistel-invertible",
    title="Feistel networks and RevNets: invert without inverting",
    statement=(
        "A Feistel network is invertible whatever its round functions, and RevNets carry the same construction "
        "into deep learning: each block is undone by computing its functions again, never by inverting them."
    ),
    section=SECTION,
    kind="structural",
    evidence="identity",
    page=PAGE,
    unit="percent",
    stated=Stated(
        100,
        "percent",
        "invertible 'whatever its round functions': every block comes back",
        why="a construction invertible for any round function admits no exception, so every block tested must return",
    ),
    build=derive_invertibility,
    finding=(
        "Each coupling step adds a function of one half to the other, so it is undone by computing that function "
        "again and subtracting it; the function is never inverted. SymPy reduces inverse-after-forward to the "
        "identity for arbitrary F and G. The exhaustive test sends {detail:blocks_tested} through Feistel networks "
        "keyed by random lookup tables, with {detail:non_bijective_rounds} that are not bijections among them, and "
        "{value} of the blocks come back exactly. The verdict covers exact arithmetic, integers and exclusive or. "
        "In floating point the subtraction recovers an input only to rounding: little in float64 (the check), "
        "a great deal in BF16, which the activation-saving claim measures."
    ),
)

ACTIVATION_SAVING = Claim(
    id="reversible.activation-saving",
    title="A reversible stack removes nearly all activation memory",
    statement=(
        "Because a reversible network's activations can be recomputed backwards rather than stored, it removes "
        "nearly all activation memory, at the price of extra compute."
    ),
    section=SECTION,
    kind="derived",
    page=PAGE,
    unit="percent",
    stated=Stated(
        90,
        "percent",
        "'nearly eliminating' activation memory, read as at least 90 % saved",
        why="'nearly' sets a floor; 90 % is the loosest floor that 'nearly eliminating' can mean",
    ),
    build=derive_activation_saving,
    inputs=(
        Input(n_layers, "layers", "deepseek-v3", "layers"),
        Input(h, "hidden_size", "deepseek-v3", "residual stream width"),
        Input(b, "storage_per_parameter", "bf16", "bytes per BF16 value"),
    ),
    constants=(VALUE_AS_WEIGHT,),
    finding=(
        "Because each layer's input can be recomputed from its output, training keeps the last layer's activations "
        "instead of every layer's input, {detail:reversible_per_token} per token instead of {detail:stored_per_token} "
        "at DeepSeek-V3's depth, a saving of {value}. The baseline is already activation checkpointing (only "
        "residual-stream inputs kept), which also runs each layer's forward pass again during the backward pass, so "
        "against it the extra arithmetic is small; against storing every intermediate the saving is larger still, "
        "and costs roughly another forward pass per step. The verdict counts memory only; what it does not cover is "
        "precision. Run a random coupling stack of the same depth forward and back with every value rounded to BF16, "
        "and the rebuilt inputs carry an RMS error of {detail:bf16_rms_error} of their own RMS and a largest error of "
        "{detail:bf16_largest_error}: errors of the order of the activations themselves. Each subtraction's rounding "
        "travels down the rest of the stack, so the error grows with depth (the checks); a stack this deep "
        "needs its couplings in a wider format than BF16, one reason reversible stacks are rare in large-model "
        "training."
    ),
)

CLAIMS = (FEISTEL, ACTIVATION_SAVING)
