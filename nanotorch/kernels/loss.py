"""Fused loss kernels: cross-entropy (class-index or probability targets, class
weights, ignore_index, label smoothing), NLL and BCE-with-logits.

Cross-entropy sees logits as (N, C, L) (L = product of the extra dims) and
handles each of the N*L positions in one pass over its C logits: max, sum of
exp, loss. With L == 1 a position is a contiguous row; with class-index
targets and L > 1, blocks of positions run along the contiguous L axis (class
probability targets then use strided lines). Forward saves only the
per-position logsumexp (float64); backward recomputes softmax from it, so no
softmax tensor is kept between the two.
"""
import math

import numpy as np
from numba import njit, prange

from ._checks import check_float
from ._math import FASTMATH as _FM
from ._math import cast_like, line_max, vexp, vlog1p_unit, vsigmoid
from ._threads import CHUNK, block_count, block_of
from ._threads import launch as _launch

_REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------ cross-entropy

@njit(error_model="numpy", fastmath=_FM)
def _ce_index_line(x, w, tk, ignore, eps, wsum):
    """(logsumexp, loss, target weight) of one class line x."""
    m = line_max(x)
    s = 0.0
    sm = 0.0   # sum_k w[k] * (m - x[k]): the smoothing term without log(s)
    if eps > 0.0:
        for k in range(x.size):
            d = x[k] - m
            s += vexp(d)
            sm -= w[k] * d
    else:
        for k in range(x.size):
            s += vexp(x[k] - m)
    ls = math.log(s)
    if tk == ignore:
        return m + ls, 0.0, 0.0
    v = (1.0 - eps) * w[tk] * (ls - (x[tk] - m))
    if eps > 0.0:
        v += eps / x.size * (wsum * ls + sm)
    return m + ls, v, w[tk]


@njit(error_model="numpy", fastmath=_FM, inline="always")
def _softmax_at(x, k, hi, lo):
    """exp(x[k] - lse) in x's type, lse = hi + lo split so float32 stays exact."""
    return vexp((x[k] - hi) - lo)


@njit(error_model="numpy", fastmath=_FM)
def _ce_index_line_bwd(x, out, w, tk, ignore, eps, wsum, g, lse):
    if tk == ignore:
        for k in range(x.size):
            out[k] = 0.0
        return
    hi = cast_like(lse, x[0])
    lo = cast_like(lse - hi, x[0])
    a = g * (1.0 - eps) * w[tk]   # weight of the one-hot term
    if eps > 0.0:
        b = g * eps / x.size      # weight of the uniform term
        ab = a + b * wsum
        for k in range(x.size):
            out[k] = ab * _softmax_at(x, k, hi, lo) - b * w[k]
    else:
        at = cast_like(a, x[0])
        for k in range(x.size):
            out[k] = at * _softmax_at(x, k, hi, lo)
    out[tk] -= a


@njit(error_model="numpy", fastmath=_FM)
def _ce_index_block(x, i, l0, l1, t, w, ignore, eps, wsum, lse, loss, wt):
    """_ce_index_line for positions l0..l1 of batch row i of (N, C, L) logits,
    every inner loop running along the contiguous L axis (t, lse, loss, wt
    are flat over positions i*L + l). Rows are taken as slices: a plain
    0-based loop over a contiguous slice is what LLVM vectorises."""
    c, ln = x.shape[1], x.shape[2]
    nb = l1 - l0
    base = i * ln + l0
    tq = t[base:base + nb]
    m = x[i, 0, l0:l1].copy()
    for k in range(1, c):
        row = x[i, k, l0:l1]
        for q in range(nb):
            m[q] = max(row[q], m[q])
    s = np.zeros(nb)
    sm = np.zeros(nb)
    for k in range(c):
        row = x[i, k, l0:l1]
        wk = w[k]
        for q in range(nb):
            d = row[q] - m[q]
            s[q] += vexp(d)
            sm[q] -= wk * d
    lse_q = lse[base:base + nb]
    loss_q = loss[base:base + nb]
    wt_q = wt[base:base + nb]
    for q in range(nb):
        ls = math.log(s[q])
        lse_q[q] = m[q] + ls
        tk = tq[q]
        if tk == ignore:
            loss_q[q] = 0.0
            wt_q[q] = 0.0
        else:
            v = (1.0 - eps) * w[tk] * (ls - (x[i, tk, l0 + q] - m[q]))
            if eps > 0.0:
                v += eps / c * (wsum * ls + sm[q])
            loss_q[q] = v
            wt_q[q] = w[tk]


