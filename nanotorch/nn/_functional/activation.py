"""Activation functions (``F.relu``, ``F.gelu``, ``F.softmax``...): argument checks and
PyTorch's messages in front of the ops in ``ops/activation.py``. ``sigmoid`` and ``tanh``
are ``nanotorch.sigmoid`` and ``nanotorch.tanh`` themselves."""
from __future__ import annotations

import math
import warnings

from ... import functions as _T
from ...ops import activation as A
from ._checks import check_float

sigmoid = _T.sigmoid
tanh = _T.tanh


def _maybe_inplace(input, inplace, fn):
    """``fn(input)`` out of place, or written back into ``input`` with in-place autograd
    rules."""
    if inplace:
        return input._apply_inplace(fn)
    return fn(input)


def relu(input, inplace=False):
    """max(input, 0); ``inplace`` uses ``input.relu_()``."""
    return input.relu_() if inplace else _T.relu(input)


def relu_(input):
    return input.relu_()


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to [min_val, max_val]; gradient 1 strictly inside, 0 elsewhere."""
    check_float(input, "input", "hardtanh")
    if min_val > max_val:
        raise ValueError(f"min_val cannot be greater than max_val, got min_val={min_val} and "
                         f"max_val={max_val}")
    return _maybe_inplace(input, inplace,
                          lambda t: A.Hardtanh.apply(t, min_val=min_val, max_val=max_val))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where positive, ``negative_slope * input`` elsewhere."""
    check_float(input, "input", "leaky_relu")
    slope = float(negative_slope)
    return _maybe_inplace(input, inplace, lambda t: A.LeakyRelu.apply(t, slope=slope))


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def _threshold(input, thr, value, inplace):
    return _maybe_inplace(input, inplace, lambda t: A.Threshold.apply(t, threshold=thr,
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


def gelu(input, approximate="none"):
    """Gaussian error linear unit, exact (``'none'``) or tanh-approximated."""
    check_float(input, "input", "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return A.Gelu.apply(input, approximate=approximate)


def silu(input, inplace=False):
    """x * sigmoid(x) (a.k.a. swish)."""
    check_float(input, "input", "silu")
    return _maybe_inplace(input, inplace, A.Silu.apply)


def elu(input, alpha=1.0, inplace=False):
    check_float(input, "input", "elu")
    return _maybe_inplace(input, inplace,
                          lambda t: A.Elu.apply(t, alpha=alpha, scale=1.0, input_scale=1.0))


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    check_float(input, "input", "selu")
    return _maybe_inplace(input, inplace, lambda t: A.Elu.apply(
        t, alpha=A.SELU_ALPHA, scale=A.SELU_SCALE, input_scale=1.0))


def celu(input, alpha=1.0, inplace=False):
    check_float(input, "input", "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, inplace, lambda t: A.Celu.apply(
        t, alpha=alpha, scale=1.0, input_scale=1.0 / alpha))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, linear where ``beta * x > threshold``."""
    check_float(input, "input", "softplus")
    return A.Softplus.apply(input, beta=beta, threshold=threshold)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    check_float(input, "input", "hardswish")
    return _maybe_inplace(input, inplace, A.Hardswish.apply)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    check_float(input, "input", "hardsigmoid")
    return _maybe_inplace(input, inplace, A.Hardsigmoid.apply)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    check_float(input, "input", "mish")
    return _maybe_inplace(input, inplace, A.Mish.apply)


def logsigmoid(input):
    """log(sigmoid(x)), computed stably."""
    check_float(input, "input", "logsigmoid")
    return -A.Softplus.apply(-input, beta=1.0, threshold=math.inf)


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
    return a * b.sigmoid()


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
