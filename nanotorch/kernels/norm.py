"""Batch-norm and layer-norm kernels (forward and backward).

Statistics are accumulated in float64 with two passes (mean, then the sum of
squared deviations), so float32 inputs with a large mean keep their variance.
Batch norm sees its input as (N, C, L): per-channel loops when L > 1, and for
(N, C) input (L == 1) column sums that run along the contiguous C axis.
Layer norm sees (M, D) rows.
"""
import numpy as np
from numba import get_num_threads, njit, prange

from ._checks import check_float
from ._math import FASTMATH as _FM
from ._threads import PARALLEL_MIN
from ._threads import launch as _launch


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _bn_stats(x):
    """Per-channel mean and biased variance of x (N, C, L), float64."""
    n, c, ln = x.shape
    count = n * ln
    mean = np.zeros(c)
    var = np.zeros(c)
    xf = x.reshape(-1)
    for k in prange(c):
        s = 0.0
        for i in range(n):
            base = np.uint64((i * c + k) * ln)
            for j in range(ln):
                s += xf[base + np.uint64(j)]
        mu = s / count
        q = 0.0
        for i in range(n):
            base = np.uint64((i * c + k) * ln)
            for j in range(ln):
                d = xf[base + np.uint64(j)] - mu
                q += d * d
        mean[k] = mu
        var[k] = q / count
    return mean, var


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _bn_grad_sums(g, x, mu):
    """Per-channel sum(g) and sum(g * (x - mu)) of (N, C, L) arrays, float64."""
    n, c, ln = x.shape
    sg = np.zeros(c)
    sgx = np.zeros(c)
    gf = g.reshape(-1)
    xf = x.reshape(-1)
    for k in prange(c):
        a = 0.0
        b = 0.0
        m = mu[k]
        for i in range(n):
            base = np.uint64((i * c + k) * ln)
            for j in range(ln):
                q = base + np.uint64(j)
                gv = gf[q]
                a += gv
                b += gv * (xf[q] - m)
        sg[k] = a
        sgx[k] = b
    return sg, sgx


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _col_sums(g, x, mu, mode, nblocks):
    """Column sums over the rows of (N, C) arrays, in float64: mode 0 gives
    (sum(x), -), mode 1 (sum((x-mu)^2), -), mode 2 (sum(g), sum(g * (x-mu))).
    Row blocks run in parallel, each into its own partial row, so the inner
    loop runs along contiguous C."""
    n, c = x.shape
    per = (n + nblocks - 1) // nblocks
    p1 = np.zeros((nblocks, c))
    p2 = np.zeros((nblocks, c))
    for blk in prange(nblocks):
        a1 = p1[blk]
        a2 = p2[blk]
        for i in range(blk * per, min(n, (blk + 1) * per)):
            xr = x[i]
            if mode == 0:
                for k in range(c):
                    a1[k] += xr[k]
            elif mode == 1:
                for k in range(c):
                    d = xr[k] - mu[k]
                    a1[k] += d * d
            else:
                gr = g[i]
                for k in range(c):
                    a1[k] += gr[k]
                    a2[k] += gr[k] * (xr[k] - mu[k])
    return p1.sum(axis=0), p2.sum(axis=0)


