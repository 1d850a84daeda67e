"""Small builders shared by the chapter modules."""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ..engine import Constant, Derivation, Detail, Rows, Step

#: One new token per sequence per decode step: a batch of B tokens is B sequences.
TOKENS_PER_STEP = Constant(sp.Symbol("n", positive=True), 1, "token", "a decode step emits one token per sequence")
#: A cached or transferred value is stored like one weight of the same format (bytes per parameter → per value).
VALUE_AS_WEIGHT = Constant(sp.Symbol("e", positive=True), 1, "param", "a cached value is stored like one weight")


def one_step(name: str, expr: sp.Expr, text: str, details: tuple[Detail, ...] = ()) -> Callable[[], Derivation]:
    """A derivation that is a single named formula."""
    target = sp.Symbol(name, positive=True)

    def build() -> Derivation:  # Eq is built here, not at import: a cached derivation never pays for it
        # A figure read off a record is its own formula: Eq(x, x) would collapse to True and print as such.
        math = target if expr == target else sp.Eq(target, expr)
        return Derivation((Step(text, math),), expr, details)

    return build


def positive(names: str) -> tuple[sp.Symbol, ...]:
    symbols = sp.symbols(names, positive=True)
    return tuple(symbols) if isinstance(symbols, tuple | list) else (symbols,)


def across_gpus(why: str, by_generation: bool = False) -> Rows:
    """A statement about GPUs in general: judged on the count of GPU rows in each band, H100 shown first.

    ``by_generation``: the statement is about GPU generations, so each generation casts one vote.
    """
    voter = (
        (
            "generation",
            "GPU generations",
            "the statement is about generations, and the parts of one generation share its memory design",
        )
        if by_generation
        else ("", "", "")
    )
    return Rows(
        "accelerator",
        "h100-sxm",
        "most",
        why + "; H100 is shown as the reference row",
        scope=(("family", "GPU"), ("variant_of", "None")),
        why_scope=(
            "the lecture names GPUs, so GPU rows are judged; TPUs, Trainium, Inferentia, Gaudi and the MI300A (an APU: "
            "CPU and GPU dies sharing one HBM) are shown for comparison, and so is a regional variant of a GPU "
            "already counted (the H800, an H100 with slower links), which would count the same chip twice"
        ),
        noun="GPUs",
        voter=voter[0],
        voter_noun=voter[1],
        why_voter=voter[2],
    )
