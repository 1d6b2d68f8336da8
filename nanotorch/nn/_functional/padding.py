"""``F.pad``: constant padding of any dims (negative pads crop), and reflect / replicate /
circular padding of the last 1-3 dims: checks and PyTorch's messages in front of the ops in
``ops/padding.py``."""
from __future__ import annotations

import numpy as np

from ...ops.padding import ConstantPad, gather_pad_op, pad_amounts
from ._checks import check_tensor


def _index(mode, size, lo, hi, dim, shape):
    """Source positions along one dim: negative amounts crop first, then the cropped
    range is padded (as PyTorch does)."""
    start, stop = max(-lo, 0), size - max(-hi, 0)
    n = stop - start
    lo, hi = max(lo, 0), max(hi, 0)
    if mode == "reflect":
        if lo >= size or hi >= size:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({lo}, {hi}) at dimension "
                               f"{dim} of input {list(shape)}")
    elif mode == "circular" and (lo > size or hi > size):
        raise RuntimeError("Padding value causes wrapping around more than once.")
    if n <= 0 or (mode == "reflect" and n == 1 and lo + hi > 0):
        raise RuntimeError(f"{mode} padding of dimension {dim} of input {list(shape)} leaves "
                           f"nothing to pad from after cropping")
    j = np.arange(-lo, n + hi)
    if mode == "reflect":
        j = np.abs(j)
        j = np.where(j >= n, 2 * (n - 1) - j, j)
    elif mode == "replicate":
        j = np.clip(j, 0, n - 1)
    else:
        j = j % n
    return (j + start).astype(np.intp)


_NON_CONSTANT_HELP = ("Supported combinations for non-constant padding:\n"
                      "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                      "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                      "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def pad(input, pad, mode="constant", value=None):
    """Pad ``input``; ``pad`` lists (left, right) amounts starting from the last dim.
    Negative amounts crop."""
    check_tensor(input, "input", "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    if mode == "constant":
        return ConstantPad.apply(input, pad=pad, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument")
    n = len(pad) // 2
    if n not in (1, 2, 3) or input.ndim not in (n + 1, n + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for "
                                  f"{input.ndim}D input tensor.\n{_NON_CONSTANT_HELP}")
    op = gather_pad_op(mode, n)
    out = input
    for d, lo, hi in pad_amounts(pad, input.ndim):
        if lo == 0 and hi == 0:
            continue
        out = op.apply(out, dim=d, index=_index(mode, input.shape[d], lo, hi, d, input.shape))
    return out if out is not input else ConstantPad.apply(input, pad=pad, value=0)
