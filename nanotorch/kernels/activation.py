"""Fused elementwise activation kernels (forwards that NumPy would split into
several passes, and the backward rules).

All public functions take float32/float64 arrays of any shape and return a new
array of the same shape and dtype. One compiled engine serves every op:
``_ew`` runs op ``op`` over flat arrays, ``_ew_parallel`` hands contiguous
slices of them to threads for large inputs. The vectorisable math they use
(``vexp``, ``vsigmoid``, ``verfc``) lives in _math.py.
"""
import numpy as np
from numba import njit, prange

from ._checks import check_float
from ._math import cast_like, verfc, vexp, vsigmoid
from ._threads import CHUNK, launch_streaming

_SQRT1_2 = 0.7071067811865476        # 1/sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327   # 1/sqrt(2*pi)
_SQRT_2_PI = 0.7978845608028654      # sqrt(2/pi)
_GELU_C = 0.044715

# ------------------------------------------------------------ the engine

# op codes (ReLU has kernels of its own, below)
_GELU_FWD = 0
_GELU_BWD = 1
_GELU_TANH_FWD = 2
_GELU_TANH_BWD = 3
_SILU_FWD = 4
_SILU_BWD = 5
_SIGMOID_BWD = 6
_TANH_BWD = 7
_LEAKY_BWD = 8
_HARDTANH_BWD = 9


@njit(cache=True, error_model="numpy")
def _ew(op, a, b, out, p0, p1):
    """out[i] = op(a[i], b[i]; p0, p1) over flat arrays."""
    # Loops run over range(out.size): a non-negative index lets LLVM drop the
    # wraparound check and vectorise.
    if op == _GELU_FWD:          # a = x
        for i in range(out.size):
            x = a[i]
            out[i] = cast_like(0.5, x) * x * verfc(-x * cast_like(_SQRT1_2, x))
    elif op == _GELU_BWD:          # a = grad, b = x
        for i in range(out.size):
            x = b[i]
            cdf = cast_like(0.5, x) * verfc(-x * cast_like(_SQRT1_2, x))
            pdf = cast_like(_INV_SQRT_2PI, x) * vexp(cast_like(-0.5, x) * x * x)
            out[i] = a[i] * (cdf + x * pdf)
    elif op == _GELU_TANH_FWD:     # 0.5 * (1 + tanh(u)) == sigmoid(2u)
        for i in range(out.size):
            x = a[i]
            c = cast_like(2.0 * _SQRT_2_PI, x)
            out[i] = x * vsigmoid(c * (x + cast_like(_GELU_C, x) * x * x * x))
    elif op == _GELU_TANH_BWD:
        for i in range(out.size):
            x = b[i]
            x2 = x * x
            one = cast_like(1.0, x)
            s = vsigmoid(cast_like(2.0 * _SQRT_2_PI, x) * (x + cast_like(_GELU_C, x) * x2 * x))
            du = cast_like(2.0 * _SQRT_2_PI, x) * (one + cast_like(3.0 * _GELU_C, x) * x2)
            out[i] = a[i] * (s + x * s * (one - s) * du)
    elif op == _SILU_FWD:
        for i in range(out.size):
            x = a[i]
            out[i] = x * vsigmoid(x)
    elif op == _SILU_BWD:
        for i in range(out.size):
            x = b[i]
            s = vsigmoid(x)
            out[i] = a[i] * (s * (cast_like(1.0, x) + x * (cast_like(1.0, x) - s)))
    elif op == _SIGMOID_BWD:       # b = sigmoid output
        for i in range(out.size):
            y = np.float64(b[i])
            out[i] = a[i] * (y * (1.0 - y))
    elif op == _TANH_BWD:          # b = tanh output
        for i in range(out.size):
            y = np.float64(b[i])
            out[i] = a[i] * (1.0 - y * y)
    elif op == _LEAKY_BWD:         # b = x, p0 = negative slope
        for i in range(out.size):
            out[i] = a[i] if b[i] > 0 else a[i] * p0
    elif op == _HARDTANH_BWD:      # b = x, (p0, p1) = (min_val, max_val)
        for i in range(out.size):
            x = b[i]
            out[i] = 0.0 if (x <= p0 or x >= p1) else a[i]


@njit(cache=True, parallel=True, error_model="numpy")
def _ew_parallel(op, a, b, out, p0, p1):
    n = out.size
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in prange(nchunks):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _ew(op, a[lo:hi], b[lo:hi], out[lo:hi], p0, p1)


def _flat(arr, name):
    check_float(arr, name)
    return np.ascontiguousarray(arr).reshape(-1)


