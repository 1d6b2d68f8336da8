"""``scatter`` / ``scatter_add`` / ``scatter_reduce`` and ``index_add`` / ``index_copy`` /
``index_fill``: PyTorch's argument checks in front of ``ops/scatter.py``."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from ..ops import scatter as SC
from ..ops.registry import COPY, register
from ..tensor import Tensor

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
_LEGACY_REDUCE = {"add": "sum", "multiply": "prod"}


def _check_index_dtype(index, fn):
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"{fn}(): Expected dtype int64 for index")


def _check_bounds(index, size, dim, error=IndexError):
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < -size or hi >= size:
            bad = hi if hi >= size else lo
            raise error(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _scatter_args(input, dim, index, src, fn):
    """Checked ``(dim, index array)`` of a scatter; ``src`` may be None (a value)."""
    _check_index_dtype(index, fn)
    d = input._dim(dim)
    if index.ndim != input.ndim and index.numel():
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src is not None:
        if src.ndim != index.ndim and index.numel():
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
        if src.dtype is not input.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    for k, n in enumerate(index.shape):
        too_big = k != d and n > input.shape[k] or src is not None and n > src.shape[k]
        if too_big:
            src_part = f" and to be no larger size than src {list(src.shape)}" if src is not None \
                else ""
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {d}{src_part}")
    size = input.shape[d] if input.ndim else 1
    arr = index._array.astype(np.int64)
    _check_bounds(arr, size, d, RuntimeError)
    return d, np.where(arr < 0, arr + size, arr)


@register(inplace=COPY)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """Writes ``src`` (a tensor) or ``value`` (a number) into a copy of ``input`` at
    ``index`` along ``dim``; ``reduce='add'`` / ``'multiply'`` is the legacy form."""
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
    if isinstance(value, Tensor):
        value = value.item()
    d, idx = _scatter_args(input, dim, index, src, "scatter")
    if reduce is not None:
        if reduce not in _LEGACY_REDUCE:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if src is None:
            src = Tensor._wrap(np.full(index.shape, value, dtype=input._array.dtype))
        return SC.ScatterReduce.apply(input, src, dim=d, index=idx,
                                      reduce=_LEGACY_REDUCE[reduce], include_self=True)
    if src is None:
        return SC.ScatterValue.apply(input, dim=d, index=idx, value=value)
    return SC.Scatter.apply(input, src, dim=d, index=idx)


@register(inplace=COPY)
def scatter_add(input, dim, index, src):
    d, idx = _scatter_args(input, dim, index, src, "scatter_add")
    return SC.ScatterAdd.apply(input, src, dim=d, index=idx)


@register(inplace=COPY)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # PyTorch's aliases
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d, idx = _scatter_args(input, dim, index, src, "scatter_reduce")
    return SC.ScatterReduce.apply(input, src, dim=d, index=idx, reduce=reduce,
                                  include_self=bool(include_self))


def _index_args(input, dim, index, source, fn, sep=":"):
    """Checked ``(dim, index vector)`` of an ``index_*`` op."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector, but got dim: {index.ndim} "
                         f"with type: {_dtype.scalar_name(index.dtype)} and size: "
                         f"{list(index.shape)}")
    if index.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index but got: "
                           f"{_dtype.scalar_name(index.dtype)}")
    d = input._dim(dim)
    size = input.shape[d] if input.ndim else 1
    idx = index._array.reshape(-1).astype(np.int64)
    if source is not None:
        if source.dtype is not input.dtype:
            raise RuntimeError(f"{fn}(): self ({_dtype.scalar_name(input.dtype)}) and source "
                               f"({_dtype.scalar_name(source.dtype)}) must have the same scalar "
                               f"type")
        n = source.shape[d] if source.ndim else 1
        if n != idx.size:
            raise (RuntimeError if fn == "index_add_" else IndexError)(
                f"{fn}(): Number of indices ({idx.size}) should be equal to source.size(dim)"
                f"{sep} ({n}){', for dim: ' + str(d) if fn == 'index_add_' else ''}")
    _check_bounds(idx, size, d)
    return d, np.where(idx < 0, idx + size, idx)


@register(inplace=COPY)
def index_add(input, dim, index, source, *, alpha=1):
    d, idx = _index_args(input, dim, index, source, "index_add_")
    return SC.IndexAdd.apply(input, source, dim=d, index=idx, alpha=alpha)


@register(inplace=COPY)
def index_copy(input, dim, index, source):
    d, idx = _index_args(input, dim, index, source, "index_copy_", sep="")
    return SC.IndexCopy.apply(input, source, dim=d, index=idx)


@register(inplace=COPY)
def index_fill(input, dim, index, value):
    d, idx = _index_args(input, dim, index, None, "index_fill_")
    if isinstance(value, Tensor):
        value = value.item()
    return SC.IndexFill.apply(input, dim=d, index=idx, value=value)


__all__ = ["index_add", "index_copy", "index_fill", "scatter", "scatter_add", "scatter_reduce"]
