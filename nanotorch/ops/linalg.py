"""Matrix products (all through BLAS via np.matmul)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op
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