@njit(error_model="numpy", fastmath=_FM)
def _ce_index_block_bwd(x, out, i, l0, l1, t, w, ignore, eps, wsum, g, lse):
    c, ln = x.shape[1], x.shape[2]
    nb = l1 - l0
    base = i * ln + l0
    tq = t[base:base + nb]
    lse_q = lse[base:base + nb]
    a = np.zeros(nb)    # weight of the one-hot term, 0 where ignored
    b = np.zeros(nb)    # weight of the uniform term
    for q in range(nb):
        tk = tq[q]
        if tk != ignore:
            a[q] = g[base + q] * (1.0 - eps) * w[tk]
            b[q] = g[base + q] * eps / c
    ab = a + b * wsum
    for k in range(c):
        row = x[i, k, l0:l1]
        orow = out[i, k, l0:l1]
        wk = w[k]
        for q in range(nb):
            orow[q] = ab[q] * vexp(row[q] - lse_q[q]) - b[q] * wk
    for q in range(nb):
        tk = tq[q]
        if tk != ignore:
            out[i, tk, l0 + q] -= a[q]


@njit(error_model="numpy", fastmath=_FM)
def _ce_prob_line(x, p, w, eps):
    """(logsumexp, loss) of one class line x with target probabilities p."""
    m = line_max(x)
    c = x.size
    s = 0.0
    qa = 0.0   # sum_k q[k], q = w * smoothed p
    qb = 0.0   # sum_k q[k] * (m - x[k])
    for k in range(c):
        d = x[k] - m
        s += vexp(d)
        q = w[k] * ((1.0 - eps) * p[k] + eps / c)
        qa += q
        qb -= q * d
    ls = math.log(s)
    return m + ls, qa * ls + qb


@njit(error_model="numpy", fastmath=_FM)
def _ce_prob_line_bwd(x, p, out, w, eps, g, lse):
    c = x.size
    qa = 0.0
    for k in range(c):
        qa += w[k] * ((1.0 - eps) * p[k] + eps / c)
    hi = cast_like(lse, x[0])
    lo = cast_like(lse - hi, x[0])
    for k in range(c):
        q = w[k] * ((1.0 - eps) * p[k] + eps / c)
        out[k] = g * (qa * _softmax_at(x, k, hi, lo) - q)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ce_index_fwd_rows(x, t, w, ignore, eps, lse, loss, wt):
    """Per-row logsumexp, loss and target weight of (N, C) logits, class-index
    targets."""
    wsum = w.sum()
    for i in prange(x.shape[0]):
        r = _ce_index_line(x[i], w, t[i], ignore, eps, wsum)
        lse[i] = r[0]
        loss[i] = r[1]
        wt[i] = r[2]


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ce_index_fwd_blocks(x, t, w, ignore, eps, lse, loss, wt):
    """The same per position of (N, C, L) logits, L > 1."""
    n, _, ln = x.shape
    wsum = w.sum()
    nb = block_count(ln)
    for item in prange(n * nb):
        i, l0, l1 = block_of(item, nb, ln)
        _ce_index_block(x, i, l0, l1, t, w, ignore, eps, wsum, lse, loss, wt)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ce_index_bwd_rows(x, t, w, ignore, eps, lse, gpos, out):
    wsum = w.sum()
    for i in prange(x.shape[0]):
        _ce_index_line_bwd(x[i], out[i], w, t[i], ignore, eps, wsum, gpos[i], lse[i])


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ce_index_bwd_blocks(x, t, w, ignore, eps, lse, gpos, out):
    n, _, ln = x.shape
    wsum = w.sum()
    nb = block_count(ln)
    for item in prange(n * nb):
        i, l0, l1 = block_of(item, nb, ln)
        _ce_index_block_bwd(x, out, i, l0, l1, t, w, ignore, eps, wsum, gpos, lse)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ce_prob_fwd(x, p, w, eps, lse, loss):
    """Per-position logsumexp and loss, class-probability targets."""
    n, c, ln = x.shape
    if ln == 1:
        x2 = x.reshape(n, c)
        p2 = p.reshape(n, c)
        for i in prange(n):
            r = _ce_prob_line(x2[i], p2[i], w, eps)
            lse[i] = r[0]
            loss[i] = r[1]
    else:
        for pos in prange(n * ln):
            i = pos // ln
            l = pos - i * ln
            r = _ce_prob_line(x[i, :, l], p[i, :, l], w, eps)
            lse[pos] = r[0]
            loss[pos] = r[1]


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _ce_prob_bwd(x, p, w, eps, lse, gpos, out):
    n, c, ln = x.shape
    if ln == 1:
        x2 = x.reshape(n, c)
        p2 = p.reshape(n, c)
        o2 = out.reshape(n, c)
        for i in prange(n):
            _ce_prob_line_bwd(x2[i], p2[i], o2[i], w, eps, gpos[i], lse[i])
    else:
        for pos in prange(n * ln):
            i = pos // ln
            l = pos - i * ln
            _ce_prob_line_bwd(x[i, :, l], p[i, :, l], out[i, :, l], w, eps, gpos[pos],
                              lse[pos])



