"""Softmax, log-softmax and logsumexp along any axis, with their backwards.

The input is viewed as (pre, n, post) with the reduced axis in the middle.
For the last axis (post == 1) each contiguous row is one loop iteration;
otherwise blocks of up to 256 neighbouring lines are handled side by side, so
the inner loops still run along contiguous memory and vectorise. Sums are
accumulated in float64; the max is subtracted first, so +-1e4 logits are safe.
"""
import math

import numpy as np
from numba import njit, prange

from ._checks import check_float
from ._math import FASTMATH as _FM
from ._math import cast_like, line_max, vexp
from ._threads import block_count, block_of
from ._threads import launch as _launch


@njit(error_model="numpy", fastmath=_FM)
def _line_softmax(x, out, log):
    """(log-)softmax of the 1-D line x into out."""
    # The apply loops run in x's type (float32 vectors are twice as wide);
    # (x - m) - log(s) keeps log-softmax exact to rounding for big logits.
    m = line_max(x)
    s = 0.0
    if log:
        for j in range(x.size):
            s += vexp(x[j] - m)
        logs = cast_like(math.log(s), m)
        for j in range(x.size):
            out[j] = (x[j] - m) - logs
    else:
        for j in range(x.size):
            e = vexp(x[j] - m)
            out[j] = e
            s += e
        inv = cast_like(1.0 / s, m)
        for j in range(x.size):
            out[j] = out[j] * inv


@njit(error_model="numpy", fastmath=_FM)
def _line_softmax_bwd(g, y, out, log):
    s = 0.0
    if log:
        for j in range(y.size):
            s += g[j]
        st = cast_like(s, y[0])
        for j in range(y.size):
            out[j] = g[j] - vexp(y[j]) * st
    else:
        for j in range(y.size):
            s += g[j] * y[j]
        st = cast_like(s, y[0])
        for j in range(y.size):
            out[j] = y[j] * (g[j] - st)


@njit(error_model="numpy", fastmath=_FM)
def _line_logsumexp(x):
    m = line_max(x)
    if math.isinf(m):   # all -inf, or a +inf present: shift by 0 instead
        m = cast_like(0.0, m)
    s = 0.0
    for j in range(x.size):
        s += vexp(x[j] - m)
    return m + math.log(s)


@njit(error_model="numpy", fastmath=_FM)
def _block_max(x, p, k0, k1):
    """Max over axis 1 of x[p, :, k0:k1] (x is (pre, n, post), n >= 1)."""
    m = x[p, 0, k0:k1].copy()
    for j in range(1, x.shape[1]):
        row = x[p, j, k0:k1]
        for q in range(m.size):
            m[q] = max(row[q], m[q])
    return m


@njit(error_model="numpy", fastmath=_FM)
def _block_softmax(x, out, p, k0, k1, log):
    """(log-)softmax over axis 1 for the lines k0..k1 of x[p]: the inner loops
    run along the contiguous last axis (the lines side by side)."""
    n = x.shape[1]
    m = _block_max(x, p, k0, k1)
    s = np.zeros(m.size)
    if log:
        for j in range(n):
            row = x[p, j, k0:k1]
            for q in range(m.size):
                s[q] += vexp(row[q] - m[q])
        logs = np.empty(m.size, x.dtype)
        for q in range(m.size):
            logs[q] = math.log(s[q])
        for j in range(n):
            row = x[p, j, k0:k1]
            orow = out[p, j, k0:k1]
            for q in range(m.size):
                orow[q] = (row[q] - m[q]) - logs[q]
    else:
        for j in range(n):
            row = x[p, j, k0:k1]
            orow = out[p, j, k0:k1]
            for q in range(m.size):
                e = vexp(row[q] - m[q])
                orow[q] = e
                s[q] += e
        inv = np.empty(m.size, x.dtype)
        for q in range(m.size):
            inv[q] = 1.0 / s[q]
        for j in range(n):
            orow = out[p, j, k0:k1]
            for q in range(m.size):
                orow[q] = orow[q] * inv[q]


@njit(error_model="numpy", fastmath=_FM)
def _block_softmax_bwd(g, y, out, p, k0, k1, log):
    n = y.shape[1]
    nb = k1 - k0
    s = np.zeros(nb)
    for j in range(n):
        grow = g[p, j, k0:k1]
        yrow = y[p, j, k0:k1]
        for q in range(nb):
            s[q] += grow[q] if log else grow[q] * yrow[q]
    st = s.astype(y.dtype)
    for j in range(n):
        grow = g[p, j, k0:k1]
        yrow = y[p, j, k0:k1]
        orow = out[p, j, k0:k1]
        if log:
            for q in range(nb):
                orow[q] = grow[q] - vexp(yrow[q]) * st[q]
        else:
            for q in range(nb):
                orow[q] = yrow[q] * (grow[q] - st[q])