# The per-channel loops below run over flat arrays with unsigned offsets and take
# their parameters in x's dtype: 3-D signed indexing and float64 parameters kept
# LLVM from vectorising them (measured 3-8x slower on float32).
@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _bn_apply(x, mu, a, c, out):
    """out = a[k] * (x - mu[k]) + c[k] per channel k of (N, C, L) arrays."""
    n, ch, ln = x.shape
    if ln == 1:
        x2 = x.reshape(n, ch)
        o2 = out.reshape(n, ch)
        for i in prange(n):
            for k in range(ch):
                o2[i, k] = a[k] * (x2[i, k] - mu[k]) + c[k]
        return
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for r in prange(n * ch):
        k = r % ch
        m = mu[k]
        ak = a[k]
        ck = c[k]
        base = np.uint64(r * ln)
        for j in range(ln):
            q = base + np.uint64(j)
            of[q] = ak * (xf[q] - m) + ck


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _bn_apply2(g, x, mu, a, b, c, out):
    """out = a[k] * g + b[k] * (x - mu[k]) + c[k] per channel k."""
    n, ch, ln = x.shape
    if ln == 1:
        g2 = g.reshape(n, ch)
        x2 = x.reshape(n, ch)
        o2 = out.reshape(n, ch)
        for i in prange(n):
            for k in range(ch):
                o2[i, k] = a[k] * g2[i, k] + b[k] * (x2[i, k] - mu[k]) + c[k]
        return
    gf = g.reshape(-1)
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for r in prange(n * ch):
        k = r % ch
        m = mu[k]
        ak = a[k]
        bk = b[k]
        ck = c[k]
        base = np.uint64(r * ln)
        for j in range(ln):
            q = base + np.uint64(j)
            of[q] = ak * gf[q] + bk * (xf[q] - m) + ck


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ln_forward(x, w, b, eps, y, mean, invstd):
    """Row-wise layer norm of x (M, D); writes y, mean (M,), invstd (M,)."""
    m, d = x.shape
    for r in prange(m):
        s = 0.0
        for j in range(d):
            s += x[r, j]
        mu = s / d
        q = 0.0
        for j in range(d):
            t = x[r, j] - mu
            q += t * t
        rs = 1.0 / np.sqrt(q / d + eps)
        for j in range(d):
            y[r, j] = (x[r, j] - mu) * rs * w[j] + b[j]
        mean[r] = mu
        invstd[r] = rs


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ln_backward(g, x, mean, invstd, w, gx, need_x, need_wb, nchunks):
    """Layer-norm backward over rows of (M, D); returns float64 (gw, gb).

    Rows are split in ``nchunks`` blocks, each summing its own gw/gb partials.
    """
    m, d = x.shape
    gwp = np.zeros((nchunks, d))
    gbp = np.zeros((nchunks, d))
    per = (m + nchunks - 1) // nchunks
    for ch in prange(nchunks):
        for r in range(ch * per, min(m, (ch + 1) * per)):
            mu = np.float64(mean[r])
            rs = np.float64(invstd[r])
            if need_wb:
                for j in range(d):
                    gv = g[r, j]
                    gwp[ch, j] += gv * ((x[r, j] - mu) * rs)
                    gbp[ch, j] += gv
            if need_x:
                sa = 0.0
                sb = 0.0
                for j in range(d):
                    gh = g[r, j] * w[j]
                    sa += gh
                    sb += gh * ((x[r, j] - mu) * rs)
                sa /= d
                sb /= d
                for j in range(d):
                    xh = (x[r, j] - mu) * rs
                    gx[r, j] = rs * (g[r, j] * w[j] - sa - xh * sb)
    return gwp.sum(axis=0), gbp.sum(axis=0)


# ----------------------------------------------------------------- checks


def _row_blocks(x):
    """How many row blocks to give threads in _col_sums / _ln_backward."""
    work_threads = get_num_threads() if x.size >= PARALLEL_MIN else 1
    return max(1, min(x.shape[0], work_threads))


def _channel_stats(x3):
    """Per-channel (mean, biased var) of (N, C, L), float64."""
    n, c, ln = x3.shape
    if ln > 1:
        return _launch(_bn_stats, x3.size, x3)
    x2 = x3.reshape(n, c)
    nb = _row_blocks(x2)
    mean = _launch(_col_sums, x2.size, x2, x2, np.zeros(c), 0, nb)[0] / n
    return mean, _launch(_col_sums, x2.size, x2, x2, mean, 1, nb)[0] / n


def _channel_grad_sums(g3, x3, mu):
    """Per-channel (sum(g), sum(g * (x - mu))) of (N, C, L), float64."""
    n, c, ln = x3.shape
    if ln > 1:
        return _launch(_bn_grad_sums, x3.size, g3, x3, mu)
    return _launch(_col_sums, x3.size, g3.reshape(n, c), x3.reshape(n, c), mu, 2,
                   _row_blocks(x3))


