"""``F.pad``: constant padding of any dims (negative pads crop), and reflect / replicate /
circular padding of the last 1-3 dims. All modes are differentiable to any order."""
from __future__ import annotations

import numpy as np

from ...autograd.function import Op
from ...tensor import Tensor


def _pairs(pad, ndim):
    """[(dim, left, right)] from PyTorch's last-dim-first pad list."""
    return [(ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)]


class _ConstantPad(Op, backward_name="ConstantPadNdBackward0"):
    def forward(self, x, pad, value):
        self.pad = pad
        out_shape = list(x.shape)
        src = [slice(None)] * x.ndim
        dst = [slice(None)] * x.ndim
        for d, lo, hi in _pairs(pad, x.ndim):
            size = x.shape[d]
            kept = size + min(lo, 0) + min(hi, 0)
            if kept < 0 or size + lo + hi < 0:
                raise RuntimeError(f"The input size {size}, plus negative padding {lo} and {hi} "
                                   f"resulted in a negative output size, which is invalid. "
                                   f"Check dimension {d} of your input.")
            out_shape[d] = size + lo + hi
            src[d] = slice(max(-lo, 0), max(-lo, 0) + kept)
            dst[d] = slice(max(lo, 0), max(lo, 0) + kept)
        out = np.full(out_shape, value, dtype=x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        return out

    def backward(self, g):
        # the adjoint of padding by (l, r) is padding by (-l, -r) with zeros
        return _ConstantPad.apply(g, pad=tuple(-p for p in self.pad), value=0)


class _Gather(Op, backward_name="PadBackward0"):
    """``x`` indexed by ``index`` along ``dim`` (one padded dim of a reflect / replicate /
    circular pad)."""

    def forward(self, x, dim, index):
        self.args = (dim, index, x.shape[dim])
        return np.take(x, index, axis=dim)

    def backward(self, g):
        dim, index, size = self.args
        return _ScatterAdd.apply(g, dim=dim, index=index, size=size)


class _ScatterAdd(Op, backward_name="PadBackwardBackward0"):
    """The adjoint of ``_Gather``: sums ``g`` into positions ``index`` of a length-``size``
    dim."""

    def forward(self, g, dim, index, size):
        self.args = (dim, index)
        moved = np.moveaxis(g, dim, 0)
        out = np.zeros((size,) + moved.shape[1:], dtype=g.dtype)
        np.add.at(out, index, moved)
        return np.ascontiguousarray(np.moveaxis(out, 0, dim))

    def backward(self, gg):
        dim, index = self.args
        return _Gather.apply(gg, dim=dim, index=index)


_GATHER_OPS = {}


def _gather_op(mode, n):
    name = {"reflect": f"ReflectionPad{n}DBackward0", "replicate": f"ReplicationPad{n}DBackward0",
            "circular": "CopySlices"}[mode]
    if name not in _GATHER_OPS:
        _GATHER_OPS[name] = type(name, (_Gather,), {}, backward_name=name)
    return _GATHER_OPS[name]


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
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' must be Tensor, not {type(input).__name__}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    if mode == "constant":
        return _ConstantPad.apply(input, pad=pad, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument")
    n = len(pad) // 2
    if n not in (1, 2, 3) or input.ndim not in (n + 1, n + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for "
                                  f"{input.ndim}D input tensor.\n{_NON_CONSTANT_HELP}")
    op = _gather_op(mode, n)
    out = input
    for d, lo, hi in _pairs(pad, input.ndim):
        if lo == 0 and hi == 0:
            continue
        out = op.apply(out, dim=d, index=_index(mode, input.shape[d], lo, hi, d, input.shape))
    return out if out is not input else _ConstantPad.apply(input, pad=pad, value=0)
