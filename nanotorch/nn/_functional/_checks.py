"""Argument checks shared by the functional forms, with PyTorch's messages."""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor

_KERNEL_FLOATS = (np.float32, np.float64)


def check_tensor(t, arg, fn):
    """``t`` must be a Tensor (argument ``arg`` of ``fn``)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(t).__name__}")


def check_float(t, arg, fn, *, kernel_dtypes=False):
    """``t`` must be a floating-point Tensor; with ``kernel_dtypes``, float32 or float64
    (the dtypes the compiled kernels take)."""
    check_tensor(t, arg, fn)
    if kernel_dtypes:
        if t._array.dtype not in _KERNEL_FLOATS:
            raise RuntimeError(f"{fn}(): expected a float32 or float64 {arg}, got {t.dtype}")
    elif not t.is_floating_point():
        raise RuntimeError(f"{fn}(): expected a floating point {arg}, got {t.dtype}")


def pair(v, name):
    """``int`` or length-1/2 sequence -> tuple of two ints (a 2-D window argument)."""
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    t = tuple(int(e) for e in v)
    if len(t) == 1:
        return t * 2
    if len(t) != 2:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 values "
                           f"to match the convolution dimensions, but got {name}={list(t)}")
    return t