def _param(p, name, shape, dtype):
    """Contiguous float64 copy of a per-channel/per-feature parameter, or None."""
    if p is None:
        return None
    p = np.asarray(p)
    if p.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {p.shape}")
    if p.dtype != dtype:
        raise ValueError(f"{name} dtype {p.dtype} != input dtype {dtype}")
    return p.astype(np.float64).reshape(-1)


def _bn_view(x, name="x"):
    check_float(x, name)
    if x.ndim < 2:
        raise ValueError(f"batch norm expects {name} of shape (N, C, *), got {x.shape}")
    n, c = x.shape[0], x.shape[1]
    return np.ascontiguousarray(x).reshape(n, c, int(np.prod(x.shape[2:])))


def _per_channel(kernel, *arrays):
    """Run a _bn_apply* kernel with its (C,) parameters cast to the data's dtype."""
    dt = arrays[0].dtype
    _launch(kernel, arrays[0].size,
            *[a.astype(dt, copy=False) if a.ndim == 1 else a for a in arrays])


def _check_eps(eps):
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps}")


# ---------------------------------------------------------------- batch norm

def batch_norm_train_forward(x, weight, bias, eps):
    """Batch norm with batch statistics over every axis but 1 of x (N, C, *).

    Returns (y, mean, invstd, var): var is the biased batch variance, all
    per-channel arrays of shape (C,) in x's dtype.
    """
    x3 = _bn_view(x)
    n, c, ln = x3.shape
    _check_eps(eps)
    if n * ln <= 1:
        raise ValueError(f"batch norm in training needs more than 1 value per channel, "
                         f"got input shape {x.shape}")
    w = _param(weight, "weight", (c,), x.dtype)
    b = _param(bias, "bias", (c,), x.dtype)
    mean, var = _channel_stats(x3)
    invstd = 1.0 / np.sqrt(var + eps)
    scale = invstd if w is None else invstd * w
    shift = np.zeros(c) if b is None else b
    y = np.empty(x3.shape, x.dtype)
    _per_channel(_bn_apply, x3, mean, scale, shift, y)
    dt = x.dtype
    return y.reshape(x.shape), mean.astype(dt), invstd.astype(dt), var.astype(dt)


def batch_norm_eval_forward(x, running_mean, running_var, weight, bias, eps):
    """Batch norm with the running statistics (inference)."""
    x3 = _bn_view(x)
    c = x3.shape[1]
    _check_eps(eps)
    rm = _param(running_mean, "running_mean", (c,), x.dtype)
    rv = _param(running_var, "running_var", (c,), x.dtype)
    if rm is None or rv is None:
        raise ValueError("batch_norm_eval_forward needs running_mean and running_var")
    w = _param(weight, "weight", (c,), x.dtype)
    b = _param(bias, "bias", (c,), x.dtype)
    scale = 1.0 / np.sqrt(rv + eps)
    if w is not None:
        scale = scale * w
    shift = np.zeros(c) if b is None else b
    y = np.empty(x3.shape, x.dtype)
    _per_channel(_bn_apply, x3, rm, scale, shift, y)
    return y.reshape(x.shape)


def _bn_grad_view(grad_y, x):
    x3 = _bn_view(x)
    check_float(grad_y, "grad_y")
    if grad_y.shape != x.shape or grad_y.dtype != x.dtype:
        raise ValueError(f"grad_y {grad_y.shape} {grad_y.dtype} does not match "
                         f"x {x.shape} {x.dtype}")
    return np.ascontiguousarray(grad_y).reshape(x3.shape), x3


