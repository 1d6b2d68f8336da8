"""Matrix products and ``F.linear`` (all through BLAS)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import gemm


def matmul_shape_error(a_shape, b_shape):
    return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                        f"({'x'.join(map(str, a_shape))} and {'x'.join(map(str, b_shape))})")


class MatMul(Op, backward_name="UnsafeViewBackward0"):
    """``np.matmul`` semantics: 1-D operands, 2-D, batched with broadcast batch dims.
    The subclasses only carry PyTorch's node name for each case."""

    def forward(self, a, b):
        self.save_inputs(0, 1)
        return gemm.matmul(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if need_a else None), (g * a if need_b else None)
        # Give 1-D operands (and the output) their unit dims back; broadcast batch dims
        # of the results are summed away by the engine.
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        if b.ndim == 1:
            g = g.unsqueeze(-1)
        if a.ndim == 1:
            g = g.unsqueeze(-2)
        ga = gb = None
        if need_a:
            ga = g.matmul(b2.mT)
            if a.ndim == 1:
                ga = ga.squeeze(-2)
        if need_b:
            gb = a2.mT.matmul(g)
            if b.ndim == 1:
                gb = gb.squeeze(-1)
        return ga, gb


class Dot(MatMul, backward_name="DotBackward0"):
    pass


class Mv(MatMul, backward_name="MvBackward0"):
    pass


class Mm(MatMul, backward_name="MmBackward0"):
    pass


class Bmm(MatMul, backward_name="BmmBackward0"):
    pass


class VecMat(MatMul, backward_name="SqueezeBackward4"):
    """1-D @ 2-D."""


def matmul_op(a_ndim: int, b_ndim: int):
    """The op class whose name PyTorch gives ``a @ b`` for these operand ranks."""
    if a_ndim == 1:
        return Dot if b_ndim == 1 else (VecMat if b_ndim == 2 else MatMul)
    if a_ndim == 2 and b_ndim <= 2:
        return Mv if b_ndim == 1 else Mm
    return MatMul


def _rows(shape):
    """Rows of the 2-D view of a ``(*, features)`` array (``-1`` fails with 0 features)."""
    return int(np.prod(shape[:-1], dtype=np.int64))


class Linear(Op, backward_name="AddmmBackward0"):
    """``x @ w.T + b`` for ``x`` of shape ``(*, in)``; ``b`` may be None. The subclasses
    only change the grad_fn name (PyTorch's depends on the input rank and on the bias)."""

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
            gx = _wrap(gemm.matmul(g2, w._array).reshape(x.shape))
        if need_w:
            gw = _wrap(gemm.matmul(g2.T, x._array.reshape(_rows(x.shape), n_in)))
        if need_b:
            gb = _wrap(g2.sum(0))
        return gx, gw, gb


class LinearMm(Linear, backward_name="MmBackward0"):
    pass


class LinearND(Linear, backward_name="ViewBackward0"):
    pass


class LinearNDNoBias(Linear, backward_name="UnsafeViewBackward0"):
    pass


class Linear1DNoBias(Linear, backward_name="SqueezeBackward4"):
    pass

