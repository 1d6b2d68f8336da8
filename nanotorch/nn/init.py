"""Parameter initialisation (``torch.nn.init``). Every function fills its tensor in place
under ``no_grad`` from the global generator (or ``generator``) and returns it."""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import random
from ..autograd.grad_mode import no_grad

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended std scale for a nonlinearity (used by xavier/kaiming)."""
    if nonlinearity in _LINEAR_LIKE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {list(tensor.shape)})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _no_op_for_empty(tensor):
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill from U(a, b)."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill from N(mean, std^2)."""
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill from N(mean, std^2) restricted to [a, b] (absolute bounds), by PyTorch's
    rejection sampling, so the draws match torch's for the same seed: normal proposals
    redrawn (whole tensor) where out of bounds when [a, b] holds over 30% of the mass,
    otherwise uniform proposals on [a, b] accepted against the density's peak."""
    if std <= 0:
        raise ValueError(f"trunc_normal_ needs std > 0, got {std}")
    if a > b:
        raise ValueError(f"trunc_normal_ needs a <= b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    shape, dt = tuple(tensor.shape), tensor._array.dtype
    with no_grad():
        if _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std) > 0.3:
            lo, hi = float(dt.type(a)), float(dt.type(b))
            result = random.normal(shape, dt, mean, std, generator)
            while True:
                out = (result < lo) | (result > hi)
                if not out.any():
                    break
                result = np.where(out, random.normal(shape, dt, mean, std, generator), result)
        else:
            mode = max(a, min(mean, b))
            log_peak = -0.5 * ((mode - mean) / std) ** 2

            def log_density(x):   # in the tensor's dtype, op by op as torch's in-place chain
                z = (x - dt.type(mean)) / dt.type(std)
                return z * z * dt.type(-0.5) - dt.type(log_peak)

            def rejected(candidates):
                with np.errstate(divide="ignore"):
                    return np.log(random.uniform(shape, dt, generator=generator)) > \
                        log_density(candidates)

            result = random.uniform(shape, dt, a, b, generator)
            pending = rejected(result)
            while pending.any():
                candidates = random.uniform(shape, dt, a, b, generator)
                result = np.where(pending, candidates, result)
                pending = np.where(pending, rejected(candidates), pending)
        np.copyto(tensor._array, result, casting="unsafe")
        tensor._bump_version()
    return tensor


def constant_(tensor, val):
    """Fill with ``val``."""
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    """The identity matrix (2-D tensors only)."""
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got shape "
                         f"{list(tensor.shape)})")
    with no_grad():
        np.copyto(tensor._array, np.eye(*tensor.shape), casting="unsafe")
        tensor._bump_version()
    return tensor


def dirac_(tensor, groups=1):
    """Conv weights (3-5 D) that pass the input through: a 1 at each kernel's centre."""
    d = tensor.ndim
    if d not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported (got shape "
                         f"{list(tensor.shape)})")
    out_ch = tensor.shape[0]
    if out_ch % groups:
        raise ValueError(f"dim 0 ({out_ch}) must be divisible by groups ({groups})")
    per_group = out_ch // groups
    n = min(per_group, tensor.shape[1])
    with no_grad():
        arr = tensor._array
        arr[...] = 0
        centre = tuple(s // 2 for s in tensor.shape[2:])
        for g in range(groups):
            for i in range(n):
                arr[(g * per_group + i, i) + centre] = 1
        tensor._bump_version()
    return tensor


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std   # PyTorch's rounding order (the bound goes to float32)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    if _no_op_for_empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std   # PyTorch's rounding order
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if _no_op_for_empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix (the tensor is viewed as ``(shape[0], -1)``), scaled by
    ``gain``."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported (got shape "
                         f"{list(tensor.shape)})")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    m = random.normal((rows, cols), tensor._array.dtype, 0.0, 1.0, generator)
    if rows < cols:
        m = m.T
    q, r = np.linalg.qr(m)
    q *= np.sign(np.diag(r))  # makes the result uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    with no_grad():
        np.copyto(tensor._array, (gain * q).reshape(tensor.shape), casting="unsafe")
        tensor._bump_version()
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """N(0, std^2) with a fraction ``sparsity`` of each column set to zero (2-D only)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    n_zero = int(math.ceil(sparsity * rows))
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        for c in range(cols):   # PyTorch 2.13 permutes with the global generator here
            tensor._array[random.permutation(rows)[:n_zero], c] = 0
    return tensor


# Deprecated aliases without the trailing underscore, as PyTorch still provides them.
def _deprecated(fn):
    def alias(*args, **kwargs):
        warnings.warn(f"nn.init.{fn.__name__[:-1]} is now deprecated in favor of "
                      f"nn.init.{fn.__name__}.", FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)
    alias.__name__ = fn.__name__[:-1]
    return alias


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]
