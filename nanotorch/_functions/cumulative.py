"""Cumulative functions along a dim: ``cumsum``, ``cumprod`` (with gradients, also through
zeros), ``cummax`` and ``cummin`` (values and indices)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from ..ops import cumulative as C
from ..ops.registry import COPY, register
from ..tensor import Tensor


def _cumulative_input(input, dtype):
    if dtype is not None:
        return input.to(_dtype.to_dtype(dtype))
    if not input.is_floating_point():
        return input.to(_dtype.int64)  # integer and bool inputs accumulate in int64
    return input


def _scan_dim(input, dim):
    return input._dim(dim) if input.ndim else 0


def _scan(op, input, dim, dtype):
    input = _cumulative_input(input, dtype)
    d = _scan_dim(input, dim)
    if input.ndim == 0:
        return op.apply(input.reshape(1), dim=0).reshape(())
    return op.apply(input, dim=d)


@register(inplace=COPY)
def cumsum(input, dim, *, dtype=None):
    return _scan(C.Cumsum, input, dim, dtype)


@register(inplace=COPY)
def cumprod(input, dim, *, dtype=None):
    return _scan(C.Cumprod, input, dim, dtype)


cummax_type = namedtuple("cummax", ["values", "indices"])
cummin_type = namedtuple("cummin", ["values", "indices"])


def _running_extreme(input, dim, better, result_type):
    """Values and indices of the running max/min; a tie moves the index to the later element
    and NaN wins and stays, as in PyTorch."""
    d = _scan_dim(input, dim)
    arr = input._array if input.ndim else input._array.reshape(1)
    moved = np.moveaxis(arr, d, 0)
    idx = np.zeros(moved.shape, dtype=np.int64)
    best = moved[0].copy()
    for i in range(1, moved.shape[0]):
        cur = moved[i]
        take = better(cur, best) | (cur == best)
        if arr.dtype.kind == "f":
            take = (take & ~np.isnan(best)) | np.isnan(cur)
        best = np.where(take, cur, best)
        idx[i] = np.where(take, i, idx[i - 1])
    index = Tensor._wrap(np.ascontiguousarray(np.moveaxis(idx, 0, d)))
    if input.ndim == 0:
        return result_type(input.reshape(1).gather(0, index).reshape(()), index.reshape(()))
    return result_type(input.gather(d, index), index)


@register
def cummax(input, dim):
    return _running_extreme(input, dim, np.greater, cummax_type)


@register
def cummin(input, dim):
    return _running_extreme(input, dim, np.less, cummin_type)


__all__ = ["cummax", "cummin", "cumprod", "cumsum"]
