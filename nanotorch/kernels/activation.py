"""Fused elementwise activation kernels (forwards that NumPy would split into
several passes, and the backward rules), plus the vectorisable math they use.

All public functions take float32/float64 arrays of any shape and return a new
array of the same shape and dtype. One compiled engine serves every op:
``_ew`` runs op ``op`` over flat arrays, ``_ew_parallel`` hands contiguous
slices of them to threads for large inputs.

``vexp``, ``vsigmoid``, ``verfc`` and ``vlog1p_unit`` are Numba-callable
replacements for libm calls, which LLVM cannot vectorise; softmax.py and
loss.py use them too. Numba keys a cached kernel on its own file only: after
editing them here, clear the __pycache__ of the kernels package.
"""
import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic, overload

# Below this many elements one thread beats the thread-pool hand-off (measured
# on 2 cores: parallel wins from ~5e4 elements on the cheap ops).
_PARALLEL_MIN = 1 << 16
_CHUNK = 1 << 14

_SQRT1_2 = 0.7071067811865476        # 1/sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327   # 1/sqrt(2*pi)
_SQRT_2_PI = 0.7978845608028654      # sqrt(2/pi)
_GELU_C = 0.044715

# ------------------------------------------------------------ vector math

_LOG2E = 1.4426950408889634


@intrinsic
def _from_bits(typingctx, bits):
    """Reinterpret int32 bits as float32, int64 bits as float64."""
    if bits == types.int32:
        ret = types.float32
    elif bits == types.int64:
        ret = types.float64
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(ret))
    return ret(bits), codegen


def vexp(x):
    """exp(x) for float32/float64 scalars in Numba code, to about 1 ulp, with
    inf, -inf and nan handled; unlike math.exp it vectorises."""


