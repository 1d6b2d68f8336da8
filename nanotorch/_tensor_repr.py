"""Builds a Tensor's repr from its array and autograd state (formatting in _printing)."""
from __future__ import annotations

from . import _dtype
from ._printing import format_tensor


def _dtype_suffix(t):
    d = t.dtype
    if d is _dtype.get_default_dtype() or d is _dtype.int64 or d is _dtype.bool_:
        return None
    return repr(d)


def tensor_repr(t, prefix: str = "tensor(") -> str:
    suffixes = []
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return format_tensor(t._plain_array(), dtype_suffix=_dtype_suffix(t), suffixes=suffixes,
                         prefix=prefix)
