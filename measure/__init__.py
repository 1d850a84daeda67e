"""Roofline measurements on a real accelerator, written as an hwdb overlay.

``python3 -m measure.roofline`` times an HBM read and copy, dense BF16 and FP8
matrix multiplies and a decode-shaped matmul swept over the batch, then writes the
achieved figures as a ``measurement`` record that ``hwdb`` loads like any overlay.

``analysis`` and ``records`` need only the standard library and NumPy, so that the
fit and the file format are tested without PyTorch; only ``roofline`` imports torch.
"""

from __future__ import annotations

#: Bumped whenever what is measured, or how, changes; recorded in every output file.
SCRIPT_VERSION = "1"
