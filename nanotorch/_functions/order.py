"""Order statistics and distinct values: ``kthvalue``, ``median`` / ``nanmedian``,
``mode``, ``quantile`` / ``nanquantile``, ``unique`` and ``unique_consecutive``. Values
are gathered from the input, so gradients flow to the chosen elements."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..functions import where
from ..ops.reduction import normalize_dims
from ..ops.registry import register
from ..tensor import Tensor

kthvalue_type = namedtuple("kthvalue", ["values", "indices"])
median_type = namedtuple("median", ["values", "indices"])
nanmedian_type = namedtuple("nanmedian", ["values", "indices"])
mode_type = namedtuple("mode", ["values", "indices"])


def _dim_of(input, dim):
    return normalize_dims(dim, input.ndim)[0] if input.ndim else 0


def _pick(input, d, index, keepdim, result_type):
    """``input`` gathered at ``index`` (an array with size 1 along ``d``)."""
    src = input if input.ndim else input.reshape(1)
    idx = Tensor._wrap(index.astype(np.int64))
    values = src.gather(d, idx)
    if not keepdim or input.ndim == 0:
        values, idx = values.squeeze(d), idx.squeeze(d)
        if input.ndim == 0:
            values, idx = values.reshape(()), idx.reshape(())
    return result_type(values, idx)


def _stable_order(arr, d):
    return np.argsort(arr, axis=d, kind="stable")


@register
def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest element along ``dim`` and its index."""
    d = _dim_of(input, dim)
    arr = input._array if input.ndim else input._array.reshape(1)
    n = arr.shape[d]
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue(): selected number k out of range for dimension {d}")
    order = _stable_order(arr, d)
    index = np.take(order, [k - 1], axis=d)
    return _pick(input, d, index, keepdim, kthvalue_type)