@overload(vexp, inline="always")
def _vexp_impl(x):
    # exp(x) = 2**k * exp(r), k = round(x / ln2), |r| <= ln2/2; exp(r) by its
    # Taylor series (enough terms for the type); 2**k built from exponent bits
    # in two halves so that the full range, subnormal results included, works.
    # A nan survives the clamp (Numba's max(nan, b) is nan) and the polynomial.
    # No loops or conditional expressions here and below: these helpers are
    # inlined into Numba IR (LLVM alone declines, and then nothing vectorises).
    if x == types.float32:
        def impl(x):
            xc = min(max(x, np.float32(-104.0)), np.float32(89.0))
            kf = np.floor(xc * np.float32(_LOG2E) + np.float32(0.5))
            r = (xc - kf * np.float32(0.693359375)) - kf * np.float32(-2.12194440e-4)
            p = np.float32(1.0 / 5040.0)
            p = p * r + np.float32(1.0 / 720.0)
            p = p * r + np.float32(1.0 / 120.0)
            p = p * r + np.float32(1.0 / 24.0)
            p = p * r + np.float32(1.0 / 6.0)
            p = p * r + np.float32(0.5)
            p = p * r + np.float32(1.0)
            p = p * r + np.float32(1.0)
            k = np.int32(kf)
            h = k >> 1
            # (shifts promote int32 to int64 in Numba: cast back before the bitcast)
            lo = _from_bits(np.int32((h + 127) << 23))
            return p * lo * _from_bits(np.int32((k - h + 127) << 23))
        return impl
    if x == types.float64:
        def impl(x):
            xc = min(max(x, -746.0), 710.0)
            kf = np.floor(xc * _LOG2E + 0.5)
            r = (xc - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10
            p = 1.0 / 6227020800.0
            p = p * r + 1.0 / 479001600.0
            p = p * r + 1.0 / 39916800.0
            p = p * r + 1.0 / 3628800.0
            p = p * r + 1.0 / 362880.0
            p = p * r + 1.0 / 40320.0
            p = p * r + 1.0 / 5040.0
            p = p * r + 1.0 / 720.0
            p = p * r + 1.0 / 120.0
            p = p * r + 1.0 / 24.0
            p = p * r + 1.0 / 6.0
            p = p * r + 0.5
            p = p * r + 1.0
            p = p * r + 1.0
            k = np.int64(kf)
            h = k >> 1
            return p * _from_bits((h + 1023) << 52) * _from_bits((k - h + 1023) << 52)
        return impl
    return None


def cast_like(c, x):
    """The Python float ``c`` as x's float type, for Numba code."""


@overload(cast_like)
def _cast_like_impl(c, x):
    if x == types.float32:
        return lambda c, x: np.float32(c)
    return lambda c, x: np.float64(c)


@njit(error_model="numpy", inline="always")
def vsigmoid(x):
    """1 / (1 + exp(-x)) in x's type; exp overflow gives 0, never nan."""
    one = cast_like(1.0, x)
    return one / (one + vexp(-x))


# log(erfc(a) / t) + a*a, t = 2 / (2 + a), as a polynomial in u = 2.4 t - 1.4
# (u runs over [-1, 1] for a in [0, 10]): a least-squares fit on 800 Chebyshev
# nodes against mpmath, max error 5e-8. In the u variable the coefficients are
# small, so float32 evaluation keeps erfc within ~3 ulp for a up to 9.2, where
# erfc reaches float32's smallest normal.
_ERFC_U = (-0.5585954189300537, 0.5703070759773254, 0.015747306868433952,
           -0.02947033755481243, -0.001063407864421606, 0.0037074766587466,
           -0.00022596416238229722, -0.000534320599399507, 7.272879156516865e-05,
           5.486024747369811e-05)


@njit(error_model="numpy", inline="always")
def _erfc_f32(z):
    a = min(abs(z), np.float32(16.0))   # erfc(16) is 0 in float32; nan stays nan
    r = np.float32(1.0) / (np.float32(2.0) + a)
    u = np.float32(4.8) * r - np.float32(1.4)
    c0, c1, c2, c3, c4 = (np.float32(_ERFC_U[0]), np.float32(_ERFC_U[1]),
                          np.float32(_ERFC_U[2]), np.float32(_ERFC_U[3]),
                          np.float32(_ERFC_U[4]))
    c5, c6, c7, c8, c9 = (np.float32(_ERFC_U[5]), np.float32(_ERFC_U[6]),
                          np.float32(_ERFC_U[7]), np.float32(_ERFC_U[8]),
                          np.float32(_ERFC_U[9]))
    p = ((((((((c9 * u + c8) * u + c7) * u + c6) * u + c5) * u + c4) * u + c3) * u + c2)
         * u + c1) * u + c0
    # exp(-a*a) with a*a split exactly: ah has <= 12 significant bits (a < 16)
    ah = np.floor(a * np.float32(256.0)) * np.float32(1.0 / 256.0)
    al = a - ah
    e = (r + r) * vexp(-ah * ah) * vexp(p - al * (a + ah))
    return e + (z < 0) * (np.float32(2.0) - np.float32(2.0) * e)   # erfc(-a) = 2 - erfc(a)


def verfc(z):
    """erfc(z) in z's type for Numba code: a vectorisable fit for float32
    (~3 ulp), libm for float64."""


@overload(verfc, inline="always", jit_options={"error_model": "numpy"})
def _verfc_impl(z):
    if z == types.float32:
        return lambda z: _erfc_f32(z)
    return lambda z: math.erfc(z)


@njit(error_model="numpy", inline="always")
def vlog1p_unit(e):
    """log(1 + e) for 0 <= e <= 1 in float64, as 2*atanh(e / (2 + e))."""
    s = e / (2.0 + e)
    q = s * s   # <= 1/9: 17 terms of the odd atanh series reach float64 precision
    p = (((((((((((((((q / 33 + 1 / 31) * q + 1 / 29) * q + 1 / 27) * q + 1 / 25) * q + 1 / 23)
                   * q + 1 / 21) * q + 1 / 19) * q + 1 / 17) * q + 1 / 15) * q + 1 / 13) * q
              + 1 / 11) * q + 1 / 9) * q + 1 / 7) * q + 1 / 5) * q + 1 / 3) * q + 1.0
    return 2.0 * s * p


@njit(error_model="numpy")
def line_max(r):
    """max of a non-empty 1-D array, with eight independent running maxima so
    the loop is not one long dependency chain. A nan entry may or may not come
    out; the callers' sums of exp turn it into nan either way."""
    n = r.size
    m0 = r[0]
    m1 = m2 = m3 = m4 = m5 = m6 = m7 = m0
    j = 0
    while j + 8 <= n:
        m0 = r[j] if r[j] > m0 else m0
        m1 = r[j + 1] if r[j + 1] > m1 else m1
        m2 = r[j + 2] if r[j + 2] > m2 else m2
        m3 = r[j + 3] if r[j + 3] > m3 else m3
        m4 = r[j + 4] if r[j + 4] > m4 else m4
        m5 = r[j + 5] if r[j + 5] > m5 else m5
        m6 = r[j + 6] if r[j + 6] > m6 else m6
        m7 = r[j + 7] if r[j + 7] > m7 else m7
        j += 8
    while j < n:
        m0 = r[j] if r[j] > m0 else m0
        j += 1
    return max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))


# ------------------------------------------------------------ the engine

# op codes
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


@njit(cache=True, error_model="numpy")
def _ew(op, a, b, out, p0, p1):
    """out[i] = op(a[i], b[i]; p0, p1) over flat arrays."""
    # Loops run over range(out.size): a non-negative index lets LLVM drop the
    # wraparound check and vectorise.
    if op == _RELU_BWD:            # a = grad, b = relu output
        for i in range(out.size):
            out[i] = 0.0 if b[i] <= 0 else a[i]
    elif op == _GELU_FWD:          # a = x
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
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
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
    kernel = _relu_parallel if fx.size >= _PARALLEL_MIN else _relu
    kernel(fx, fg, out.reshape(-1), backward)
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
