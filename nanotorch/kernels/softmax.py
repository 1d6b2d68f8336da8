"""Softmax, log-softmax and logsumexp along any axis, with their backwards.

The input is viewed as (pre, n, post) with the reduced axis in the middle; each
of the pre*post lines is handled by one loop iteration (stride ``post``), so
the same kernel serves the last axis (post == 1) and inner axes. Sums are
accumulated in float64; the max is subtracted first, so +-1e4 logits are safe.
"""
import math

import numpy as np
from numba import njit, prange

_FM = {"reassoc", "contract", "arcp"}


@njit(cache=True, parallel=True, fastmath=_FM)
def _softmax_fwd(x, out, log):
    pre, n, post = x.shape
    for line in prange(pre * post):
        p = line // post
        k = line - p * post
        m = x[p, 0, k]
        for j in range(1, n):
            v = x[p, j, k]
            if v > m:
                m = v
        s = 0.0
        for j in range(n):
            e = math.exp(x[p, j, k] - m)
            if not log:
                out[p, j, k] = e
            s += e
        if log:
            shift = m + math.log(s)
            for j in range(n):
                out[p, j, k] = x[p, j, k] - shift
        else:
            inv = 1.0 / s
            for j in range(n):
                out[p, j, k] = out[p, j, k] * inv


@njit(cache=True, parallel=True, fastmath=_FM)
def _softmax_bwd(g, y, out, log):
    pre, n, post = y.shape
    for line in prange(pre * post):
        p = line // post
        k = line - p * post
        s = 0.0
        if log:
            for j in range(n):
                s += g[p, j, k]
            for j in range(n):
                out[p, j, k] = g[p, j, k] - math.exp(y[p, j, k]) * s
        else:
            for j in range(n):
                s += g[p, j, k] * y[p, j, k]
            for j in range(n):
                out[p, j, k] = y[p, j, k] * (g[p, j, k] - s)


@njit(cache=True, parallel=True, fastmath=_FM)
def _logsumexp(x, out):
    pre, n, post = x.shape
    for line in prange(pre * post):
        p = line // post
        k = line - p * post
        m = -np.inf
        for j in range(n):
            v = x[p, j, k]
            if v > m:
                m = v
        if math.isinf(m):   # all -inf, or a +inf present: shift by 0 instead
            m = 0.0
        s = 0.0
        for j in range(n):
            s += math.exp(x[p, j, k] - m)
        out[p, k] = m + math.log(s)


def _check(x, name):
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {x.dtype}")


def _norm_axis(axis, ndim, shape):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ValueError(f"axis must be an int, got {axis!r}")
    nd = max(ndim, 1)
    if not -nd <= axis < nd:
        raise ValueError(f"axis {axis} is out of range for an array of shape {shape}")
    return int(axis) % nd


def _as3d(x, axis):
    """View x as (pre, n, post) around ``axis`` (a 0-d array counts as (1,1,1))."""
    if x.ndim == 0:
        return np.ascontiguousarray(x).reshape(1, 1, 1)
    pre = int(np.prod(x.shape[:axis]))
    post = int(np.prod(x.shape[axis + 1:]))
    return np.ascontiguousarray(x).reshape(pre, x.shape[axis], post)


def _forward(x, axis, log):
    _check(x, "x")
    ax = _norm_axis(axis, x.ndim, x.shape)
    x3 = _as3d(x, ax)
    out = np.empty_like(x3)
    if x3.size:
        _softmax_fwd(x3, out, log)
    return out.reshape(x.shape)


def _backward(grad_y, y, axis, log):
    _check(grad_y, "grad_y")
    _check(y, "y")
    if grad_y.shape != y.shape or grad_y.dtype != y.dtype:
        raise ValueError(f"grad_y {grad_y.shape} {grad_y.dtype} does not match "
                         f"y {y.shape} {y.dtype}")
    ax = _norm_axis(axis, y.ndim, y.shape)
    y3 = _as3d(y, ax)
    out = np.empty_like(y3)
    if y3.size:
        _softmax_bwd(_as3d(grad_y, ax), y3, out, log)
    return out.reshape(y.shape)


def softmax_forward(x, axis):
    """exp(x) / sum(exp(x)) along ``axis``."""
    return _forward(x, axis, False)


def log_softmax_forward(x, axis):
    """x - logsumexp(x) along ``axis``."""
    return _forward(x, axis, True)


def softmax_backward(grad_y, y, axis):
    """Input gradient from the softmax output y: y * (g - sum(g * y))."""
    return _backward(grad_y, y, axis, False)


def log_softmax_backward(grad_y, y, axis):
    """Input gradient from the log-softmax output y: g - exp(y) * sum(g)."""
    return _backward(grad_y, y, axis, True)


def logsumexp(x, axis, keepdims=False):
    """log(sum(exp(x))) along ``axis`` (an int or a tuple of ints).

    An empty reduction gives -inf; a +inf entry gives +inf.
    """
    _check(x, "x")
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(sorted(_norm_axis(a, x.ndim, x.shape) for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {axis} repeats an axis")
    if x.ndim == 0:
        moved = x.reshape(1, 1, 1)
    else:
        keep = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, keep + list(axes))
        n = int(np.prod([x.shape[a] for a in axes]))
        moved = np.ascontiguousarray(moved).reshape(-1, n, 1) if n else \
            np.empty((int(np.prod([x.shape[a] for a in keep])), 0, 1), x.dtype)
    out = np.empty((moved.shape[0], 1), np.float64)
    if out.size:
        _logsumexp(moved, out)
    out = out.astype(x.dtype)
    if x.ndim == 0:
        return out.reshape(())
    if keepdims:
        return out.reshape(tuple(1 if a in axes else s for a, s in enumerate(x.shape)))
    return out.reshape(tuple(s for a, s in enumerate(x.shape) if a not in axes))
