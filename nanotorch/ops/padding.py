"""Padding ops: constant (negative amounts crop) and the index-gather form of reflect /
replicate / circular padding, each differentiable to any order."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


def pad_amounts(pad, ndim):
    """[(dim, left, right)] from PyTorch's last-dim-first pad list."""
    return [(ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)]


class ConstantPad(Op, backward_name="ConstantPadNdBackward0"):
    def forward(self, x, pad, value):
        self.pad = pad
        out_shape = list(x.shape)
        src = [slice(None)] * x.ndim
        dst = [slice(None)] * x.ndim
        for d, lo, hi in pad_amounts(pad, x.ndim):
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
        return ConstantPad.apply(g, pad=tuple(-p for p in self.pad), value=0)


class PadGather(Op, backward_name="PadBackward0"):
    """``x`` indexed by ``index`` along ``dim`` (one padded dim of a reflect / replicate /
    circular pad)."""

    def forward(self, x, dim, index):
        self.args = (dim, index, x.shape[dim])
        return np.take(x, index, axis=dim)

    def backward(self, g):
        dim, index, size = self.args
        return PadScatterAdd.apply(g, dim=dim, index=index, size=size)


class PadScatterAdd(Op, backward_name="PadBackwardBackward0"):
    """The adjoint of ``PadGather``: sums ``g`` into positions ``index`` of a length-``size``
    dim."""

    def forward(self, g, dim, index, size):
        self.args = (dim, index)
        moved = np.moveaxis(g, dim, 0)
        out = np.zeros((size,) + moved.shape[1:], dtype=g.dtype)
        np.add.at(out, index, moved)
        return np.ascontiguousarray(np.moveaxis(out, 0, dim))

    def backward(self, gg):
        dim, index = self.args
        return PadGather.apply(gg, dim=dim, index=index)


_GATHER_OPS = {}


def gather_pad_op(mode, n):
    """The gather op (one class per PyTorch node name) of a ``mode`` pad of ``n`` dims."""
    name = {"reflect": f"ReflectionPad{n}DBackward0", "replicate": f"ReplicationPad{n}DBackward0",
            "circular": "CopySlices"}[mode]
    if name not in _GATHER_OPS:
        _GATHER_OPS[name] = type(name, (PadGather,), {}, backward_name=name)
    return _GATHER_OPS[name]
