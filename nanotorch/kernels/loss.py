"""Fused loss kernels: cross-entropy (class-index or probability targets, class
weights, ignore_index, label smoothing), NLL and BCE-with-logits.

Cross-entropy sees logits as (N, C, L) (L = product of the extra dims) and
handles each of the N*L positions in one pass: max, sum of exp, loss. Forward
saves only the per-position logsumexp (float64); backward recomputes softmax
from it, so no softmax tensor is kept between the two.
"""
import math

import numpy as np
from numba import njit, prange

_FM = {"reassoc", "contract", "arcp"}
_REDUCTIONS = ("mean", "sum", "none")
_BCE_CHUNK = 1 << 14


# ------------------------------------------------------------ cross-entropy

@njit(cache=True, parallel=True, fastmath=_FM)
def _ce_index_fwd(x, t, w, ignore, eps, lse, loss, wt):
    """Per-position loss and target weight for class-index targets."""
    n, c, ln = x.shape
    wsum = w.sum()
    for pos in prange(n * ln):
        i = pos // ln
        l = pos - i * ln
        m = x[i, 0, l]
        for k in range(1, c):
            if x[i, k, l] > m:
                m = x[i, k, l]
        s = 0.0
        sm = 0.0   # sum_k w[k] * (m - x[k]), the smoothing term without log(s)
        for k in range(c):
            d = x[i, k, l] - m
            s += math.exp(d)
            if eps > 0.0:
                sm -= w[k] * d
        ls = math.log(s)
        lse[pos] = m + ls
        tk = t[pos]
        if tk == ignore:
            loss[pos] = 0.0
            wt[pos] = 0.0
        else:
            v = (1.0 - eps) * w[tk] * (ls - (x[i, tk, l] - m))
            if eps > 0.0:
                v += eps / c * (wsum * ls + sm)
            loss[pos] = v
            wt[pos] = w[tk]


@njit(cache=True, parallel=True, fastmath=_FM)
def _ce_index_bwd(x, t, w, ignore, eps, lse, gpos, out):
    n, c, ln = x.shape
    wsum = w.sum()
    for pos in prange(n * ln):
        i = pos // ln
        l = pos - i * ln
        tk = t[pos]
        if tk == ignore:
            for k in range(c):
                out[i, k, l] = 0.0
            continue
        a = gpos[pos] * (1.0 - eps) * w[tk]   # weight of the one-hot term
        b = gpos[pos] * eps / c               # weight of the uniform term
        ab = a + b * wsum
        lv = lse[pos]
        for k in range(c):
            out[i, k, l] = ab * math.exp(x[i, k, l] - lv) - b * w[k]
        out[i, tk, l] -= a


@njit(cache=True, parallel=True, fastmath=_FM)
def _ce_prob_fwd(x, p, w, eps, lse, loss):
    """Per-position loss for class-probability targets."""
    n, c, ln = x.shape
    for pos in prange(n * ln):
        i = pos // ln
        l = pos - i * ln
        m = x[i, 0, l]
        for k in range(1, c):
            if x[i, k, l] > m:
                m = x[i, k, l]
        s = 0.0
        qa = 0.0   # sum_k q[k]
        qb = 0.0   # sum_k q[k] * (m - x[k])
        for k in range(c):
            d = x[i, k, l] - m
            s += math.exp(d)
            q = w[k] * ((1.0 - eps) * p[i, k, l] + eps / c)
            qa += q
            qb -= q * d
        ls = math.log(s)
        lse[pos] = m + ls
        loss[pos] = qa * ls + qb


@njit(cache=True, parallel=True, fastmath=_FM)
def _ce_prob_bwd(x, p, w, eps, lse, gpos, out):
    n, c, ln = x.shape
    for pos in prange(n * ln):
        i = pos // ln
        l = pos - i * ln
        qa = 0.0
        for k in range(c):
            qa += w[k] * ((1.0 - eps) * p[i, k, l] + eps / c)
        g = gpos[pos]
        lv = lse[pos]
        for k in range(c):
            q = w[k] * ((1.0 - eps) * p[i, k, l] + eps / c)
            out[i, k, l] = g * (qa * math.exp(x[i, k, l] - lv) - q)


