"""In-place fused optimizer updates (SGD, Adam/AdamW) on contiguous arrays.

Each kernel reads the gradient and state once and writes the parameter and
state once. Scalar hyper-parameters are passed as an array of the parameter's
dtype so a float32 update rounds like a float32 update elsewhere.
"""
import numpy as np
from numba import njit, prange

from ._threads import CHUNK, launch_streaming


@njit(cache=True, error_model="numpy")
def _sgd(p, g, buf, c, use_momentum, nesterov, maximize, first_step):
    """c = [lr, momentum, 1 - dampening, weight_decay]."""
    lr, mom, keep, wd = c[0], c[1], c[2], c[3]
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        if use_momentum:
            b = d if first_step else buf[i] * mom + keep * d
            buf[i] = b
            d = d + mom * b if nesterov else b
        p[i] = p[i] - lr * d


@njit(cache=True, error_model="numpy")
def _adam(p, g, m, v, vmax, c, amsgrad, maximize, decoupled):
    """c = [lr, 1 - beta1, beta1, beta2, 1 - beta2, eps, weight_decay,
    1 - lr * weight_decay, lr / bias_correction1, sqrt(bias_correction2)]."""
    wgt, one_minus_wgt, b2, one_minus_b2 = c[1], c[2], c[3], c[4]
    eps, wd, shrink, step_size, bc2_sqrt = c[5], c[6], c[7], c[8], c[9]
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        pv = p[i]
        if wd != 0:
            if decoupled:
                pv = pv * shrink
            else:
                d = d + wd * pv
        mv = m[i]
        # m <- lerp(m, d, 1 - beta1), in the form that stays exact at either end
        if abs(wgt) < 0.5:
            mv = mv + wgt * (d - mv)
        else:
            mv = d - (d - mv) * one_minus_wgt
        m[i] = mv
        vv = v[i] * b2 + one_minus_b2 * (d * d)
        v[i] = vv
        if amsgrad:
            if vv < vmax[i] or vmax[i] != vmax[i]:
                vv = vmax[i]
            vmax[i] = vv
        denom = np.sqrt(vv) / bc2_sqrt + eps
        p[i] = pv - step_size * (mv / denom)


@njit(cache=True, parallel=True, error_model="numpy")
def _sgd_parallel(p, g, buf, c, use_momentum, nesterov, maximize, first_step):
    n = p.size
    for ch in prange((n + CHUNK - 1) // CHUNK):
        lo = ch * CHUNK
        hi = min(n, lo + CHUNK)
        b = buf[lo:hi] if use_momentum else buf
        _sgd(p[lo:hi], g[lo:hi], b, c, use_momentum, nesterov, maximize, first_step)


@njit(cache=True, parallel=True, error_model="numpy")
def _adam_parallel(p, g, m, v, vmax, c, amsgrad, maximize, decoupled):
    n = p.size
    for ch in prange((n + CHUNK - 1) // CHUNK):
        lo = ch * CHUNK
        hi = min(n, lo + CHUNK)
        vm = vmax[lo:hi] if amsgrad else vmax
        _adam(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vm, c, amsgrad, maximize, decoupled)


def _flat_state(arr, name, param):
    """Flat view of an array that must match ``param`` and be writable in place."""
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.shape != param.shape or arr.dtype != param.dtype:
        raise ValueError(f"{name} {arr.shape} {arr.dtype} does not match param "
                         f"{param.shape} {param.dtype}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous to be updated in place")
    return arr.reshape(-1)


def _check_param(param, grad):
    if not isinstance(param, np.ndarray) or param.dtype not in (np.float32, np.float64):
        raise ValueError(f"param must be a float32/float64 numpy array, got "
                         f"{getattr(param, 'dtype', type(param).__name__)}")
    if not param.flags.c_contiguous or not param.flags.writeable:
        raise ValueError("param must be C-contiguous and writable to be updated in place")
    if not isinstance(grad, np.ndarray) or grad.shape != param.shape or grad.dtype != param.dtype:
        raise ValueError(f"grad {getattr(grad, 'shape', None)} {getattr(grad, 'dtype', None)} "
                         f"does not match param {param.shape} {param.dtype}")
    return param.reshape(-1), np.ascontiguousarray(grad).reshape(-1)


def _check_nonneg(**values):
    for name, val in values.items():
        if not val >= 0.0:
            raise ValueError(f"{name} must be >= 0, got {val}")


def sgd_step(param, grad, momentum_buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False, first_step=False):
    """One torch.optim.SGD update of ``param`` (and ``momentum_buf``) in place.

    momentum_buf may be None when momentum == 0. On ``first_step`` the buffer
    is set to the (decayed) gradient itself, without dampening.
    """
    p, g = _check_param(param, grad)
    _check_nonneg(lr=lr, momentum=momentum, weight_decay=weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"nesterov needs momentum > 0 and dampening == 0, got "
                         f"momentum={momentum}, dampening={dampening}")
    use_momentum = momentum != 0
    if use_momentum:
        if momentum_buf is None:
            raise ValueError(f"momentum={momentum} needs a momentum_buf")
        buf = _flat_state(momentum_buf, "momentum_buf", param)
    else:
        buf = np.empty(0, param.dtype)
    c = np.array([lr, momentum, 1.0 - dampening, weight_decay], dtype=param.dtype)
    launch_streaming(_sgd_parallel, _sgd, p.size, p, g, buf, c, use_momentum, bool(nesterov),
                     bool(maximize), bool(first_step))


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, max_exp_avg_sq=None, maximize=False,
              decoupled_weight_decay=False):
    """One torch.optim.Adam update in place (AdamW when decoupled_weight_decay).

    ``step`` is the step count including this one (1 on the first call).
    Pass ``max_exp_avg_sq`` (zeros at first) to run AMSGrad.
    """
    p, g = _check_param(param, grad)
    m = _flat_state(exp_avg, "exp_avg", param)
    v = _flat_state(exp_avg_sq, "exp_avg_sq", param)
    amsgrad = max_exp_avg_sq is not None
    vmax = _flat_state(max_exp_avg_sq, "max_exp_avg_sq", param) if amsgrad \
        else np.empty(0, param.dtype)
    _check_nonneg(lr=lr, eps=eps, weight_decay=weight_decay)
    for name, b in (("beta1", beta1), ("beta2", beta2)):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {b}")
    if int(step) != step or step < 1:
        raise ValueError(f"step must be an integer >= 1, got {step}")
    bc1 = 1.0 - beta1 ** step
    bc2 = 1.0 - beta2 ** step
    wgt = np.array(1.0 - beta1, dtype=param.dtype)
    c = np.array([lr, wgt, 1 - wgt, beta2, 1.0 - beta2, eps, weight_decay,
                  1.0 - lr * weight_decay, lr / bc1, bc2 ** 0.5], dtype=param.dtype)
    launch_streaming(_adam_parallel, _adam, p.size, p, g, m, v, vmax, c, amsgrad, bool(maximize),
                     bool(decoupled_weight_decay))