def batch_norm_backward(grad_y, x, mean, invstd, weight, need_input, need_weight, need_bias):
    """Training-mode batch-norm gradients, through the batch statistics.

    ``mean``/``invstd`` are those returned by batch_norm_train_forward.
    Returns (gx, gw, gb); entries not asked for are None.
    """
    g3, x3 = _bn_grad_view(grad_y, x)
    n, c, ln = x3.shape
    mu = _param(mean, "mean", (c,), x.dtype)
    rs = _param(invstd, "invstd", (c,), x.dtype)
    w = _param(weight, "weight", (c,), x.dtype)
    gx = gw = gb = None
    if not (need_input or need_weight or need_bias):
        return gx, gw, gb
    sg, sgx = _channel_grad_sums(g3, x3, mu)
    if need_input:
        count = n * ln
        k = rs if w is None else rs * w
        # gx = k * (g - sg/count - xhat * sum(g*xhat)/count), xhat = (x-mu)*rs
        gx = np.empty(x3.shape, x.dtype)
        _per_channel(_bn_apply2, g3, x3, mu, k, -k * rs * rs * sgx / count,
                -k * sg / count, gx)
        gx = gx.reshape(x.shape)
    if need_weight:
        gw = (sgx * rs).astype(x.dtype)
    if need_bias:
        gb = sg.astype(x.dtype)
    return gx, gw, gb


def batch_norm_eval_backward(grad_y, x, running_mean, running_var, weight, eps,
                             need_input, need_weight, need_bias):
    """Eval-mode batch-norm gradients (statistics are constants).

    Returns (gx, gw, gb); entries not asked for are None.
    """
    g3, x3 = _bn_grad_view(grad_y, x)
    c = x3.shape[1]
    _check_eps(eps)
    rm = _param(running_mean, "running_mean", (c,), x.dtype)
    rv = _param(running_var, "running_var", (c,), x.dtype)
    w = _param(weight, "weight", (c,), x.dtype)
    rs = 1.0 / np.sqrt(rv + eps)
    gx = gw = gb = None
    zeros = np.zeros(c)
    if need_input:
        gx = np.empty(x3.shape, x.dtype)
        _per_channel(_bn_apply, g3, zeros, rs if w is None else rs * w, zeros, gx)
        gx = gx.reshape(x.shape)
    if need_weight or need_bias:
        sg, sgx = _channel_grad_sums(g3, x3, rm)
        if need_weight:
            gw = (sgx * rs).astype(x.dtype)
        if need_bias:
            gb = sg.astype(x.dtype)
    return gx, gw, gb


# ---------------------------------------------------------------- layer norm

def _ln_view(x, normalized_ndim, name="x"):
    check_float(x, name)
    if not isinstance(normalized_ndim, (int, np.integer)) or not 1 <= normalized_ndim <= x.ndim:
        raise ValueError(f"normalized_ndim must be in [1, {x.ndim}] for {name} of shape "
                         f"{x.shape}, got {normalized_ndim}")
    norm_shape = x.shape[x.ndim - normalized_ndim:]
    d = int(np.prod(norm_shape))
    m = int(np.prod(x.shape[:x.ndim - normalized_ndim]))
    return np.ascontiguousarray(x).reshape(m, d), norm_shape


def layer_norm_forward(x, normalized_ndim, weight, bias, eps):
    """Layer norm over the last ``normalized_ndim`` axes of x.

    Returns (y, mean, invstd); mean/invstd have shape x.shape[:-normalized_ndim].
    """
    x2, norm_shape = _ln_view(x, normalized_ndim)
    m, d = x2.shape
    _check_eps(eps)
    w = _param(weight, "weight", norm_shape, x.dtype)
    b = _param(bias, "bias", norm_shape, x.dtype)
    y = np.empty_like(x2)
    mean = np.empty(m, x.dtype)
    invstd = np.empty(m, x.dtype)
    if d == 0:
        mean[:] = np.nan
        invstd[:] = np.nan
    else:
        _launch(_ln_forward, x2.size, x2, np.ones(d) if w is None else w,
                np.zeros(d) if b is None else b, float(eps), y, mean, invstd)
    batch = x.shape[:x.ndim - normalized_ndim]
    return y.reshape(x.shape), mean.reshape(batch), invstd.reshape(batch)