def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_view(logits, name="logits"):
    """logits (N, C, *) or (C,) -> contiguous (N, C, L), batch shape of targets."""
    check_float(logits, name)
    if logits.ndim == 0:
        raise ValueError(f"{name} must have a class axis, got a 0-d array")
    c = logits.shape[0] if logits.ndim == 1 else logits.shape[1]
    if c == 0:
        raise ValueError(f"{name} need at least one class, got shape {logits.shape}")
    if logits.ndim == 1:
        return np.ascontiguousarray(logits).reshape(1, c, 1), ()
    n = logits.shape[0]
    ln = int(np.prod(logits.shape[2:]))
    return np.ascontiguousarray(logits).reshape(n, c, ln), (n,) + logits.shape[2:]


def _index_target(target, batch, c, ignore_index, logits_shape):
    """Validated flat int64 class indices."""
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise ValueError(f"class-index target must be an integer array, got {t.dtype}")
    if t.shape != batch:
        raise ValueError(f"target shape {t.shape} does not match logits shape "
                         f"{logits_shape} (expected {batch})")
    t = np.ascontiguousarray(t, dtype=np.int64).reshape(-1)
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise ValueError(f"target index {int(t[bad][0])} is out of range for {c} classes "
                         f"(valid: 0..{c - 1}, or ignore_index={ignore_index})")
    return t


def _class_weight(weight, c, dtype):
    if weight is None:
        return np.ones(c)
    weight = np.asarray(weight)
    if weight.shape != (c,):
        raise ValueError(f"weight must have shape ({c},) for {c} classes, got {weight.shape}")
    if weight.dtype != dtype:
        raise ValueError(f"weight dtype {weight.dtype} != logits dtype {dtype}")
    return weight.astype(np.float64)


def _is_prob_target(logits, target):
    t = np.asarray(target)
    if t.dtype.kind == "f":
        if t.shape != logits.shape:
            raise ValueError(f"probability target shape {t.shape} must equal logits shape "
                             f"{logits.shape}")
        if t.dtype != logits.dtype:
            raise ValueError(f"probability target dtype {t.dtype} != logits dtype {logits.dtype}")
        return True
    return False


def _check_smoothing(label_smoothing):
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")


def _reduce(per_pos, denom, reduction, batch, dtype):
    if reduction == "none":
        return per_pos.astype(dtype).reshape(batch)
    total = per_pos.sum()
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / denom
    return np.asarray(total, dtype=dtype)


def _grad_per_position(grad_loss, reduction, denom, npos, batch):
    g = np.asarray(grad_loss, dtype=np.float64)
    if reduction == "none":
        if g.shape != batch:
            raise ValueError(f"grad_loss shape {g.shape} must be {batch} for reduction='none'")
        return np.ascontiguousarray(g).reshape(-1)
    if g.size != 1:
        raise ValueError(f"grad_loss must be a scalar for reduction={reduction!r}, "
                         f"got shape {g.shape}")
    scale = float(g.reshape(()))
    if reduction == "mean":
        # denom 0 (every target ignored): the loss is nan, the gradient 0
        scale = scale / denom if denom else np.inf
    return np.full(npos, scale)