@njit(error_model="numpy", fastmath=_FM)
def _block_logsumexp(x, out, p, k0, k1):
    m = _block_max(x, p, k0, k1)
    for q in range(m.size):
        if math.isinf(m[q]):   # see _line_logsumexp
            m[q] = 0.0
    s = np.zeros(m.size)
    for j in range(x.shape[1]):
        row = x[p, j, k0:k1]
        for q in range(m.size):
            s[q] += vexp(row[q] - m[q])
    for q in range(m.size):
        out[p, k0 + q] = m[q] + math.log(s[q])


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _softmax_fwd(x, out, log):
    pre, n, post = x.shape
    if post == 1:
        x2 = x.reshape(pre, n)
        o2 = out.reshape(pre, n)
        for p in prange(pre):
            _line_softmax(x2[p], o2[p], log)
    else:
        nb = block_count(post)
        for item in prange(pre * nb):
            p, k0, k1 = block_of(item, nb, post)
            _block_softmax(x, out, p, k0, k1, log)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _softmax_bwd(g, y, out, log):
    pre, n, post = y.shape
    if post == 1:
        g2 = g.reshape(pre, n)
        y2 = y.reshape(pre, n)
        o2 = out.reshape(pre, n)
        for p in prange(pre):
            _line_softmax_bwd(g2[p], y2[p], o2[p], log)
    else:
        nb = block_count(post)
        for item in prange(pre * nb):
            p, k0, k1 = block_of(item, nb, post)
            _block_softmax_bwd(g, y, out, p, k0, k1, log)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _logsumexp(x, out):
    """out[p, k] = logsumexp of x[p, :, k]; x is (pre, n, post) with n >= 1."""
    pre, n, post = x.shape
    if post == 1:
        x2 = x.reshape(pre, n)
        for p in prange(pre):
            out[p, 0] = _line_logsumexp(x2[p])
    else:
        nb = block_count(post)
        for item in prange(pre * nb):
            p, k0, k1 = block_of(item, nb, post)
            _block_logsumexp(x, out, p, k0, k1)



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
    check_float(x, "x")
    ax = _norm_axis(axis, x.ndim, x.shape)
    x3 = _as3d(x, ax)
    out = np.empty_like(x3)
    if x3.size:
        _launch(_softmax_fwd, x3.size, x3, out, log)
    return out.reshape(x.shape)


def _backward(grad_y, y, axis, log):
    check_float(grad_y, "grad_y")
    check_float(y, "y")
    if grad_y.shape != y.shape or grad_y.dtype != y.dtype:
        raise ValueError(f"grad_y {grad_y.shape} {grad_y.dtype} does not match "
                         f"y {y.shape} {y.dtype}")
    ax = _norm_axis(axis, y.ndim, y.shape)
    y3 = _as3d(y, ax)
    out = np.empty_like(y3)
    if y3.size:
        _launch(_softmax_bwd, y3.size, _as3d(grad_y, ax), y3, out, log)
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
    check_float(x, "x")
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(sorted(_norm_axis(a, x.ndim, x.shape) for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {axis} repeats an axis")
    if x.ndim == 0:
        x3 = x.reshape(1, 1, 1)
    elif len(axes) == 1:
        x3 = _as3d(x, axes[0])
    else:   # move the reduced axes to the back, as one
        keep = [a for a in range(x.ndim) if a not in axes]
        moved = np.ascontiguousarray(np.transpose(x, keep + list(axes)))
        x3 = moved.reshape(int(np.prod([x.shape[a] for a in keep])),
                           int(np.prod([x.shape[a] for a in axes])), 1)
    out = np.full((x3.shape[0], x3.shape[2]), -np.inf)
    if x3.size:
        _launch(_logsumexp, x3.size, x3, out)
    out = out.astype(x.dtype)
    if x.ndim == 0:
        return out.reshape(())
    if keepdims:
        return out.reshape(tuple(1 if a in axes else s for a, s in enumerate(x.shape)))
    return out.reshape(tuple(s for a, s in enumerate(x.shape) if a not in axes))
