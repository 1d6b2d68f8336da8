"""Activation functions (``F.relu``, ``F.gelu``, ``F.softmax``...).

When the backward runs without grad mode (the usual case) the ops work on arrays, with a
fused Numba kernel or in-place NumPy passes, whichever measured faster; under
``create_graph`` they use Tensor formulas, so double backward works."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import functions as _T
from ...autograd.function import Op
from ...autograd.grad_mode import is_grad_enabled
from ...kernels import activation as K
from ...tensor import Tensor

_SQRT1_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_PI = 0.7978845608028654
_GELU_C = 0.044715
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _kernel(fn, *arrays, **params):
    """Run a float32/float64 kernel in the dtype of the last array (the op's input or
    output); other float dtypes go through float32."""
    dt = arrays[-1].dtype
    if dt in (np.float32, np.float64):
        return fn(*[a.astype(dt, copy=False) for a in arrays], **params)
    out = fn(*[a.astype(np.float32) for a in arrays], **params)
    return out.astype(dt)


def _check_float(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if not input.is_floating_point():
        raise RuntimeError(f"{name}(): expected a floating point input, got {input.dtype}")


def _const(arr):
    return Tensor._wrap(arr)


def _maybe_inplace(input, inplace, fn):
    """``fn(input)`` out of place, or written back into ``input`` with in-place autograd
    rules."""
    if inplace:
        return input._apply_inplace(lambda s: fn(s))
    return fn(input)


# erf (only needed by GELU's double backward) ------------------------------------------
_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


class _Erf(Op, backward_name="ErfBackward0"):
    def forward(self, x):
        self.save_inputs(0)
        return _erf_ufunc(x).astype(x.dtype)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * ((-(x * x)).exp() * (2.0 / math.sqrt(math.pi)))


# ReLU family ---------------------------------------------------------------------------
def relu(input, inplace=False):
    """max(input, 0); ``inplace`` uses ``input.relu_()``."""
    return input.relu_() if inplace else _T.relu(input)


def relu_(input):
    return input.relu_()


class _Hardtanh(Op, backward_name="HardtanhBackward0"):
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
            return g * _const(((a > lo) & (a < hi)).astype(a.dtype))
        return _const(_kernel(K.hardtanh_backward, g._array, x._array, min_val=lo, max_val=hi))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to [min_val, max_val]; gradient 1 strictly inside, 0 elsewhere."""
    _check_float(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"min_val cannot be greater than max_val, got min_val={min_val} and "
                         f"max_val={max_val}")
    return _maybe_inplace(input, inplace,
                          lambda t: _Hardtanh.apply(t, min_val=min_val, max_val=max_val))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