def _check_float(arr, name):
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {arr.dtype}")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_view(logits, name="logits"):
    """logits (N, C, *) or (C,) -> contiguous (N, C, L), batch shape of targets."""
    _check_float(logits, name)
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
            _ce_prob_fwd(x3, p3, w, eps, lse, loss)
        denom = float(npos)
    else:
        t = _index_target(target, batch, c, ignore_index, logits.shape)
        wt = np.zeros(npos)
        if npos:
            _ce_index_fwd(x3, t, w, int(ignore_index), eps, lse, loss, wt)
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
            _ce_prob_bwd(x3, p3, w, eps, lse, gpos, out)
    else:
        t = _index_target(target, batch, c, ignore_index, logits.shape)
        if out.size:
            _ce_index_bwd(x3, t, w, int(ignore_index), eps, lse, gpos, out)
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

@njit(cache=True, parallel=True, fastmath=_FM)
def _bce_fwd(x, y, w, pw, out, write):
    """Elementwise BCE-with-logits on flat arrays; w and pw repeat with their
    own period (their size). Writes ``out`` if ``write``; returns the sum."""
    n = x.size
    kw = w.size
    kp = pw.size
    nchunks = (n + _BCE_CHUNK - 1) // _BCE_CHUNK
    part = np.zeros(nchunks)
    for ch in prange(nchunks):
        lo = ch * _BCE_CHUNK
        iw = lo % kw
        ip = lo % kp
        acc = 0.0
        for i in range(lo, min(n, lo + _BCE_CHUNK)):
            xv = np.float64(x[i])
            yv = np.float64(y[i])
            lw = 1.0 + (pw[ip] - 1.0) * yv
            # softplus(-x) = -log(sigmoid(x)), written to avoid overflow
            sp = math.log1p(math.exp(-abs(xv))) + max(-xv, 0.0)
            v = w[iw] * ((1.0 - yv) * xv + lw * sp)
            if write:
                out[i] = v
            acc += v
            iw += 1
            if iw == kw:
                iw = 0
            ip += 1
            if ip == kp:
                ip = 0
        part[ch] = acc
    return part.sum()


@njit(cache=True, parallel=True, fastmath=_FM)
def _bce_bwd(x, y, w, pw, g, out):
    """d loss / d x = g * w * ((1 + (pw-1) y) sigmoid(x) - pw y); g has size 1 or n."""
    n = x.size
    kw = w.size
    kp = pw.size
    kg = g.size
    nchunks = (n + _BCE_CHUNK - 1) // _BCE_CHUNK
    for ch in prange(nchunks):
        lo = ch * _BCE_CHUNK
        iw = lo % kw
        ip = lo % kp
        for i in range(lo, min(n, lo + _BCE_CHUNK)):
            xv = np.float64(x[i])
            yv = np.float64(y[i])
            e = math.exp(-abs(xv))
            s = 1.0 / (1.0 + e) if xv >= 0 else e / (1.0 + e)
            pwv = pw[ip]
            gv = g[i] if kg == n else g[0]
            out[i] = gv * w[iw] * ((1.0 + (pwv - 1.0) * yv) * s - pwv * yv)
            iw += 1
            if iw == kw:
                iw = 0
            ip += 1
            if ip == kp:
                ip = 0


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
    _check_float(x, "input")
    y = np.asarray(y)
    if y.shape != x.shape:
        raise ValueError(f"target shape {y.shape} must equal input shape {x.shape}")
    if y.dtype != x.dtype:
        raise ValueError(f"target dtype {y.dtype} != input dtype {x.dtype}")
    w = _periodic(weight, "weight", x.shape, x.dtype)
    pw = _periodic(pos_weight, "pos_weight", x.shape, x.dtype)
    return (np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(y).reshape(-1), w, pw)


def bce_with_logits_forward(x, y, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy on logits x with targets y (same shape), stable for
    large |x|. weight and pos_weight broadcast against x."""
    _check_reduction(reduction)
    xf, yf, w, pw = _bce_inputs(x, y, weight, pos_weight)
    write = reduction == "none"
    out = np.empty(xf.size if write else 0, x.dtype)
    total = _bce_fwd(xf, yf, w, pw, out, write) if xf.size else 0.0
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
        _bce_bwd(xf, yf, w, pw, g, out)
    return out.reshape(x.shape)
