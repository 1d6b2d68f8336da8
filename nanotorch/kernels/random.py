"""Numba kernels behind ``nanotorch.random``: the 32-bit Mersenne Twister (mt19937) with
PyTorch's CPU bookkeeping (``left``/``next`` counters), and the Box-Muller blocks of
PyTorch's ``normal_fill`` for float64 (libm) and float32 (the 8-lane AVX2 path built on
the Cephes log/sincos polynomials, reproduced here one float32 operation at a time).

Loaded lazily by ``nanotorch.random`` so ``import nanotorch`` compiles nothing.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

N = 624          # state words
_M = 397         # twist offset
_UPPER = np.uint32(0x80000000)
_LOWER = np.uint32(0x7FFFFFFF)
_MATRIX_A = np.uint32(0x9908B0DF)


@njit(cache=True)
def mt_seed(state, pos, seed):
    """Knuth's initialisation of ``state`` (uint32[624]) from a 32-bit seed; ``pos`` is
    int64[2] = (left, next) as PyTorch keeps them (left=1: twist before the first draw)."""
    state[0] = np.uint32(seed & 0xFFFFFFFF)
    for j in range(1, N):
        prev = np.uint64(state[j - 1])
        state[j] = np.uint32((np.uint64(1812433253) * (prev ^ (prev >> np.uint64(30)))
                              + np.uint64(j)) & np.uint64(0xFFFFFFFF))
    pos[0] = 1
    pos[1] = 0


@njit(cache=True)
def _twist(state):
    for k in range(N):
        y = (state[k] & _UPPER) | (state[(k + 1) % N] & _LOWER)
        v = state[(k + _M) % N] ^ (y >> np.uint32(1))
        if y & np.uint32(1):
            v ^= _MATRIX_A
        state[k] = v


@njit(cache=True)
def mt_fill(state, pos, out):
    """Fill ``out`` (uint32) with the next ``out.size`` engine outputs, in order."""
    left = pos[0]
    nxt = pos[1]
    for i in range(out.size):
        left -= 1
        if left == 0:
            _twist(state)
            left = N
            nxt = 0
        y = state[nxt]
        nxt += 1
        y ^= y >> np.uint32(11)
        y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
        y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
        y ^= y >> np.uint32(18)
        out[i] = y
    pos[0] = left
    pos[1] = nxt



@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c rounded once (LLVM's fma), as PyTorch's compiled kernels contract it."""
    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        fnty = ir.FunctionType(ty, [ty, ty, ty])
        return builder.call(builder.module.declare_intrinsic("llvm.fma", [ty], fnty), args)
    return a(a, a, a), codegen


@njit(cache=True)
def affine_(x, scale, shift):
    """x[i] = fma(x[i], scale, shift) in x's dtype (uniform_'s ``x * (to - from) + from``)."""
    for i in range(x.size):
        x[i] = fma(x[i], scale, shift)


# ------------------------------------------------------------------ Box-Muller, float64

@njit(cache=True)
def normal_fill_16_f64(data, start, mean, std):
    """PyTorch's scalar ``normal_fill_16`` on ``data[start:start+16]`` (uniforms in,
    normals out): pairs (j, j+8) become radius*cos, radius*sin."""
    for j in range(8):
        u1 = 1.0 - data[start + j]
        u2 = data[start + j + 8]
        radius = math.sqrt(-2.0 * math.log(u1))
        theta = 2.0 * math.pi * u2
        data[start + j] = fma(radius * math.cos(theta), std, mean)
        data[start + j + 8] = fma(radius * math.sin(theta), std, mean)


@njit(cache=True)
def normal_fill_f64(data, tail, mean, std):
    """Blocks of 16 over ``data``; ``tail`` (16 fresh uniforms, or empty) replaces the
    last 16 values when the size is not a multiple of 16, as PyTorch recomputes them."""
    n = data.size
    for i in range(0, n - 15, 16):
        normal_fill_16_f64(data, i, mean, std)
    if n % 16:
        data[n - 16:] = tail
        normal_fill_16_f64(data, n - 16, mean, std)


# ------------------------------------------------------------------ Box-Muller, float32

_F = np.float32


_MIN_NORMAL = np.float32(2.0 ** -126)


