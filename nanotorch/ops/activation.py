"""Activation ops: ReLU family, sigmoid / tanh, GELU, SiLU, ELU family, softplus,
hard-sigmoid / hard-swish, Mish (and erf, which GELU's double backward needs).

Without grad mode (the usual backward) they work on arrays, with a fused Numba kernel
or in-place NumPy passes, whichever measured faster; under ``create_graph`` they use
Tensor formulas, so double backward works."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Op, _wrap
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import activation as K
from .registry import float_unary

_SQRT1_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_PI = 0.7978845608028654
_GELU_C = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _kernel(fn, *arrays, **params):
    """Run a float32/float64 kernel in the dtype of the last array (the op's input or
    output); other float dtypes go through float32."""
    dt = arrays[-1].dtype
    if dt in (np.float32, np.float64):
        return fn(*[a.astype(dt, copy=False) for a in arrays], **params)
    out = fn(*[a.astype(np.float32) for a in arrays], **params)
    return out.astype(dt)


_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


@float_unary("erf")
class Erf(Op):
    """The error function, 2/sqrt(pi) * integral of exp(-t**2) from 0 to x."""

    def forward(self, x):
        self.save_inputs(0)
        return _erf_ufunc(x).astype(x.dtype)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * ((-(x * x)).exp() * (2.0 / math.sqrt(math.pi)))


class Hardtanh(Op, backward_name="HardtanhBackward0"):
    def forward(self, x, min_val, max_val):
        self.save_inputs(0)
        self.bounds = (min_val, max_val)
        out = np.maximum(x, np.asarray(min_val, dtype=x.dtype))
        return np.minimum(out, np.asarray(max_val, dtype=x.dtype), out=out)

    def backward(self, g):
        (x,) = self.saved_tensors
        lo, hi = self.bounds
        if is_grad_enabled():
            a = x._array
            return g * _wrap(((a > lo) & (a < hi)).astype(a.dtype))
        return _wrap(_kernel(K.hardtanh_backward, g._array, x._array, min_val=lo, max_val=hi))


class LeakyRelu(Op, backward_name="LeakyReluBackward0"):
    def forward(self, x, slope):
        self.save_inputs(0)
        self.slope = slope
        scaled = np.multiply(x, np.asarray(slope, dtype=x.dtype))
        if 0.0 <= slope <= 1.0:
            return np.maximum(x, scaled, out=scaled)
        return np.where(x > 0, x, scaled)

    def backward(self, g):
        (x,) = self.saved_tensors
        if is_grad_enabled():
            a = x._array
            return g * _wrap(np.where(a > 0, 1.0, self.slope).astype(a.dtype))
        return _wrap(_kernel(K.leaky_relu_backward, g._array, x._array,
                              negative_slope=self.slope))


class Threshold(Op, backward_name="ThresholdBackward0"):
    def forward(self, x, threshold, value):
        self.keep = x > threshold
        return np.where(self.keep, x, np.asarray(value, dtype=x.dtype))

    def backward(self, g):
        return g * _wrap(self.keep)

    def _release_extra(self):
        self.keep = None


def _gelu_grad(x, approximate):
    """d gelu / dx as differentiable Tensor ops."""
    if approximate == "tanh":
        x2 = x * x
        t = ((x + x2 * x * _GELU_C) * _SQRT_2_PI).tanh()
        dinner = (x2 * (3.0 * _GELU_C) + 1.0) * _SQRT_2_PI
        return (t + 1.0) * 0.5 + x * (1.0 - t * t) * dinner * 0.5
    cdf = (Erf.apply(x * _SQRT1_2) + 1.0) * 0.5
    pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
    return cdf + x * pdf


def _sigmoid_np(x):
    out = np.negative(x, out=np.empty_like(x))  # an array even for 0-d x
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def _gelu_tanh_np(x):
    t = x * x
    t *= _GELU_C
    t += 1
    t *= x
    t *= _SQRT_2_PI
    np.tanh(t, out=t)
    t += 1
    t *= x
    t *= 0.5
    return t


def _gelu_tanh_grad_np(g, x):
    x2 = x * x
    t = x2 * _GELU_C
    t += 1
    t *= x
    t *= _SQRT_2_PI
    np.tanh(t, out=t)                    # t = tanh(inner)
    d = x2
    d *= 3 * _GELU_C
    d += 1
    d *= _SQRT_2_PI                      # d = d inner / dx
    u = t * t
    np.subtract(1, u, out=u)
    u *= x
    u *= d
    u += 1
    u += t
    u *= 0.5
    u *= g
    return u


class Gelu(Op, backward_name="GeluBackward0"):
    # Without SVML, Numba's scalar exp/tanh lose to NumPy's SIMD ones: the tanh form
    # runs as NumPy passes; the exact form needs erf, which only the kernel has.
    def forward(self, x, approximate):
        self.save_inputs(0)
        self.approximate = approximate
        if approximate == "tanh":
            return _gelu_tanh_np(x)
        return _kernel(K.gelu_forward, x, approximate=approximate)

    def backward(self, g):
        (x,) = self.saved_tensors
        if is_grad_enabled():
            return g * _gelu_grad(x, self.approximate)
        ga, xa = g._array, x._array
        if self.approximate == "tanh":
            return _wrap(_gelu_tanh_grad_np(ga.astype(xa.dtype, copy=False), xa))
        return _wrap(_kernel(K.gelu_backward, ga, xa, approximate=self.approximate))


class Silu(Op, backward_name="SiluBackward0"):
    # NumPy passes: faster here than the scalar-exp kernel (see Gelu)
    def forward(self, x):
        self.save_inputs(0)
        out = np.negative(x, out=np.empty_like(x))
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += 1
        return np.divide(x, out, out=out)

    def backward(self, g):
        (x,) = self.saved_tensors
        if is_grad_enabled():
            s = x.sigmoid()
            return g * (s * (x * (1.0 - s) + 1.0))
        xa = x._array
        sig = _sigmoid_np(xa)
        out = np.subtract(1, sig)
        out *= xa
        out += 1
        out *= sig
        out *= g._array
        return _wrap(out)


@float_unary("sigmoid")
class Sigmoid(Op):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        self.save_output()
        return _sigmoid_np(x)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():
            return g * y * (1.0 - y)
        return _wrap(_kernel(K.sigmoid_backward, g._array, y._array))


@float_unary("tanh")
class Tanh(Op):
    def forward(self, x):
        self.save_output()
        return np.tanh(x)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():
            return g * (1.0 - y * y)
        return _wrap(_kernel(K.tanh_backward, g._array, y._array))


class Elu(Op, backward_name="EluBackward0"):
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)): ELU, SELU and CELU."""

    def forward(self, x, alpha, scale, input_scale):
        self.save_inputs(0)
        self.params = (alpha, scale, input_scale)
        out = np.minimum(x, 0)
        if input_scale != 1:
            out *= input_scale
        np.expm1(out, out=out)
        out *= alpha
        np.copyto(out, x, where=x > 0)
        if scale != 1:
            out *= scale
        return out

    def backward(self, g):
        (x,) = self.saved_tensors
        alpha, scale, input_scale = self.params
        if is_grad_enabled():
            neg = (x.clamp(max=0) * input_scale).exp() * (alpha * scale * input_scale)
            return g * neg.masked_fill(x > 0, scale)
        xa = x._array
        d = np.minimum(xa, 0)
        if input_scale != 1:
            d *= input_scale
        np.exp(d, out=d)
        d *= alpha * scale * input_scale
        d[xa > 0] = scale
        d *= g._array
        return _wrap(d)


