"""The 20 ms train: how long one pass over all of HBM takes (lecture section 2)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Input, Rows, Step
from ..policy import Stated

PAGE = "train"

M, W = sp.symbols("M_HBM W", positive=True)
T = sp.Symbol("T_train", positive=True)


def derive_train_interval() -> Derivation:
    """A decode step that reads every byte of HBM once takes capacity / bandwidth."""
    return Derivation(
        steps=(Step("Reading all of HBM once, at full bandwidth, takes", sp.Eq(T, M / W)),),
        result=M / W,
    )


TRAIN_INTERVAL = Claim(
    id="serving.train-interval",
    title="A 'train' leaves every ~20 ms",
    statement=(
        "HBM capacity divided by HBM bandwidth is about 20 ms on accelerator after accelerator: "
        "the natural period of a decode step that reads every weight once."
    ),
    section="2. The 20 ms train",
    kind="derived",
    page=PAGE,
    unit="ms",
    stated=Stated(20, "ms", "about", "≈ 20 ms across GPU generations (Rubin: 288 GB at ~20 TB/s ≈ 15 ms)"),
    build=derive_train_interval,
    inputs=(
        Input(M, "hbm_capacity", None, "HBM capacity"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
    ),
    rows=Rows(
        "accelerator", "h100-sxm", "most", "the lecture's examples are NVIDIA GPUs; H100 is the common reference"
    ),
    finding=(
        "On the reference hardware one pass over HBM takes {value}; the rows below show the spread "
        "across vendors and generations."
    ),
)

CLAIMS = (TRAIN_INTERVAL,)
