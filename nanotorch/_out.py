"""``out=`` on the ``nanotorch.*`` functions that take it in PyTorch.

One wrapper serves them all: the function computes its result as usual, then the result is
written into ``out`` with PyTorch's rules (no autograd through ``out=``, the result's dtype
must cast to ``out``'s, a wrongly shaped ``out`` is resized, with PyTorch's warning when it
held elements). Only the ``nanotorch.*`` names are wrapped; Tensor methods (which take no
``out=``) stay the bare functions, so the hot path pays nothing."""
from __future__ import annotations

import functools
import warnings

import numpy as np

from . import _dtype
from .autograd.grad_mode import is_grad_enabled
from .tensor import Tensor

# the functions of ``functions.py`` / ``_functions`` that accept ``out=`` in PyTorch
NAMES = (
    "abs", "acos", "acosh", "add", "addcdiv", "addcmul", "addmm", "amax", "amin", "asin",
    "asinh", "atan", "atan2", "atanh", "bmm", "cat", "ceil", "clamp", "clamp_max", "clamp_min",
    "concat", "concatenate", "cos", "cosh", "cross", "cumprod", "cumsum", "div", "dot", "eq",
    "erf", "erfinv", "exp", "expm1", "floor", "floor_divide", "fmod", "frac", "ge",
    "gt", "hstack", "hypot", "index_select", "le", "lerp", "log", "log10", "log1p", "log2",
    "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor", "logsumexp", "lt",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "mul", "mv", "nan_to_num", "ne",
    "neg", "outer", "pow", "prod", "reciprocal", "remainder", "round", "rsqrt", "sign", "sin",
    "sinh", "sort", "sqrt", "square", "stack", "std", "sub", "sum", "take_along_dim", "tan",
    "topk", "tril", "triu", "trunc", "var", "vstack", "where",
)
# creation functions: without ``dtype=`` they make ``out``'s dtype, as PyTorch's do
CREATION = ("arange", "eye", "full", "linspace", "logspace", "ones", "rand", "randint", "randn",
            "randperm", "zeros")


def _check_grad(name, result, out):
    if not is_grad_enabled():
        return
    if any(r._requires_grad for r in result) or any(o._requires_grad for o in out):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")


def _write(result: Tensor, out: Tensor) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"out must be a Tensor, not {type(out).__name__}")
    if not _dtype.can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"result type {_dtype.scalar_name(result.dtype)} can't be cast to "
                           f"the desired output type {_dtype.scalar_name(out.dtype)}")
    if out.shape != result.shape:
        if out.numel() != 0:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out.shape)}, which does not match the required output shape "
                f"{list(result.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=4)
        out._array = np.empty(result.shape, dtype=out.dtype.np)
    return out._inplace_from(result, track=False)


def with_out(fn, creation=False):
    """``fn`` with an ``out=`` keyword (a tensor, or a tuple for tuple-valued functions);
    ``creation``: ``out``'s dtype is the default for ``dtype=``."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if creation and kwargs.get("dtype") is None and isinstance(out, Tensor):
            kwargs["dtype"] = out.dtype
        result = fn(*args, **kwargs)
        if isinstance(result, Tensor):
            _check_grad(name, (result,), (out,) if isinstance(out, Tensor) else ())
            return _write(result, out)
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): out must be a tuple of {len(result)} tensors")
        _check_grad(name, result, out)
        written = tuple(_write(r, o) for r, o in zip(result, out))
        return type(result)(*written) if hasattr(result, "_fields") else written
    wrapper._takes_out = True
    return wrapper


def install(namespace: dict) -> None:
    """Replace each of ``NAMES`` in ``namespace`` (nanotorch's) by its ``out=`` wrapper."""
    for name in NAMES + CREATION:
        fn = namespace.get(name)
        if fn is None:
            raise RuntimeError(f"out=: nanotorch.{name} does not exist")
        if not getattr(fn, "_takes_out", False):
            namespace[name] = with_out(fn, creation=name in CREATION)