def layer_norm_backward(grad_y, x, mean, invstd, weight, normalized_ndim,
                        need_input, need_weight, need_bias):
    """Layer-norm gradients; returns (gx, gw, gb), None where not asked for."""
    x2, norm_shape = _ln_view(x, normalized_ndim)
    m, d = x2.shape
    check_float(grad_y, "grad_y")
    if grad_y.shape != x.shape or grad_y.dtype != x.dtype:
        raise ValueError(f"grad_y {grad_y.shape} {grad_y.dtype} does not match "
                         f"x {x.shape} {x.dtype}")
    batch = x.shape[:x.ndim - normalized_ndim]
    for arr, name in ((mean, "mean"), (invstd, "invstd")):
        if np.shape(arr) not in (batch, (m,)):
            raise ValueError(f"{name} must have shape {batch}, got {np.shape(arr)}")
    w = _param(weight, "weight", norm_shape, x.dtype)
    need_wb = bool(need_weight or need_bias)
    gx = np.empty_like(x2) if need_input else np.empty((0, d), x.dtype)
    if need_input or need_wb:
        nchunks = _row_blocks(x2)
        gw, gb = _launch(_ln_backward, x2.size, np.ascontiguousarray(grad_y).reshape(m, d),
                         x2, np.ascontiguousarray(mean).reshape(m),
                         np.ascontiguousarray(invstd).reshape(m),
                         np.ones(d) if w is None else w, gx, bool(need_input), need_wb, nchunks)
    gx = gx.reshape(x.shape) if need_input else None
    gw = gw.astype(x.dtype).reshape(norm_shape) if need_weight else None
    gb = gb.astype(x.dtype).reshape(norm_shape) if need_bias else None
    return gx, gw, gb


# ---------------------------------------------------------------- group norm
# Layer norm over each group of C/groups channels (and every position), then batch norm's
# per-channel apply kernel for the affine.

def _group_view(x, groups):
    check_float(x, "x")
    if x.ndim < 2 or groups < 1 or x.shape[1] % groups:
        raise ValueError(f"group norm expects x of shape (N, C, *) with C divisible by groups, "
                         f"got {x.shape} and groups={groups}")
    return np.ascontiguousarray(x).reshape(x.shape[0], groups, -1)


def group_norm_forward(x, groups, weight, bias, eps):
    """Group norm of x (N, C, *); returns (y, mean, invstd), the statistics (N, groups)."""
    xg = _group_view(x, groups)
    n, c = x.shape[:2]
    y, mean, invstd = layer_norm_forward(xg, 1, None, None, eps)
    if weight is not None or bias is not None:
        w = _param(weight, "weight", (c,), x.dtype)
        b = _param(bias, "bias", (c,), x.dtype)
        y3 = y.reshape(n, c, -1)
        _per_channel(_bn_apply, y3, np.zeros(c), np.ones(c) if w is None else w,
                     np.zeros(c) if b is None else b, y3)
    return y.reshape(x.shape), mean, invstd


def group_norm_backward(grad_y, x, mean, invstd, weight, groups, need_input, need_weight,
                        need_bias):
    """Group-norm gradients (gx, gw, gb) from group_norm_forward's statistics; None where
    not asked for."""
    xg = _group_view(x, groups)
    n, c = x.shape[:2]
    if grad_y.shape != x.shape:
        raise ValueError(f"grad_y {grad_y.shape} does not match x {x.shape}")
    g3 = np.ascontiguousarray(grad_y, dtype=x.dtype).reshape(n, c, -1)
    w = _param(weight, "weight", (c,), x.dtype)
    gx = gw = gb = None
    if need_weight or need_bias:
        xhat = ((xg - mean[:, :, None]) * invstd[:, :, None]).reshape(n, c, -1)
        sg, sgx = _channel_grad_sums(g3, xhat, np.zeros(c))
        gw = sgx.astype(x.dtype) if need_weight else None
        gb = sg.astype(x.dtype) if need_bias else None
    if need_input:
        if w is not None:  # gradient of the normalised values
            scaled = np.empty_like(g3)
            _per_channel(_bn_apply, g3, np.zeros(c), w, np.zeros(c), scaled)
            g3 = scaled
        gx = layer_norm_backward(g3.reshape(xg.shape), xg, mean, invstd, None, 1, True, False,
                                 False)[0].reshape(x.shape)
    return gx, gw, gb
