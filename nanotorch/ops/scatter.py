"""Writes at index positions: the scatter family along one dim (``scatter``,
``scatter_add``, ``scatter_reduce``) and the ``index_*`` family (``index_add``,
``index_copy``, ``index_fill``), each out of place (the registry makes the ``_`` forms)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap

# ufunc.at and the identity of each scatter_reduce reduction
_REDUCE_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
                 "amin": np.minimum}


def _identity(reduce, dtype):
    """The value an output position starts from when ``include_self=False``."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def scatter_key(index, dim):
    """The NumPy key that sends ``index``'s element ``(i, j, ...)`` to the position with
    its value in place of coordinate ``dim``."""
    key = list(np.indices(index.shape, sparse=True))
    key[dim] = index
    return tuple(key)


def _head(src, shape):
    """The leading ``shape`` block of ``src`` (index may be smaller than src)."""
    return src[tuple(slice(0, s) for s in shape)]


def _pad_to(t, shape):
    """``t`` grown with trailing zeros to ``shape`` (src may be larger than index)."""
    if tuple(t.shape) == tuple(shape):
        return t
    from ..nn.functional import pad
    widths = []
    for have, want in zip(reversed(t.shape), reversed(shape)):
        widths += [0, want - have]
    return pad(t, widths)


def _gather_padded(g, dim, index, src_shape):
    """``g.gather(dim, index)`` grown with zeros to ``src_shape`` (the gradient of src)."""
    return _pad_to(g.gather(dim, _wrap(index)), src_shape)


class Scatter(Op):
    """``out = input.clone(); out[index along dim] = src`` (src a tensor)."""

    def forward(self, a, src, dim, index):
        self.dim, self.index, self.src_shape = dim, index, src.shape
        out = a.copy()
        out[scatter_key(index, dim)] = _head(src, index.shape)
        return out

    def backward(self, g):
        need_a, need_src = self.needs_input_grad
        ga = g.scatter(self.dim, _wrap(self.index), 0.0) if need_a else None
        gs = _gather_padded(g, self.dim, self.index, self.src_shape) if need_src else None
        return ga, gs


class ScatterValue(Op, backward_name="ScatterBackward1"):
    """``out = input.clone(); out[index along dim] = value`` (a number)."""

    def forward(self, a, dim, index, value):
        self.dim, self.index = dim, index
        out = a.copy()
        out[scatter_key(index, dim)] = value
        return out

    def backward(self, g):
        return g.scatter(self.dim, _wrap(self.index), 0.0)


class ScatterAdd(Op):
    def forward(self, a, src, dim, index):
        self.dim, self.index, self.src_shape = dim, index, src.shape
        out = a.copy()
        np.add.at(out, scatter_key(index, dim), _head(src, index.shape))
        return out

    def backward(self, g):
        need_a, need_src = self.needs_input_grad
        gs = _gather_padded(g, self.dim, self.index, self.src_shape) if need_src else None
        return (g if need_a else None), gs


class ScatterReduce(Op, backward_name="ScatterReduceBackward0"):
    """``scatter_reduce`` with reduce in sum, prod, mean, amax, amin."""

    def forward(self, a, src, dim, index, reduce, include_self):
        self.dim, self.index, self.reduce = dim, index, reduce
        self.include_self, self.src_shape = include_self, src.shape
        key = scatter_key(index, dim)
        src = _head(src, index.shape)
        out = a.copy()
        hit = np.zeros(a.shape, dtype=np.int64)  # how many src elements land on each position
        np.add.at(hit, key, 1)
        self.hit = hit
        if not include_self:
            out[hit > 0] = _identity(reduce, a.dtype)
        _REDUCE_UFUNC[reduce].at(out, key, src)
        if reduce == "mean":
            count = hit + (1 if include_self else 0)
            count = np.maximum(count, 1)
            if out.dtype.kind == "f":
                out = out / count.astype(out.dtype)
            else:
                out = np.floor_divide(out, count).astype(out.dtype)
            self.count = count
        self.save_inputs(0, 1)
        self.save_output()
        return out

    def backward(self, g):
        a, src, out = self.saved_tensors
        need_a, need_src = self.needs_input_grad
        dim, index, hit = self.dim, self.index, self.hit
        untouched = _wrap((hit == 0) | self.include_self)  # positions whose self counts
        src_part = _head_tensor(src, index.shape)
        if self.reduce == "sum":
            ga = g * untouched
            gs = g.gather(dim, _wrap(index))
        elif self.reduce == "mean":
            scaled = g / _wrap(self.count.astype(g._array.dtype))
            ga = scaled * untouched
            gs = scaled.gather(dim, _wrap(index))
        elif self.reduce == "prod":
            ga = g * out / a if self.include_self else g * untouched
            gs = (g * out).gather(dim, _wrap(index)) / src_part
        else:  # amax / amin: split evenly between the elements that attain the result
            picked = out._array[scatter_key(index, dim)]
            src_wins = src_part._array == picked
            # PyTorch counts self among the ties even with include_self=False (and then
            # gives self no gradient there), so a src share is g / (ties incl. self).
            self_wins = a._array == out._array
            ties = self_wins.astype(np.int64)
            np.add.at(ties, scatter_key(index, dim), src_wins)
            share = g / _wrap(np.maximum(ties, 1).astype(g._array.dtype))
            ga = share * _wrap(self_wins & untouched._array)
            gs = share.gather(dim, _wrap(index)) * _wrap(src_wins)
        return (ga if need_a else None), (_pad_to(gs, self.src_shape) if need_src else None)


def _head_tensor(t, shape):
    if tuple(t.shape) == tuple(shape):
        return t
    return t[tuple(slice(0, s) for s in shape)]


class IndexAdd(Op):
    """``out = input.clone(); out.index_add_(dim, index, source, alpha=alpha)``."""

    def forward(self, a, source, dim, index, alpha):
        self.dim, self.index, self.alpha = dim, index, alpha
        out = a.copy()
        moved = np.moveaxis(out, dim, 0)
        src = np.moveaxis(source, dim, 0) if source.ndim else source
        np.add.at(moved, index, src * alpha if alpha != 1 else src)
        return out

    def backward(self, g):
        need_a, need_src = self.needs_input_grad
        gs = None
        if need_src:
            gs = g.index_select(self.dim, _wrap(self.index))
            if self.alpha != 1:
                gs = gs * self.alpha
        return (g if need_a else None), gs


class IndexCopy(Op):
    def forward(self, a, source, dim, index):
        self.dim, self.index = dim, index
        out = a.copy()
        np.moveaxis(out, dim, 0)[index] = np.moveaxis(source, dim, 0) if source.ndim else source
        return out

    def backward(self, g):
        need_a, need_src = self.needs_input_grad
        ga = g.index_fill(self.dim, _wrap(self.index), 0.0) if need_a else None
        gs = g.index_select(self.dim, _wrap(self.index)) if need_src else None
        return ga, gs


class IndexFill(Op, backward_name="IndexFillBackward0"):
    def forward(self, a, dim, index, value):
        self.dim, self.index = dim, index
        out = a.copy()
        np.moveaxis(out, dim, 0)[index] = value
        return out

    def backward(self, g):
        return g.index_fill(self.dim, _wrap(self.index), 0.0)
