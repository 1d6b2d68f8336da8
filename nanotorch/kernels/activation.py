"""Fused elementwise activation kernels (forwards that NumPy would split into
several passes, and the backward rules).

All functions take contiguous float32/float64 arrays of any shape and return a
new array of the same shape and dtype. One compiled engine serves every op:
``_ew`` runs op ``op`` over flat arrays, ``_ew_parallel`` hands contiguous
slices of them to threads for large inputs.
"""
import math

import numpy as np
from numba import njit, prange

# Below this many elements one thread beats the thread-pool hand-off (measured
# on 2 cores: parallel wins from ~5e4 elements on the cheap ops).
_PARALLEL_MIN = 1 << 16
_CHUNK = 1 << 14

_SQRT1_2 = 0.7071067811865476        # 1/sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327   # 1/sqrt(2*pi)
_SQRT_2_PI = 0.7978845608028654      # sqrt(2/pi)
_GELU_C = 0.044715

# op codes of the engine
_RELU_BWD = 0
_GELU_FWD = 1
_GELU_BWD = 2
_GELU_TANH_FWD = 3
_GELU_TANH_BWD = 4
_SILU_FWD = 5
_SILU_BWD = 6
_SIGMOID_BWD = 7
_TANH_BWD = 8
_LEAKY_BWD = 9
_HARDTANH_BWD = 10


@njit(cache=True)
def _ew(op, a, b, out, p0, p1):
    """out[i] = op(a[i], b[i]; p0, p1) over flat arrays."""
    # Loops run over range(out.size): a non-negative index lets LLVM drop the
    # wraparound check and vectorise.
    if op == _RELU_BWD:            # a = grad, b = relu output
        for i in range(out.size):
            out[i] = 0.0 if b[i] <= 0 else a[i]
    elif op == _GELU_FWD:          # a = x
        for i in range(out.size):
            x = np.float64(a[i])
            out[i] = 0.5 * x * (1.0 + math.erf(x * _SQRT1_2))
    elif op == _GELU_BWD:          # a = grad, b = x
        for i in range(out.size):
            x = np.float64(b[i])
            cdf = 0.5 * (1.0 + math.erf(x * _SQRT1_2))
            pdf = _INV_SQRT_2PI * math.exp(-0.5 * x * x)
            out[i] = a[i] * (cdf + x * pdf)
    elif op == _GELU_TANH_FWD:
        for i in range(out.size):
            x = np.float64(a[i])
            t = math.tanh(_SQRT_2_PI * (x + _GELU_C * x * x * x))
            out[i] = 0.5 * x * (1.0 + t)
    elif op == _GELU_TANH_BWD:
        for i in range(out.size):
            x = np.float64(b[i])
            x2 = x * x
            t = math.tanh(_SQRT_2_PI * (x + _GELU_C * x2 * x))
            dinner = _SQRT_2_PI * (1.0 + 3.0 * _GELU_C * x2)
            out[i] = a[i] * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner)
    elif op == _SILU_FWD:
        for i in range(out.size):
            x = np.float64(a[i])
            out[i] = x / (1.0 + math.exp(-x))
    elif op == _SILU_BWD:
        for i in range(out.size):
            x = np.float64(b[i])
            s = 1.0 / (1.0 + math.exp(-x))
            out[i] = a[i] * (s * (1.0 + x * (1.0 - s)))
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


@njit(cache=True, parallel=True)
def _ew_parallel(op, a, b, out, p0, p1):
    n = out.size
    nchunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        _ew(op, a[lo:hi], b[lo:hi], out[lo:hi], p0, p1)


def _flat(arr, name):
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {arr.dtype}")
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
    if fa.size >= _PARALLEL_MIN:
        _ew_parallel(op, fa, fb, out, float(p0), float(p1))
    else:
        _ew(op, fa, fb, out, float(p0), float(p1))
    return out.reshape(a.shape)


def _gelu_mode(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate == "tanh"


def relu_backward(grad_y, y):
    """grad where the ReLU output ``y`` is positive, else 0."""
    return _run(_RELU_BWD, grad_y, y, names=("grad_y", "y"))


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