class Celu(Elu, backward_name="CeluBackward0"):
    pass


class Softplus(Op, backward_name="SoftplusBackward0"):
    def forward(self, x, beta, threshold):
        self.save_inputs(0)
        self.params = (beta, threshold)
        dt = x.dtype
        z = x * np.asarray(beta, dt)
        soft = np.logaddexp(np.asarray(0, dt), z)
        soft /= np.asarray(beta, dt)
        return np.where(z > threshold, x, soft)

    def backward(self, g):
        (x,) = self.saved_tensors
        beta, thr = self.params
        z = x * beta
        return g * z.sigmoid().masked_fill(z > thr, 1.0)


class Hardswish(Op, backward_name="HardswishBackward0"):
    def forward(self, x):
        self.save_inputs(0)
        dt = x.dtype
        r = np.clip(x + np.asarray(3, dt), 0, 6)
        r *= x
        r /= np.asarray(6, dt)
        return r

    def backward(self, g):
        (x,) = self.saved_tensors
        if is_grad_enabled():
            d = (x * 2.0 + 3.0) / 6.0
            return g * d.masked_fill(x <= -3.0, 0.0).masked_fill(x >= 3.0, 1.0)
        xa = x._array
        d = xa * (1 / 3)
        d += 0.5
        d[xa <= -3] = 0
        d[xa >= 3] = 1
        d *= g._array
        return _wrap(d)


class Hardsigmoid(Op, backward_name="HardsigmoidBackward0"):
    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        dt = x.dtype
        r = np.clip(x + np.asarray(3, dt), 0, 6)
        r /= np.asarray(6, dt)
        return r

    def backward(self, g):
        return g * _wrap(self.inside.astype(g._array.dtype) / 6.0)

    def _release_extra(self):
        self.inside = None


def _mish_parts(x):
    """(tanh(softplus(x)), sigmoid(x)) from one exp: with e = exp(x),
    tanh(log(1 + e)) = e(e + 2) / (e(e + 2) + 2)."""
    e = np.minimum(x, 20)  # beyond 20 both are 1 to working precision
    np.exp(e, out=e)
    sig = e / (e + 1)
    n = e
    n *= e + 2
    t = n / (n + 2)
    return t, sig


class Mish(Op, backward_name="MishBackward0"):
    def forward(self, x):
        self.save_inputs(0)
        t, _ = _mish_parts(x)
        t *= x
        return t

    def backward(self, g):
        (x,) = self.saved_tensors
        if is_grad_enabled():
            t = Softplus.apply(x, beta=1.0, threshold=20.0).tanh()
            return g * (t + x * x.sigmoid() * (1.0 - t * t))
        xa = x._array
        t, sig = _mish_parts(xa)
        out = t * t
        np.subtract(1, out, out=out)
        out *= sig
        out *= xa
        out += t
        out *= g._array
        return _wrap(out)


class Relu(Op):
    def forward(self, a, out=None):
        self.save_output()
        if a.dtype in (np.float32, np.float64):
            return K.relu_forward(a, out=out)
        return np.maximum(a, 0, dtype=a.dtype, out=out)

    def backward(self, g):
        (out,) = self.saved_tensors
        ga, oa = g._array, out._array
        if not is_grad_enabled() and ga.dtype == oa.dtype and oa.dtype in (np.float32,
                                                                           np.float64):
            return _wrap(K.relu_backward(ga, oa))
        return g * (out > 0)