def cross_entropy_forward(logits, target, weight=None, ignore_index=-100,
                          reduction="mean", label_smoothing=0.0):
    """Cross-entropy from logits (N, C, *) or (C,).

    ``target`` holds class indices (integer, shape (N, *)) or class
    probabilities (float, the logits' shape). Returns (loss, saved), saved
    being what cross_entropy_backward needs.
    """
    x3, batch = _class_view(logits)
    n, c, ln = x3.shape
    _check_reduction(reduction)
    _check_smoothing(label_smoothing)
    w = _class_weight(weight, c, logits.dtype)
    npos = n * ln
    lse = np.empty(npos)
    loss = np.empty(npos)
    eps = float(label_smoothing)
    if _is_prob_target(logits, target):
        if npos:
            p3 = np.ascontiguousarray(target).reshape(x3.shape)
            _launch(_ce_prob_fwd, x3.size, x3, p3, w, eps, lse, loss)
        denom = float(npos)
    else:
        t = _index_target(target, batch, c, ignore_index, logits.shape)
        wt = np.zeros(npos)
        if npos:
            if ln == 1:   # rows and blocks are separate kernels: each compiles only if used
                _launch(_ce_index_fwd_rows, x3.size, x3.reshape(n, c), t, w, int(ignore_index),
                        eps, lse, loss, wt)
            else:
                _launch(_ce_index_fwd_blocks, x3.size, x3, t, w, int(ignore_index), eps, lse,
                        loss, wt)
        denom = wt.sum()
    return _reduce(loss, denom, reduction, batch, logits.dtype), (lse, denom)


def cross_entropy_backward(grad_loss, logits, target, saved, weight=None, ignore_index=-100,
                           reduction="mean", label_smoothing=0.0):
    """Gradient of cross_entropy_forward w.r.t. the logits."""
    x3, batch = _class_view(logits)
    n, c, ln = x3.shape
    _check_reduction(reduction)
    _check_smoothing(label_smoothing)
    w = _class_weight(weight, c, logits.dtype)
    lse, denom = saved
    npos = n * ln
    if np.shape(lse) != (npos,):
        raise ValueError(f"saved logsumexp has shape {np.shape(lse)}, expected ({npos},)")
    gpos = _grad_per_position(grad_loss, reduction, denom, npos, batch)
    out = np.empty_like(x3)
    eps = float(label_smoothing)
    if _is_prob_target(logits, target):
        if out.size:
            p3 = np.ascontiguousarray(target).reshape(x3.shape)
            _launch(_ce_prob_bwd, x3.size, x3, p3, w, eps, lse, gpos, out)
    else:
        t = _index_target(target, batch, c, ignore_index, logits.shape)
        if out.size:
            if ln == 1:
                _launch(_ce_index_bwd_rows, x3.size, x3.reshape(n, c), t, w, int(ignore_index),
                        eps, lse, gpos, out.reshape(n, c))
            else:
                _launch(_ce_index_bwd_blocks, x3.size, x3, t, w, int(ignore_index), eps, lse,
                        gpos, out)
    return out.reshape(logits.shape)


# ---------------------------------------------------------------------- NLL

def _nll_gather_index(logp, target, ignore_index):
    x3, batch = _class_view(logp, "logp")
    c = x3.shape[1]
    t = _index_target(target, batch, c, ignore_index, logp.shape)
    keep = t != ignore_index
    safe = np.where(keep, t, 0).reshape(x3.shape[0], 1, x3.shape[2])
    return x3, batch, t, keep, safe


