"""Numba helpers shared by the kernel modules, all inlined or called from
compiled code: vectorisable replacements for libm calls (``vexp``, ``vsigmoid``,
``verfc``, ``vlog1p_unit``), ``cast_like``, ``line_max``, the in-bounds spans of
strided windows (``first_in_bounds``, ``in_bounds_span``) and the fast-math
flags the reductions use.

A kernel compiled from another file bakes these in; the kernel cache is keyed on
every source file of this package (see _cache.py), so editing one here
recompiles whatever uses it.
"""
import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

# 'reassoc' lets LLVM vectorise float sums; no NaN/Inf assumptions.
FASTMATH = {"reassoc", "contract", "arcp"}

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


# ------------------------------------------------------------ window spans

@njit(inline="always")
def first_in_bounds(off, s):
    """The smallest i >= 0 with off + i*s >= 0 (s >= 1)."""
    return 0 if off >= 0 else (s - 1 - off) // s


@njit(inline="always")
def in_bounds_span(off, s, size, n):
    """[lo, hi) of the i in [0, n) with 0 <= off + i*s < size (s >= 1); lo <= hi."""
    lo = first_in_bounds(off, s)
    hi = (size - 1 - off) // s + 1 if size - 1 - off >= 0 else 0
    hi = min(hi, n)
    return min(lo, hi), hi
