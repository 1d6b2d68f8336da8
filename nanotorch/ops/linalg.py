"""Matrix products (all through BLAS via np.matmul)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


def matmul_shape_error(a_shape, b_shape):
    return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                        f"({'x'.join(map(str, a_shape))} and {'x'.join(map(str, b_shape))})")


class MatMul(Op, backward_name="MmBackward0"):
    """Batched, broadcasting matmul of operands with ndim >= 2 (the caller adds and removes
    the unit dims of 1-D operands)."""

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise matmul_shape_error(a.shape, b.shape)
        self.save_inputs(0, 1)
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = g.matmul(b.mT) if need_a else None
        gb = a.mT.matmul(g) if need_b else None
        return ga, gb


class Bmm(MatMul):
    pass


class BroadcastMatMul(MatMul, backward_name="UnsafeViewBackward0"):
    pass
