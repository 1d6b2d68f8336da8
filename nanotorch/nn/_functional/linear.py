"""``F.linear``: one op computing ``x @ w.T + b`` through BLAS, any leading batch dims."""
from __future__ import annotations

import numpy as np

from ...autograd.function import Op
from ...autograd.grad_mode import is_grad_enabled
from ...kernels import gemm
from ...tensor import Tensor


def _rows(shape):
    """Rows of the 2-D view of a ``(*, features)`` array (``-1`` fails with 0 features)."""
    return int(np.prod(shape[:-1], dtype=np.int64))


class _Linear(Op, backward_name="AddmmBackward0"):
    """2-D input with bias. Subclasses only change the grad_fn name (PyTorch's names
    depend on the input rank and on the bias)."""

    def forward(self, x, w, b):
        n_in = w.shape[1]
        x2 = x.reshape(_rows(x.shape), n_in)
        out = np.empty((x2.shape[0], w.shape[0]), dtype=w.dtype)
        gemm.matmul(x2, w.T, out=out)
        if b is not None:
            out += b
        self.save_inputs(0, 1)
        return out.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        n_out, n_in = w.shape
        gx = gw = gb = None
        if is_grad_enabled():  # create_graph: differentiable formulas
            g2 = g.reshape(_rows(g.shape), n_out)
            if need_x:
                gx = g.matmul(w)
            if need_w:
                gw = g2.t().matmul(x.reshape(_rows(x.shape), n_in))
            if need_b:
                gb = g2.sum(0)
            return gx, gw, gb
        g2 = g._array.reshape(_rows(g.shape), n_out)
        if need_x:
            gx = Tensor._wrap(gemm.matmul(g2, w._array).reshape(x.shape))
        if need_w:
            gw = Tensor._wrap(gemm.matmul(g2.T, x._array.reshape(_rows(x.shape), n_in)))
        if need_b:
            gb = Tensor._wrap(g2.sum(0))
        return gx, gw, gb


class _Mm(_Linear, backward_name="MmBackward0"):
    pass


class _LinearND(_Linear, backward_name="ViewBackward0"):
    pass


class _LinearNDNoBias(_Linear, backward_name="UnsafeViewBackward0"):
    pass


class _Linear1DNoBias(_Linear, backward_name="SqueezeBackward4"):
    pass


def _dtype_name(d):
    return {"float32": "float", "float64": "double", "float16": "c10::Half"}.get(d.name, d.name)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` for input ``(*, in_features)`` and weight
    ``(out_features, in_features)``."""
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
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
        if not isinstance(bias, Tensor):
            raise TypeError(f"linear(): argument 'bias' must be Tensor, not "
                            f"{type(bias).__name__}")
        if bias.dtype is not weight.dtype:
            raise RuntimeError(f"expected bias and weight to have the same dtype, but got: "
                               f"{_dtype_name(bias.dtype)} != {_dtype_name(weight.dtype)}")
        if bias.ndim > 1 or bias.numel() not in (1, n_out):
            raise RuntimeError(f"linear(): bias of shape {list(bias.shape)} does not match "
                               f"out_features={n_out}")
    if bias is not None:
        op = _Linear if input.ndim == 2 else _LinearND
    else:
        op = _Mm if input.ndim == 2 else (_Linear1DNoBias if input.ndim == 1
                                          else _LinearNDNoBias)
    return op.apply(input, weight, bias)
