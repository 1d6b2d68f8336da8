"""More elementwise functions: ``atan2``, ``hypot``, ``logaddexp``, ``lerp``,
``addcmul`` / ``addcdiv``, ``nan_to_num``, ``sgn``, ``heaviside`` (the one-input math ops
are registered in ``ops/pointwise.py``)."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from ..functions import _binary, _float_dtype, _nograd_binary, _operand, maximum, where
from ..ops import pointwise as P
from ..ops.registry import COPY, register
from ..tensor import Tensor


def _as_float(*xs):
    """The operands converted to their promoted float dtype (numbers stay numbers)."""
    dt = _float_dtype(*xs)
    return [x.to(dt) if isinstance(x, Tensor) and x.dtype is not dt else x for x in xs]


@register(inplace=COPY, aliases=("arctan2",))
def atan2(input, other):
    a, b = _as_float(_operand(input), _operand(other))
    return _binary(P.Atan2, a, b)


arctan2 = atan2


@register(inplace=COPY)
def hypot(input, other):
    return (input * input + other * other).sqrt()


@register
def logaddexp(input, other):
    a, b = _as_float(input, _operand(other))
    m = maximum(a, b).detach()
    finite_m = where(m.isinf(), 0.0, m)  # both -inf: log(0) = -inf, not nan
    return ((a - finite_m).exp() + (b - finite_m).exp()).log() + finite_m


@register
def logaddexp2(input, other):
    ln2 = float(np.log(2.0))
    return logaddexp(input * ln2, other * ln2) / ln2


@register(inplace=COPY)
def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


@register(inplace=COPY)
def addcmul(input, tensor1, tensor2, *, value=1):
    prod = tensor1 * tensor2
    return input + (prod * value if value != 1 else prod)


@register(inplace=COPY)
def addcdiv(input, tensor1, tensor2, *, value=1):
    if not (tensor1.is_floating_point() or tensor2.is_floating_point()):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                           "future release addcdiv will perform a true division of tensor1 "
                           "and tensor2. The historic addcdiv behavior can be implemented as "
                           "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) "
                           "for integer inputs and as (input + value * tensor1 / tensor2) for "
                           "float inputs. The future addcdiv behavior is just the latter "
                           "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    quot = tensor1 / tensor2
    return input + (quot * value if value != 1 else quot)


@register(inplace=COPY)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by ``nan`` and the dtype's largest / lowest finite value
    (or ``posinf`` / ``neginf``)."""
    if not input.is_floating_point():
        return input.clone()
    info = np.finfo(input._array.dtype)
    return P.NanToNum.apply(input, nan=nan, posinf=info.max if posinf is None else posinf,
                            neginf=info.min if neginf is None else neginf)


@register(inplace=COPY)
def sgn(input):
    """The sign (0 for NaN, as PyTorch's ``sgn`` of a real tensor); gradient zero."""
    if not input.is_floating_point():
        return input.sign()
    return P.Sgn.apply(input)


@register(inplace=COPY)
def heaviside(input, values):
    if input.dtype is not values.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different "
                           f"dtypes: {input.dtype} and {values.dtype}")
    return _nograd_binary(lambda x, v: np.where(x == 0, v, x > 0), input, values)


def _as_array(x, dtype=None):
    return x._array if isinstance(x, Tensor) else np.asarray(x, dtype=dtype)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    out = np.isin(_as_array(elements), _as_array(test_elements), invert=invert)
    return Tensor._wrap(np.asarray(out))


def _result_index_dtype(out_int32):
    return np.int32 if out_int32 else np.int64


@register
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """Index of the bucket of each element in the sorted 1-D ``boundaries``."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    side = "right" if right else "left"
    out = np.searchsorted(boundaries._array, _as_array(input), side=side)
    return Tensor._wrap(np.asarray(out, dtype=_result_index_dtype(out_int32)))


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Insertion points of ``values`` in the innermost dim of ``sorted_sequence``."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._array
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._array, -1)
    vals = _as_array(values, seq.dtype)
    side = "right" if right else "left"
    dt = _result_index_dtype(out_int32)
    if seq.ndim == 1:
        return Tensor._wrap(np.asarray(np.searchsorted(seq, vals, side=side), dtype=dt))
    if seq.shape[:-1] != vals.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
    rows_seq = seq.reshape(-1, seq.shape[-1])
    rows_val = vals.reshape(-1, vals.shape[-1])
    out = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(rows_seq, rows_val)])
    return Tensor._wrap(out.reshape(vals.shape).astype(dt))


@register
def histc(input, bins=100, min=0, max=0):
    """Histogram with ``bins`` equal bins over [min, max] (the data's range when both are
    0); elements outside are ignored."""
    if not input.is_floating_point():
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                           f"'{_dtype.scalar_name(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dim 0")
    arr = input._array.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and arr.size:
        lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc(): max must be larger than min, but got min {lo} max "
                           f"{hi}")
    counts, _ = np.histogram(arr, bins=bins, range=(lo, hi))
    return Tensor._wrap(counts.astype(input._array.dtype))


@register
def bincount(input, weights=None, minlength=0):
    if input.ndim != 1 or input.is_floating_point():
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    arr = input._array
    if arr.size and arr.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return Tensor._wrap(np.bincount(arr, minlength=minlength).astype(np.int64))
    w = weights._array
    dt = w.dtype if w.dtype == np.float32 else np.float64
    return Tensor._wrap(np.bincount(arr, weights=w, minlength=minlength).astype(dt))


__all__ = ["addcdiv", "addcmul", "arctan2", "atan2", "bincount", "bucketize", "heaviside",
           "histc", "hypot", "isin", "lerp", "logaddexp", "logaddexp2", "nan_to_num",
           "searchsorted", "sgn"]
