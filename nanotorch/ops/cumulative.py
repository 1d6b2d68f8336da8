"""Cumulative ops along one dim: ``cumsum`` and ``cumprod`` (``cummax`` / ``cummin`` are
gathers, see ``_functions/cumulative.py``)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..autograd.grad_mode import is_grad_enabled


def reverse_cumsum(g, dim):
    """``sum_{k >= i} g_k`` along ``dim`` (the adjoint of cumsum), differentiable."""
    return g.flip([dim]).cumsum(dim).flip([dim])


class Cumsum(Op):
    def forward(self, a, dim, dtype=None):
        self.dim = dim
        return np.cumsum(a, axis=dim, dtype=dtype)

    def backward(self, g):
        return reverse_cumsum(g, self.dim)


class Cumprod(Op):
    def forward(self, a, dim, dtype=None):
        self.dim = dim
        self.save_inputs(0)
        self.save_output()
        return np.cumprod(a, axis=dim, dtype=dtype)

    def backward(self, g):
        x, out = self.saved_tensors
        if not (x._array == 0).any():
            # d out_k / d x_i = out_k / x_i for k >= i
            return reverse_cumsum(g * out, self.dim) / x
        if is_grad_enabled():
            raise RuntimeError("cumprod: double backward through an input containing zeros is "
                               "not supported")
        return _wrap(_cumprod_grad_with_zeros(g._array, x._array, out._array, self.dim))


def _cumprod_grad_with_zeros(g, x, out, dim):
    """Exact gradient of cumprod when ``x`` has zeros:
    grad_i = prod_{j<i} x_j * r_i with r_i = g_i + x_{i+1} * r_{i+1} (a backward scan)."""
    g, x, out = (np.moveaxis(a, dim, 0) for a in (g, x, out))
    n = x.shape[0]
    before = np.ones_like(out)          # prod_{j<i} x_j
    before[1:] = out[:-1]
    r = np.empty_like(g)
    r[n - 1] = g[n - 1]
    for i in range(n - 2, -1, -1):
        r[i] = g[i] + x[i + 1] * r[i + 1]
    return np.moveaxis(before * r, 0, dim)