def nll_loss_forward(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities logp (N, C, *) or (C,).

    Returns (loss, total_weight); total_weight is the mean's denominator.
    """
    _check_reduction(reduction)
    x3, batch, t, keep, safe = _nll_gather_index(logp, target, ignore_index)
    w = _class_weight(weight, x3.shape[1], logp.dtype)
    picked = np.take_along_axis(x3, safe, axis=1).reshape(-1).astype(np.float64)
    wt = np.where(keep, w[safe.reshape(-1)], 0.0)
    per_pos = -wt * picked
    per_pos[~keep] = 0.0   # an ignored -inf log-prob must not give nan
    total_weight = wt.sum()
    return _reduce(per_pos, total_weight, reduction, batch, logp.dtype), total_weight


def nll_loss_backward(grad_loss, logp, target, weight=None, ignore_index=-100,
                      reduction="mean", total_weight=None):
    """Gradient of nll_loss_forward w.r.t. logp (nonzero only at the targets)."""
    _check_reduction(reduction)
    x3, batch, t, keep, safe = _nll_gather_index(logp, target, ignore_index)
    w = _class_weight(weight, x3.shape[1], logp.dtype)
    wt = np.where(keep, w[safe.reshape(-1)], 0.0)
    if total_weight is None:
        total_weight = wt.sum()
    gpos = _grad_per_position(grad_loss, reduction, total_weight, t.size, batch)
    out = np.zeros(x3.shape, logp.dtype)
    vals = np.where(keep, -wt * np.where(keep, gpos, 0.0), 0.0)
    vals = vals.astype(logp.dtype).reshape(x3.shape[0], 1, x3.shape[2])
    np.put_along_axis(out, safe, vals, axis=1)
    return out.reshape(logp.shape)


# ------------------------------------------------------------ BCE with logits

@njit(error_model="numpy", fastmath=_FM, inline="always")
def _bce_elem(xv, yv, wv, pv):
    """w * ((1 - y) x + (1 + (pw - 1) y) softplus(-x)), softplus written so
    that no exp overflows."""
    x = np.float64(xv)
    y = np.float64(yv)
    sp = vlog1p_unit(vexp(-abs(x))) + max(-x, 0.0)
    return wv * ((1.0 - y) * x + (1.0 + (pv - 1.0) * y) * sp)


@njit(error_model="numpy", fastmath=_FM, inline="always")
def _bce_elem_bwd(xv, yv, wv, pv, g):
    """g * w * ((1 + (pw - 1) y) sigmoid(x) - pw y)."""
    x = np.float64(xv)
    y = np.float64(yv)
    s = vsigmoid(x)
    return g * wv * ((1.0 + (pv - 1.0) * y) * s - pv * y)


@njit(error_model="numpy", fastmath=_FM)
def _bce_span(x, y, w, pw, out, write):
    """Loss over a span; w and pw have the span's length, or length 1."""
    acc = 0.0
    if w.size == 1:
        wv = w[0]
        pv = pw[0]
        for i in range(x.size):
            v = _bce_elem(x[i], y[i], wv, pv)
            if write:
                out[i] = v
            acc += v
    else:
        for i in range(x.size):
            v = _bce_elem(x[i], y[i], w[i], pw[i])
            if write:
                out[i] = v
            acc += v
    return acc


@njit(error_model="numpy", fastmath=_FM)
def _bce_span_bwd(x, y, w, pw, g, out):
    """Gradient over a span; w, pw and g have the span's length, or length 1."""
    if w.size == 1 and g.size == 1:
        for i in range(x.size):
            out[i] = _bce_elem_bwd(x[i], y[i], w[0], pw[0], g[0])
    elif w.size == 1:
        for i in range(x.size):
            out[i] = _bce_elem_bwd(x[i], y[i], w[0], pw[0], g[i])
    elif g.size == 1:
        for i in range(x.size):
            out[i] = _bce_elem_bwd(x[i], y[i], w[i], pw[i], g[0])
    else:
        for i in range(x.size):
            out[i] = _bce_elem_bwd(x[i], y[i], w[i], pw[i], g[i])


@njit(error_model="numpy")
def _bce_chunking(n, r):
    """Elements per parallel chunk (a multiple of the period r) and chunk count."""
    per = CHUNK if r == 1 else r * max(1, CHUNK // r)
    return per, (n + per - 1) // per


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _bce_fwd(x, y, w, pw, out, write):
    """BCE-with-logits on flat arrays; w and pw (equal sizes) repeat with
    period w.size. Writes ``out`` if ``write``; returns the sum."""
    n = x.size
    r = w.size
    per, nchunks = _bce_chunking(n, r)
    part = np.zeros(nchunks)
    for ch in prange(nchunks):
        lo = ch * per
        hi = min(n, lo + per)
        if r == 1:
            part[ch] = _bce_span(x[lo:hi], y[lo:hi], w, pw, out[lo:hi], write)
        else:
            acc = 0.0
            for s0 in range(lo, hi, r):
                acc += _bce_span(x[s0:s0 + r], y[s0:s0 + r], w, pw, out[s0:s0 + r], write)
            part[ch] = acc
    return part.sum()


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _bce_bwd(x, y, w, pw, g, out):
    """Gradient of _bce_fwd's loss; g is the upstream gradient, size 1 or n."""
    n = x.size
    r = w.size
    per, nchunks = _bce_chunking(n, r)
    for ch in prange(nchunks):
        lo = ch * per
        hi = min(n, lo + per)
        if r == 1:
            gs = g[lo:hi] if g.size > 1 else g
            _bce_span_bwd(x[lo:hi], y[lo:hi], w, pw, gs, out[lo:hi])
        else:
            for s0 in range(lo, hi, r):
                gs = g[s0:s0 + r] if g.size > 1 else g
                _bce_span_bwd(x[s0:s0 + r], y[s0:s0 + r], w, pw, gs, out[s0:s0 + r])


def _periodic(arr, name, shape, dtype):
    """Flat float64 array whose i-th element (mod its size) is arr broadcast to
    ``shape`` at flat index i. Avoids a full-size copy when arr only spans the
    trailing axes (the usual (C,) pos_weight)."""
    if arr is None:
        return np.ones(1)
    arr = np.asarray(arr)
    if arr.dtype != dtype:
        raise ValueError(f"{name} dtype {arr.dtype} != input dtype {dtype}")
    try:
        np.broadcast_shapes(arr.shape, shape)
        full = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {arr.shape} cannot be broadcast to the input "
                         f"shape {shape}") from None
    core = arr.shape
    while core and core[0] == 1:
        core = core[1:]
    k = len(core)
    if arr.size and (k == 0 or core == tuple(shape[len(shape) - k:])):
        return arr.astype(np.float64).reshape(-1)
    if not full.size:
        return np.ones(1)
    return np.ascontiguousarray(full, dtype=np.float64).reshape(-1)


def _bce_inputs(x, y, weight, pos_weight):
    check_float(x, "input")
    y = np.asarray(y)
    if y.shape != x.shape:
        raise ValueError(f"target shape {y.shape} must equal input shape {x.shape}")
    if y.dtype != x.dtype:
        raise ValueError(f"target dtype {y.dtype} != input dtype {x.dtype}")
    w = _periodic(weight, "weight", x.shape, x.dtype)
    pw = _periodic(pos_weight, "pos_weight", x.shape, x.dtype)
    # both periods are products of trailing dims (or 1), so the larger is a
    # multiple of the smaller: repeat both to it
    r = max(w.size, pw.size)
    w, pw = np.tile(w, r // w.size), np.tile(pw, r // pw.size)
    return (np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(y).reshape(-1), w, pw)


def bce_with_logits_forward(x, y, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy on logits x with targets y (same shape), stable for
    large |x|. weight and pos_weight broadcast against x."""
    _check_reduction(reduction)
    xf, yf, w, pw = _bce_inputs(x, y, weight, pos_weight)
    write = reduction == "none"
    out = np.empty(xf.size if write else 0, x.dtype)
    total = _launch(_bce_fwd, xf.size, xf, yf, w, pw, out, write) if xf.size else 0.0
    if write:
        return out.reshape(x.shape)
    if reduction == "mean":
        total = total / xf.size if xf.size else np.nan
    return np.asarray(total, dtype=x.dtype)


def bce_with_logits_backward(grad_loss, x, y, weight=None, pos_weight=None, reduction="mean"):
    """Gradient of bce_with_logits_forward w.r.t. the logits x."""
    _check_reduction(reduction)
    xf, yf, w, pw = _bce_inputs(x, y, weight, pos_weight)
    g = np.asarray(grad_loss, dtype=np.float64)
    if reduction == "none":
        if g.shape != x.shape:
            raise ValueError(f"grad_loss shape {g.shape} must equal input shape {x.shape}")
        g = np.ascontiguousarray(g).reshape(-1)
    else:
        if g.size != 1:
            raise ValueError(f"grad_loss must be a scalar for reduction={reduction!r}, "
                             f"got shape {g.shape}")
        g = g.reshape(1) / (xf.size if reduction == "mean" and xf.size else 1)
    out = np.empty(xf.size, x.dtype)
    if xf.size:
        _launch(_bce_bwd, xf.size, xf, yf, w, pw, g, out)
    return out.reshape(x.shape)