def _run(op, a, b=None, p0=0.0, p1=0.0, names=("x", "")):
    """Check the operands, run op, return an array shaped like ``a``."""
    fa = _flat(a, names[0])
    if b is None:
        fb = fa
    else:
        fb = _flat(b, names[1])
        if a.shape != b.shape:
            raise ValueError(f"{names[0]} shape {a.shape} != {names[1]} shape {b.shape}")
        if a.dtype != b.dtype:
            raise ValueError(f"{names[0]} dtype {a.dtype} != {names[1]} dtype {b.dtype}")
    out = np.empty(fa.size, dtype=a.dtype)
    launch_streaming(_ew_parallel, _ew, fa.size, op, fa, fb, out, float(p0), float(p1))
    return out.reshape(a.shape)


def _gelu_mode(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate == "tanh"


# ReLU has kernels of its own, apart from _ew: every model uses it, and compiling
# _ew's parallel form (all its ops) took 6.6 s of a cold start.
@njit(cache=True, error_model="numpy")
def _relu(x, g, out, backward):
    """Forward: out = x where x > 0 else 0 (NaN kept). Backward: out = g where the
    ReLU output x > 0 else 0."""
    if backward:
        for i in range(out.size):
            out[i] = 0.0 if x[i] <= 0 else g[i]
    else:
        for i in range(out.size):
            v = x[i]
            out[i] = 0.0 if v <= 0 else v


@njit(cache=True, parallel=True, error_model="numpy")
def _relu_parallel(x, g, out, backward):
    n = out.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _relu(x[lo:hi], g[lo:hi], out[lo:hi], backward)


def _relu_run(x, g, out, backward, names):
    fx = _flat(x, names[0])
    fg = fx if g is None else _flat(g, names[1])
    if g is not None and (g.shape != x.shape or g.dtype != x.dtype):
        raise ValueError(f"{names[1]} {g.dtype} {g.shape} does not match {names[0]} "
                         f"{x.dtype} {x.shape}")
    if out is None:
        out = np.empty(x.shape, dtype=x.dtype)
    elif out.shape != x.shape or out.dtype != x.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {x.dtype} array of shape {x.shape}, "
                         f"got {out.dtype} {out.shape}")
    launch_streaming(_relu_parallel, _relu, fx.size, fx, fg, out.reshape(-1), backward)
    return out


def relu_forward(x, out=None):
    """max(x, 0), NaN kept; written into ``out`` (may be ``x``) when given."""
    return _relu_run(x, None, out, False, ("x", "x"))


def relu_backward(grad_y, y):
    """grad where the ReLU output ``y`` is positive, else 0."""
    return _relu_run(y, grad_y, None, True, ("y", "grad_y"))


def gelu_forward(x, approximate="none"):
    """GELU, exact (erf) or with the tanh approximation."""
    op = _GELU_TANH_FWD if _gelu_mode(approximate) else _GELU_FWD
    return _run(op, x)


def gelu_backward(grad_y, x, approximate="none"):
    """Gradient of GELU w.r.t. its input ``x``."""
    op = _GELU_TANH_BWD if _gelu_mode(approximate) else _GELU_BWD
    return _run(op, grad_y, x, names=("grad_y", "x"))


def silu_forward(x):
    """x * sigmoid(x)."""
    return _run(_SILU_FWD, x)


def silu_backward(grad_y, x):
    """Gradient of SiLU w.r.t. its input ``x``."""
    return _run(_SILU_BWD, grad_y, x, names=("grad_y", "x"))


def sigmoid_backward(grad_y, y):
    """grad * y * (1 - y) with ``y`` the sigmoid output."""
    return _run(_SIGMOID_BWD, grad_y, y, names=("grad_y", "y"))


def tanh_backward(grad_y, y):
    """grad * (1 - y**2) with ``y`` the tanh output."""
    return _run(_TANH_BWD, grad_y, y, names=("grad_y", "y"))


def leaky_relu_backward(grad_y, x, negative_slope=0.01):
    """grad where x > 0, grad * negative_slope elsewhere."""
    return _run(_LEAKY_BWD, grad_y, x, p0=negative_slope, names=("grad_y", "x"))


def hardtanh_backward(grad_y, x, min_val=-1.0, max_val=1.0):
    """grad where min_val < x < max_val, else 0 (ReLU6: min 0, max 6)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh needs min_val <= max_val, got {min_val} and {max_val}")
    return _run(_HARDTANH_BWD, grad_y, x, p0=min_val, p1=max_val, names=("grad_y", "x"))
