"""bfloat16 storage: NumPy has no bfloat16, so the bits live in a one-field structured
dtype of uint16 (distinct from uint16, and refused by NumPy's arithmetic, so no kernel can
silently treat the bits as integers). Conversions round to nearest even, as PyTorch does."""
from __future__ import annotations

import numpy as np

NP_DTYPE = np.dtype([("bfloat16", "<u2")])


def from_float(arr) -> np.ndarray:
    """bfloat16 bits of ``arr`` (any real dtype), rounded to nearest even; NaN stays NaN."""
    f = np.ascontiguousarray(arr, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    quiet_nan = (bits >> 16) | 0x40
    out = np.where(np.isnan(f), quiet_nan, rounded).astype(np.uint16)
    return out.view(NP_DTYPE)


def to_float32(arr: np.ndarray) -> np.ndarray:
    """The float32 values of bfloat16 bits (exact)."""
    return (arr.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def cast(arr: np.ndarray, np_dtype, copy: bool = True) -> np.ndarray:
    """``arr.astype(np_dtype, copy=copy)`` where either side may be bfloat16."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype == NP_DTYPE:
        return (arr.copy() if copy else arr) if arr.dtype == NP_DTYPE else from_float(arr)
    if arr.dtype == NP_DTYPE:
        with np.errstate(over="ignore"):  # to float16: inf, as torch, without NumPy's warning
            return to_float32(arr).astype(np_dtype)
    return arr.astype(np_dtype, copy=copy)
