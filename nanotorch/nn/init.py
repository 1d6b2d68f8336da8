"""Parameter initialisation (``torch.nn.init``). Every function fills its tensor in place
under ``no_grad`` from the global generator (or ``generator``) and returns it."""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..random import rng

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


def _std_normal_truncated(n, lo, hi, g):
    """n draws of a standard normal restricted to [lo, hi] (exact rejection sampling)."""
    mass = 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))
    out = np.empty(n)
    filled = 0
    if mass > 0.05:  # plain normal proposals
        while filled < n:
            z = g.standard_normal(int((n - filled) / mass * 1.1) + 16)
            z = z[(z >= lo) & (z <= hi)][: n - filled]
            out[filled:filled + z.size] = z
            filled += z.size
        return out
    # the interval lies in a tail (or is narrow): sample it on the side of 0 it covers,
    # with a uniform proposal (narrow) or Robert's exponential proposal (wide)
    flip = hi <= 0
    a, b = (-hi, -lo) if flip else (lo, hi)
    m = max(a, 0.0)  # point of [a, b] nearest to 0
    lam = (m + math.sqrt(m * m + 4)) / 2
    use_exp = a > 0 and (b - a) > 1.0 / lam
    while filled < n:
        k = max(n - filled, 16)
        if use_exp:
            z = m + g.exponential(1.0 / lam, 2 * k)
            keep = (z <= b) & (g.random(2 * k) <= np.exp(-0.5 * (z - lam) ** 2))
        else:
            z = g.uniform(a, b, 2 * k)
            keep = g.random(2 * k) <= np.exp(0.5 * (m * m - z * z))
        z = z[keep][: n - filled]
        out[filled:filled + z.size] = z
        filled += z.size
    return -out if flip else out


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill from N(mean, std^2) restricted to [a, b] (absolute bounds)."""
    if std <= 0:
        raise ValueError(f"trunc_normal_ needs std > 0, got {std}")
    if a > b:
        raise ValueError(f"trunc_normal_ needs a <= b, got a={a}, b={b}")
    with no_grad():
        lo, hi = (a - mean) / std, (b - mean) / std
        z = _std_normal_truncated(tensor.numel(), lo, hi, rng(generator))
        vals = np.clip(mean + std * z, a, b).reshape(tensor.shape)
        np.copyto(tensor._array, vals, casting="unsafe")
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
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
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
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
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
    m = rng(generator).standard_normal((rows, cols))
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
    g = rng(generator)
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        for c in range(cols):
            tensor._array[g.permutation(rows)[:n_zero], c] = 0
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