class _LeakyRelu(Op, backward_name="LeakyReluBackward0"):
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
            return g * _const(np.where(a > 0, 1.0, self.slope).astype(a.dtype))
        return _const(_kernel(K.leaky_relu_backward, g._array, x._array,
                              negative_slope=self.slope))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where positive, ``negative_slope * input`` elsewhere."""
    _check_float(input, "leaky_relu")
    slope = float(negative_slope)
    return _maybe_inplace(input, inplace, lambda t: _LeakyRelu.apply(t, slope=slope))


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


class _Threshold(Op, backward_name="ThresholdBackward0"):
    def forward(self, x, threshold, value):
        self.keep = x > threshold
        return np.where(self.keep, x, np.asarray(value, dtype=x.dtype))

    def backward(self, g):
        return g * _const(self.keep)

    def _release_extra(self):
        self.keep = None


def _threshold(input, thr, value, inplace):
    return _maybe_inplace(input, inplace, lambda t: _Threshold.apply(t, threshold=thr,
                                                                     value=value))


def threshold(input, threshold, value, inplace=False):
    """input where ``input > threshold``, else ``value``."""
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, True)


def prelu(input, weight):
    """Leaky ReLU with a learnable slope: one per channel (dim 1) or one shared."""
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        if input.ndim >= 2:
            weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    else:
        weight = weight.reshape(())
    return _T.where(input > 0, input, weight * input)


# Smooth activations --------------------------------------------------------------------
def _gelu_grad(x, approximate):
    """d gelu / dx as differentiable Tensor ops."""
    if approximate == "tanh":
        x2 = x * x
        t = ((x + x2 * x * _GELU_C) * _SQRT_2_PI).tanh()
        dinner = (x2 * (3.0 * _GELU_C) + 1.0) * _SQRT_2_PI
        return (t + 1.0) * 0.5 + x * (1.0 - t * t) * dinner * 0.5
    cdf = (_Erf.apply(x * _SQRT1_2) + 1.0) * 0.5
    pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
    return cdf + x * pdf


def _sigmoid_np(x):
    out = np.negative(x)
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


class _Gelu(Op, backward_name="GeluBackward0"):
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
            return _const(_gelu_tanh_grad_np(ga.astype(xa.dtype, copy=False), xa))
        return _const(_kernel(K.gelu_backward, ga, xa, approximate=self.approximate))


def gelu(input, approximate="none"):
    """Gaussian error linear unit, exact (``'none'``) or tanh-approximated."""
    _check_float(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return _Gelu.apply(input, approximate=approximate)


class _Silu(Op, backward_name="SiluBackward0"):
    # NumPy passes: faster here than the scalar-exp kernel (see _Gelu)
    def forward(self, x):
        self.save_inputs(0)
        out = np.negative(x)
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
        return _const(out)


def silu(input, inplace=False):
    """x * sigmoid(x) (a.k.a. swish)."""
    _check_float(input, "silu")
    return _maybe_inplace(input, inplace, _Silu.apply)


class _Sigmoid(Op, backward_name="SigmoidBackward0"):
    def forward(self, x):
        self.save_output()
        return _sigmoid_np(x)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():
            return g * y * (1.0 - y)
        return _const(_kernel(K.sigmoid_backward, g._array, y._array))


def sigmoid(input):
    """1 / (1 + exp(-input))."""
    if not input.is_floating_point():
        return _T.sigmoid(input)
    return _Sigmoid.apply(input)


class _Tanh(Op, backward_name="TanhBackward0"):
    def forward(self, x):
        self.save_output()
        return np.tanh(x)

    def backward(self, g):
        (y,) = self.saved_tensors
        if is_grad_enabled():
            return g * (1.0 - y * y)
        return _const(_kernel(K.tanh_backward, g._array, y._array))


def tanh(input):
    if not input.is_floating_point():
        return _T.tanh(input)
    return _Tanh.apply(input)


class _Elu(Op, backward_name="EluBackward0"):
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
            return g * _T.where(x > 0, scale, neg)
        xa = x._array
        d = np.minimum(xa, 0)
        if input_scale != 1:
            d *= input_scale
        np.exp(d, out=d)
        d *= alpha * scale * input_scale
        d[xa > 0] = scale
        d *= g._array
        return _const(d)


class _Celu(_Elu, backward_name="CeluBackward0"):
    pass


def elu(input, alpha=1.0, inplace=False):
    _check_float(input, "elu")
    return _maybe_inplace(input, inplace,
                          lambda t: _Elu.apply(t, alpha=alpha, scale=1.0, input_scale=1.0))


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    _check_float(input, "selu")
    return _maybe_inplace(input, inplace, lambda t: _Elu.apply(
        t, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0))


def celu(input, alpha=1.0, inplace=False):
    _check_float(input, "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, inplace, lambda t: _Celu.apply(
        t, alpha=alpha, scale=1.0, input_scale=1.0 / alpha))


class _Softplus(Op, backward_name="SoftplusBackward0"):
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


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, linear where ``beta * x > threshold``."""
    _check_float(input, "softplus")
    return _Softplus.apply(input, beta=beta, threshold=threshold)


class _Hardswish(Op, backward_name="HardswishBackward0"):
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
        return _const(d)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    _check_float(input, "hardswish")
    return _maybe_inplace(input, inplace, _Hardswish.apply)


class _Hardsigmoid(Op, backward_name="HardsigmoidBackward0"):
    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        dt = x.dtype
        r = np.clip(x + np.asarray(3, dt), 0, 6)
        r /= np.asarray(6, dt)
        return r

    def backward(self, g):
        return g * _const(self.inside.astype(g._array.dtype) / 6.0)

    def _release_extra(self):
        self.inside = None


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    _check_float(input, "hardsigmoid")
    return _maybe_inplace(input, inplace, _Hardsigmoid.apply)


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


class _Mish(Op, backward_name="MishBackward0"):
    def forward(self, x):
        self.save_inputs(0)
        t, _ = _mish_parts(x)
        t *= x
        return t

    def backward(self, g):
        (x,) = self.saved_tensors
        if is_grad_enabled():
            t = softplus(x).tanh()
            return g * (t + x * x.sigmoid() * (1.0 - t * t))
        xa = x._array
        t, sig = _mish_parts(xa)
        out = t * t
        np.subtract(1, out, out=out)
        out *= sig
        out *= xa
        out += t
        out *= g._array
        return _const(out)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    _check_float(input, "mish")
    return _maybe_inplace(input, inplace, _Mish.apply)


def logsigmoid(input):
    """log(sigmoid(x)), computed stably."""
    _check_float(input, "logsigmoid")
    return -_Softplus.apply(-input, beta=1.0, threshold=math.inf)


def softsign(input):
    return input / (input.abs() + 1.0)


def tanhshrink(input):
    return input - input.tanh()


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _T.where(input > lambd, input - lambd, _T.where(input < -lambd, input + lambd, 0.0))


def hardshrink(input, lambd=0.5):
    return _T.where(input.abs() > lambd, input, 0.0)


def glu(input, dim=-1):
    """First half of ``input`` along ``dim`` times the sigmoid of the second half."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = input._dim(dim)
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{input.shape[d]}")
    a, b = input.chunk(2, d)
    return a * sigmoid(b)


# Softmax family ------------------------------------------------------------------------
def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return _T.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return _T.log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return _T.softmax(-input, dim)
