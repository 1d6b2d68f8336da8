"""Separable resampling (``interpolate``'s nearest, linear and cubic modes) on NumPy arrays.

Each output position along an axis is a weighted sum of K input positions (K = 1 nearest,
2 linear, 4 cubic) given as ``idx`` / ``wts`` tables (n_out, K). A 2-D resize applies the
last axis first, then the middle one (PyTorch's order of the sums); the backward pass is
the adjoint, a scatter-add with the same tables.
"""
import numpy as np
from numba import njit, prange

__all__ = ["resample_forward", "resample_backward"]


@njit(parallel=True, cache=True)
def _last_axis(x, idx, wts, y):
    """y[b, o] = sum_k wts[o, k] * x[b, idx[o, k]]; x (B, I), y (B, O)."""
    B, O = y.shape
    K = idx.shape[1]
    for b in prange(B):
        for o in range(O):
            s = wts[o, 0] * x[b, idx[o, 0]]
            for k in range(1, K):
                s += wts[o, k] * x[b, idx[o, k]]
            y[b, o] = s


@njit(parallel=True, cache=True)
def _last_axis_adjoint(g, idx, wts, gx):
    """gx[b, idx[o, k]] += wts[o, k] * g[b, o]; gx (B, I) overwritten."""
    B, O = g.shape
    K = idx.shape[1]
    for b in prange(B):
        gx[b, :] = 0
        for o in range(O):
            for k in range(K):
                gx[b, idx[o, k]] += wts[o, k] * g[b, o]


@njit(parallel=True, cache=True)
def _middle_axis(x, idx, wts, y):
    """y[b, o, :] = sum_k wts[o, k] * x[b, idx[o, k], :]; x (B, I, R), y (B, O, R)."""
    B, O, R = y.shape
    K = idx.shape[1]
    for t in prange(B * O):
        b = t // O
        o = t - b * O
        yr = y[b, o]
        xr = x[b, idx[o, 0]]
        w = wts[o, 0]
        for r in range(R):
            yr[r] = w * xr[r]
        for k in range(1, K):
            xr = x[b, idx[o, k]]
            w = wts[o, k]
            for r in range(R):
                yr[r] += w * xr[r]


@njit(parallel=True, cache=True)
def _middle_axis_adjoint(g, idx, wts, gx):
    """gx[b, idx[o, k], :] += wts[o, k] * g[b, o, :]; gx (B, I, R) overwritten."""
    B, O, R = g.shape
    K = idx.shape[1]
    for b in prange(B):
        gx[b] = 0
        for o in range(O):
            gr = g[b, o]
            for k in range(K):
                xr = gx[b, idx[o, k]]
                w = wts[o, k]
                for r in range(R):
                    xr[r] += w * gr[r]


def resample_forward(x, tables):
    """Resize the trailing len(tables) (1 or 2) axes of x; ``tables`` are (idx, wts) per
    axis, outermost first."""
    x = np.ascontiguousarray(x)
    lead = x.shape[:x.ndim - len(tables)]
    B = int(np.prod(lead))
    idx_w, wts_w = tables[-1]
    t = np.empty(x.shape[:-1] + (len(idx_w),), dtype=x.dtype)
    _last_axis(x.reshape(-1, x.shape[-1]), idx_w, wts_w.astype(x.dtype),
               t.reshape(-1, len(idx_w)))
    if len(tables) == 1:
        return t
    idx_h, wts_h = tables[0]
    y = np.empty(lead + (len(idx_h), t.shape[-1]), dtype=x.dtype)
    _middle_axis(t.reshape(B, x.shape[-2], -1), idx_h, wts_h.astype(x.dtype),
                 y.reshape(B, len(idx_h), -1))
    return y


def resample_backward(g, tables, input_shape):
    """Adjoint of resample_forward: the gradient with respect to an input of
    ``input_shape``."""
    g = np.ascontiguousarray(g)
    lead = tuple(input_shape[:len(input_shape) - len(tables)])
    B = int(np.prod(lead))
    if len(tables) == 2:
        idx_h, wts_h = tables[0]
        t = np.empty(lead + (input_shape[-2], g.shape[-1]), dtype=g.dtype)
        _middle_axis_adjoint(g.reshape(B, g.shape[-2], -1), idx_h, wts_h.astype(g.dtype),
                             t.reshape(B, input_shape[-2], -1))
        g = t
    idx_w, wts_w = tables[-1]
    gx = np.empty(tuple(input_shape), dtype=g.dtype)
    _last_axis_adjoint(g.reshape(-1, g.shape[-1]), idx_w, wts_w.astype(g.dtype),
                       gx.reshape(-1, input_shape[-1]))
    return gx
