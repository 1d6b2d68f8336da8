"""``F.linear``: argument checks and PyTorch's messages in front of the op in
``ops/linalg.py`` (``x @ w.T + b`` through BLAS, any leading batch dims)."""
from __future__ import annotations

from ...ops.linalg import Linear, Linear1DNoBias, LinearMm, LinearND, LinearNDNoBias
from ._checks import check_tensor


def _dtype_name(d):
    return {"float32": "float", "float64": "double", "float16": "c10::Half"}.get(d.name, d.name)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` for input ``(*, in_features)`` and weight
    ``(out_features, in_features)``."""
    check_tensor(input, "input", "linear")
    check_tensor(weight, "weight", "linear")
    if weight.ndim != 2:
        raise RuntimeError(f"linear(): weight must be 2-D (out_features, in_features), got "
                           f"shape {list(weight.shape)}")
    if input.ndim == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D "
                           "and 2D")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_dtype_name(input.dtype)} != {_dtype_name(weight.dtype)}")
    n_out, n_in = weight.shape
    if input.shape[-1] != n_in:
        rows = input.numel() // input.shape[-1] if input.shape[-1] else 0
        rows = 1 if input.ndim == 1 else rows
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{input.shape[-1]} and {n_in}x{n_out})")
    if bias is not None:
        check_tensor(bias, "bias", "linear")
        if bias.dtype is not weight.dtype:
            raise RuntimeError(f"expected bias and weight to have the same dtype, but got: "
                               f"{_dtype_name(bias.dtype)} != {_dtype_name(weight.dtype)}")
        if bias.ndim > 1 or bias.numel() not in (1, n_out):
            raise RuntimeError(f"linear(): bias of shape {list(bias.shape)} does not match "
                               f"out_features={n_out}")
    if bias is not None:
        op = Linear if input.ndim == 2 else LinearND
    else:
        op = LinearMm if input.ndim == 2 else (Linear1DNoBias if input.ndim == 1
                                               else LinearNDNoBias)
    return op.apply(input, weight, bias)