@njit(cache=True)
def _log_ps(x, fbuf, ibuf):
    """Cephes-style float32 log as PyTorch's AVX2 ``log256_ps`` lane computes it: GCC
    contracts its mul/add pairs into FMAs (found by experiment against the wheel); inputs
    here are in (0, 1], so the invalid-input mask never applies. ``fbuf`` is a
    1-element float32 scratch array and ``ibuf`` its int32 view (bit reinterpretation)."""
    one = _F(1.0)
    fbuf[0] = max(x, _MIN_NORMAL)
    b = ibuf[0]
    e = _F(np.int32(((b >> 23) & 0x1FF) - 0x7F))
    e = e + one
    ibuf[0] = np.int32((b & ~0x7F800000) | 0x3F000000)
    x = fbuf[0]
    below = x < _F(0.707106781186547524)
    tmp = x if below else _F(0.0)
    x = x - one
    e = e - (one if below else _F(0.0))
    x = x + tmp
    z = x * x
    y = _F(7.0376836292E-2)
    y = fma(y, x, _F(-1.1514610310E-1))
    y = fma(y, x, _F(1.1676998740E-1))
    y = fma(y, x, _F(-1.2420140846E-1))
    y = fma(y, x, _F(1.4249322787E-1))
    y = fma(y, x, _F(-1.6668057665E-1))
    y = fma(y, x, _F(2.0000714765E-1))
    y = fma(y, x, _F(-2.4999993993E-1))
    y = fma(y, x, _F(3.3333331174E-1))
    y = y * x
    y = fma(y, z, e * _F(-2.12194440e-4))
    y = fma(-z, _F(0.5), y)
    x = x + y
    return fma(e, _F(0.693359375), x)


@njit(cache=True)
def _sincos_ps(x):
    """Cephes-style float32 (sin, cos) as PyTorch's AVX2 ``sincos256_ps`` lane computes
    them (with GCC's FMA contractions), for x >= 0."""
    j = np.int32(x * _F(1.27323954473516))
    j = (j + 1) & ~1
    y = _F(j)
    swap_sin = (j & 4) != 0
    poly_sin = (j & 2) == 0
    x = fma(y, _F(-0.78515625), x)
    x = fma(y, _F(-2.4187564849853515625e-4), x)
    x = fma(y, _F(-3.77489497744594108e-8), x)
    cos_neg = ((~(j - 2)) & 4) != 0
    z = x * x
    yc = fma(_F(2.443315711809948E-005), z, _F(-1.388731625493765E-003))
    yc = fma(yc, z, _F(4.166664568298827E-002))
    yc = yc * z
    yc = fma(yc, z, -(z * _F(0.5)))
    yc = yc + _F(1.0)
    ys = fma(_F(-1.9515295891E-4), z, _F(8.3321608736E-3))
    ys = fma(ys, z, _F(-1.6666654611E-1))
    ys = ys * z
    ys = fma(ys, x, x)
    s = ys if poly_sin else yc
    c = yc if poly_sin else ys
    if swap_sin:
        s = -s
    if cos_neg:
        c = -c
    return s, c


@njit(cache=True)
def normal_fill_16_f32(data, start, mean, std, fbuf, ibuf):
    two_pi = _F(2.0 * math.pi)
    for j in range(8):
        u1 = _F(1.0) - data[start + j]
        u2 = data[start + j + 8]
        radius = np.float32(math.sqrt(_F(-2.0) * _log_ps(u1, fbuf, ibuf)))
        s, c = _sincos_ps(two_pi * u2)
        data[start + j] = fma(radius * c, std, mean)
        data[start + j + 8] = fma(radius * s, std, mean)


@njit(cache=True)
def normal_fill_f32(data, tail, mean, std):
    """float32 twin of ``normal_fill_f64`` (PyTorch's AVX2 ``normal_fill``)."""
    n = data.size
    fbuf = np.empty(1, dtype=np.float32)
    ibuf = fbuf.view(np.int32)
    for i in range(0, n - 15, 16):
        normal_fill_16_f32(data, i, mean, std, fbuf, ibuf)
    if n % 16:
        data[n - 16:] = tail
        normal_fill_16_f32(data, n - 16, mean, std, fbuf, ibuf)


# ------------------------------------------------------------------ permutations

@njit(cache=True)
def swap_shuffle(out, words):
    """PyTorch's randperm loop: for i, swap out[i] with out[i + words[i] % (n - i)]."""
    n = out.size
    for i in range(n - 1):
        z = i + np.int64(words[i]) % (n - i)
        out[i], out[z] = out[z], out[i]


# ------------------------------------------------------------------ scalar transforms
# In place on float64 uniforms in [0, 1), with libm as PyTorch's CPU kernels call it.

@njit(cache=True)
def exponential_(u, lambd):
    for i in range(u.size):
        u[i] = -1.0 / lambd * math.log1p(-u[i])


@njit(cache=True)
def geometric_(u, p):
    denom = math.log1p(-p)
    for i in range(u.size):
        u[i] = math.ceil(math.log(u[i]) / denom)


@njit(cache=True)
def cauchy_(u, median, sigma):
    for i in range(u.size):
        u[i] = median + sigma * math.tan(math.pi * (u[i] - 0.5))


@njit(cache=True)
def fma_scalar(a, b, c):
    """fma for Python floats (the scalar Box-Muller's ``z * std + mean``)."""
    return fma(np.float64(a), np.float64(b), np.float64(c))
