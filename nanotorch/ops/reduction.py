"""Reductions over dims: sum, mean, var/std, amax/amin, max/min with indices, logsumexp."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


def normalize_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, int or sequence; negative allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    rank = max(ndim, 1)
    axes = []
    for d in dim:
        d = int(d)
        if not -rank <= d < rank:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-rank}, {rank - 1}], but got {d})")
        d = d % rank
        if ndim == 0:
            continue
        if d in axes:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        axes.append(d)
    return tuple(sorted(axes))


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand_back(g, in_shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input's shape."""
    if not keepdim:
        g = g.reshape(_keep_shape(in_shape, axes))
    return g.expand(in_shape)


class Sum(Op):
    def forward(self, a, axes, keepdim, dtype=None):
        self.in_shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return np.sum(a, axis=axes, keepdims=keepdim, dtype=dtype)

    def backward(self, g):
        return _expand_back(g, self.in_shape, self.axes, self.keepdim)


class SumDim(Sum, backward_name="SumBackward1"):
    """sum over given dims."""


class Mean(Op):
    def forward(self, a, axes, keepdim, dtype=None):
        self.in_shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.count = int(np.prod([a.shape[i] for i in axes])) if axes else 1
        return np.mean(a, axis=axes, keepdims=keepdim, dtype=dtype)

    def backward(self, g):
        return _expand_back(g / self.count, self.in_shape, self.axes, self.keepdim)


class MeanDim(Mean, backward_name="MeanBackward1"):
    """mean over given dims."""


class SumToSize(Op, backward_name="SumBackward1"):
    """Sum a broadcast array down to ``shape`` (the reverse of expand)."""

    def forward(self, a, shape):
        self.in_shape = a.shape
        lead = a.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1)
        out = np.sum(a, axis=axes, keepdims=True) if axes else a
        return out.reshape(shape)

    def backward(self, g):
        return g.expand(self.in_shape)


class _Spread(Op):
    """var/std over ``axes`` with ``correction`` (``numpy_fn`` computes the value); the
    backward starts from ``g`` broadcastable to ``a`` and ``a - mean``."""

    numpy_fn = None

    def forward(self, a, axes, correction, keepdim):
        self.save_inputs(0)
        self.axes, self.correction, self.keepdim = axes, correction, keepdim
        n = int(np.prod([a.shape[i] for i in axes])) if axes else 1
        self.dof = n - correction
        with np.errstate(divide="ignore", invalid="ignore"):
            return type(self).numpy_fn(a, axis=axes, ddof=correction, keepdims=keepdim)

    def _kept(self, t, a):
        return t if self.keepdim else t.reshape(_keep_shape(a.shape, self.axes))

    def _centered(self, a):
        return a - a.mean(dim=self.axes, keepdim=True)


class Var(_Spread):
    numpy_fn = np.var

    def backward(self, g):
        (a,) = self.saved_tensors
        return self._kept(g, a) * self._centered(a) * (2.0 / self.dof)


class Std(_Spread):
    numpy_fn = np.std

    def forward(self, a, axes, correction, keepdim):
        out = super().forward(a, axes, correction, keepdim)
        self.save_output()
        return out

    def backward(self, g):
        a, out = self.saved_tensors
        return self._kept(g, a) * self._centered(a) / (self._kept(out, a) * self.dof)


class _EvenlySplitExtreme(Op):
    """amax/amin/max()/min(): ties share the gradient evenly, as in PyTorch."""

    reducer = None

    def forward(self, a, axes, keepdim):
        if a.size == 0 and (not axes or any(a.shape[i] == 0 for i in axes)):
            raise RuntimeError(f"{type(self).op_name}(): Expected reduction dim to be specified "
                               "for input.numel() == 0. Specify the reduction dim with the "
                               "'dim' argument.")
        self.axes, self.keepdim = axes, keepdim
        self.save_inputs(0)
        self.save_output()
        return type(self).reducer(a, axis=axes, keepdims=keepdim)

    def backward(self, g):
        a, out = self.saved_tensors
        if not self.keepdim:
            shape = _keep_shape(a.shape, self.axes)
            g, out = g.reshape(shape), out.reshape(shape)
        mask = a == out
        count = mask.sum(dim=self.axes, keepdim=True)
        return g * mask / count


class Amax(_EvenlySplitExtreme):
    reducer = staticmethod(np.max)
    op_name = "amax"


class Amin(_EvenlySplitExtreme):
    reducer = staticmethod(np.min)
    op_name = "amin"


class MaxAll(_EvenlySplitExtreme, backward_name="MaxBackward1"):
    reducer = staticmethod(np.max)
    op_name = "max"


class MinAll(_EvenlySplitExtreme, backward_name="MinBackward1"):
    reducer = staticmethod(np.min)
    op_name = "min"


class Gather(Op):
    """``out[i][j] = a[i][index[i][j]]`` along ``dim`` (np.take_along_axis); ``index`` may
    be smaller than ``a`` in the other dims."""

    def forward(self, a, index, dim):
        self.index, self.dim, self.in_shape = index, dim, a.shape
        if any(i != dim and n != m for i, (n, m) in enumerate(zip(index.shape, a.shape))):
            a = a[tuple(slice(None) if i == dim else slice(0, n)
                        for i, n in enumerate(index.shape))]
        return np.take_along_axis(a, index, axis=dim)

    def backward(self, g):
        return ScatterAddZeros.apply(g, index=self.index, dim=self.dim, shape=self.in_shape)


class ScatterAddZeros(Op, backward_name="ScatterAddBackward0"):
    """zeros(shape).scatter_add_(dim, index, src): the backward of Gather."""

    def forward(self, src, index, dim, shape):
        self.index, self.dim = index, dim
        out = np.zeros(shape, dtype=src.dtype)
        idx = [np.arange(s).reshape([-1 if i == k else 1 for k in range(src.ndim)])
               for i, s in enumerate(index.shape)]
        idx[dim] = index
        np.add.at(out, tuple(idx), src)
        return out

    def backward(self, g):
        return Gather.apply(g, index=self.index, dim=self.dim)


class MaxDim(Op, backward_name="MaxBackward0"):
    """Values of max(dim) at the given indices (``index`` has the input's shape with 1 at
    ``dim``; 0-dim inputs are taken as shape (1,)): the gradient goes there only."""

    def forward(self, a, index, dim, keepdim):
        self.index, self.dim, self.in_shape = index, dim, a.shape
        out = np.take_along_axis(a if a.ndim else a.reshape(1), index, axis=dim)
        if not a.ndim:
            return out.reshape(())
        return out if keepdim else np.squeeze(out, dim)

    def backward(self, g):
        if g.shape != self.index.shape:
            g = g.reshape(self.index.shape)
        shape = self.in_shape or (1,)
        out = ScatterAddZeros.apply(g, index=self.index, dim=self.dim, shape=shape)
        return out if out.shape == self.in_shape else out.reshape(self.in_shape)


class MinDim(MaxDim, backward_name="MinBackward0"):
    """Values of min(dim)."""


class LogSumExp(Op, backward_name="LogsumexpBackward0"):
    def forward(self, a, axes, keepdim):
        self.save_inputs(0)
        self.axes, self.keepdim = axes, keepdim
        m = np.max(a, axis=axes, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        self.save_output()
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(self, g):
        a, out = self.saved_tensors
        if not self.keepdim:
            shape = _keep_shape(a.shape, self.axes)
            g, out = g.reshape(shape), out.reshape(shape)
        return g * (a - out).exp()