def _median_index(arr, d, ignore_nan):
    """Index of the lower median along ``d``; a slice with NaN gives its first NaN unless
    ``ignore_nan`` (then the median of the rest; all-NaN slices give a NaN)."""
    order = _stable_order(arr, d)   # NaN sort last
    nan = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    count = arr.shape[d] - nan.sum(axis=d, keepdims=True) if ignore_nan else arr.shape[d]
    pos = np.maximum((count - 1) // 2, 0)
    pos = np.broadcast_to(pos, np.take(arr, [0], axis=d).shape)
    index = np.take_along_axis(order, pos, axis=d)
    if not ignore_nan:
        first_nan = np.argmax(nan, axis=d, keepdims=True)
        index = np.where(nan.any(axis=d, keepdims=True), first_nan, index)
    return index


def _median(input, dim, keepdim, ignore_nan, result_type):
    if dim is None:
        flat = input.reshape(-1)
        if flat.numel() == 0:
            return Tensor._wrap(np.asarray(np.nan, dtype=input._array.dtype))
        index = _median_index(flat._array, 0, ignore_nan)
        value = flat.gather(0, Tensor._wrap(index.astype(np.int64))).reshape(())
        # PyTorch splits the gradient evenly between the elements equal to the median: the
        # added term is exactly zero in value and carries that gradient.
        v = value._array
        hits = np.isnan(flat._array) if np.isnan(v) else flat._array == v
        share = Tensor._wrap((hits / max(int(hits.sum()), 1)).astype(flat._array.dtype))
        return value.detach() + ((flat - flat.detach()) * share).sum()
    d = _dim_of(input, dim)
    arr = input._array if input.ndim else input._array.reshape(1)
    if arr.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    return _pick(input, d, _median_index(arr, d, ignore_nan), keepdim, result_type)


@register
def median(input, dim=None, keepdim=False):
    """The lower median (no averaging), as PyTorch."""
    return _median(input, dim, keepdim, False, median_type)


@register
def nanmedian(input, dim=None, keepdim=False):
    return _median(input, dim, keepdim, True, nanmedian_type)


@register
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and
    the index of its last occurrence."""
    d = _dim_of(input, dim)
    arr = input._array if input.ndim else input._array.reshape(1)
    moved = np.moveaxis(arr, d, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    index = np.empty(rows.shape[0], dtype=np.int64)
    for r, row in enumerate(rows):
        values, counts = np.unique(row, return_counts=True)
        best = values[np.argmax(counts)]
        index[r] = row.shape[0] - 1 - np.argmax(row[::-1] == best)
    index = np.expand_dims(index.reshape(moved.shape[:-1]), d)
    return _pick(input, d, index, keepdim, mode_type)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, fn):
    if not input.is_floating_point():
        raise RuntimeError(f"{fn}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{fn}() interpolation must be one of linear, lower, higher, midpoint "
                           f"or nearest. Got {interpolation}")
    scalar_q = not isinstance(q, Tensor)
    qs = np.atleast_1d(np.asarray(q._array if isinstance(q, Tensor) else q, dtype=np.float64))
    if isinstance(q, Tensor) and q.ndim > 1:
        raise RuntimeError(f"{fn}() q must be a scalar or 1D tensor")
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{fn}() q values must be in the range [0, 1]")
    if dim is None:
        x, d = input.reshape(-1), 0
    else:
        d = _dim_of(input, dim)
        x = input if input.ndim else input.reshape(1)
    sorted_x = x.sort(d).values                      # NaN last
    n = x.shape[d]
    nan = x.isnan()._array
    count = (n - nan.sum(axis=d, keepdims=True)) if ignore_nan else np.full(
        np.take(nan, [0], axis=d).shape, n)
    outs = []
    for qv in qs:
        pos = qv * (np.maximum(count, 1) - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        frac = pos - lo
        if interpolation == "lower":
            hi, frac = lo, frac * 0
        elif interpolation == "higher":
            lo, frac = hi, frac * 0
        elif interpolation == "nearest":
            lo = hi = np.round(pos).astype(np.int64)
            frac = frac * 0
        elif interpolation == "midpoint":
            frac = np.where(hi > lo, 0.5, 0.0)
        a = sorted_x.gather(d, Tensor._wrap(lo))
        b = sorted_x.gather(d, Tensor._wrap(hi))
        out = a + (b - a) * Tensor._wrap(frac.astype(x._array.dtype))
        has_nan = nan.any(axis=d, keepdims=True)
        if not ignore_nan and has_nan.any():  # NaN, from (and with the gradient of) its first
            first_nan = Tensor._wrap(np.argmax(nan, axis=d, keepdims=True))
            out = where(Tensor._wrap(has_nan), x.gather(d, first_nan), out)
        outs.append(out if keepdim and dim is not None else out.squeeze(d))
    if dim is None and keepdim:
        outs = [o.reshape((1,) * input.ndim) for o in outs]
    from ..functions import stack
    return outs[0] if scalar_q else stack(outs, 0)


@register
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


@register
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def _unique_results(values, inverse, counts, return_inverse, return_counts):
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(inverse.astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@register
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted; ``sorted=False`` sorts too, which PyTorch allows), or
    distinct slices along ``dim``."""
    arr = input._array
    if dim is None:
        values, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(arr.shape)
    else:
        d = _dim_of(input, dim)
        values, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True,
                                            axis=d)
        inverse = inverse.reshape(-1)
    return _unique_results(values, inverse, counts, return_inverse, return_counts)


@register
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``)."""
    arr = input._array
    if dim is None:
        flat = arr.reshape(-1)
        moved, shape = flat.reshape(-1, 1), arr.shape
    else:
        d = _dim_of(input, dim)
        moved = np.moveaxis(arr, d, 0)
        moved, shape = moved.reshape(moved.shape[0], -1), (arr.shape[d],)
    n = moved.shape[0]
    if n == 0:
        starts = np.zeros(0, dtype=np.int64)
    else:
        change = np.any(moved[1:] != moved[:-1], axis=1)
        starts = np.concatenate([[0], np.nonzero(change)[0] + 1])
    counts = np.diff(np.append(starts, n))
    inverse = np.repeat(np.arange(starts.size), counts).reshape(shape)
    if dim is None:
        values = arr.reshape(-1)[starts]
    else:
        values = np.take(arr, starts, axis=d)
    return _unique_results(values, inverse, counts, return_inverse, return_counts)


__all__ = ["kthvalue", "median", "mode", "nanmedian", "nanquantile", "quantile", "unique",
           "unique_consecutive"]


