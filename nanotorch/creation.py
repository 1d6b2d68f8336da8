"""Tensor factories: tensor, zeros/ones/full/empty, *_like, arange, linspace, eye, random."""
from __future__ import annotations

import functools

import numpy as np

from . import _bfloat16, _dtype, random
from .tensor import Tensor, _infer_array, _require_cpu


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = tuple(int(s) for s in size)
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(out)}")
    return out


def _finish(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def _dt(dtype, default=None):
    if dtype is None:
        return default or _dtype.get_default_dtype()
    return _dtype.to_dtype(dtype)


def _filled(shape, value, d):
    if d is _dtype.bfloat16:  # NumPy would store ``value`` as the raw bits
        return _bfloat16.cast(np.full(shape, value, dtype=np.float32), d.np)
    return np.full(shape, value, dtype=d.np)


def _cpu_only(fn):
    """``fn`` refusing a non-CPU ``device=`` with the error ``Tensor.to`` gives, instead of
    silently creating a CPU tensor."""
    @functools.wraps(fn)
    def create(*args, **kwargs):
        dev = kwargs.get("device")
        if dev is not None:
            _require_cpu(dev)
        return fn(*args, **kwargs)
    return create


@_cpu_only
def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor copying ``data`` (dtype inferred as PyTorch does)."""
    return _finish(_infer_array(data, _dtype.to_dtype(dtype) if dtype else None), requires_grad)


@_cpu_only
def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and (dtype is None or _dtype.to_dtype(dtype) is data.dtype):
        return data
    if isinstance(data, np.ndarray) and dtype is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    return Tensor._wrap(array)


@_cpu_only
def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(np.zeros(_size(size), dtype=_dt(dtype).np), requires_grad)


@_cpu_only
def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(_filled(_size(size), 1, _dt(dtype)), requires_grad)


@_cpu_only
def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(np.empty(_size(size), dtype=_dt(dtype).np), requires_grad)


@_cpu_only
def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = _dtype.result_type(fill_value)
    return _finish(_filled(_size((size,)), fill_value, _dt(dtype)), requires_grad)


def _like(fn):
    def like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
        return fn(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _cpu_only(_like(zeros))
ones_like = _cpu_only(_like(ones))
empty_like = _cpu_only(_like(empty))


@_cpu_only
def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


@_cpu_only
def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(f"upper bound and larger bound inconsistent with step sign "
                           f"(start={vals[0]}, end={vals[1]}, step={vals[2]})")
    if dtype is None:
        dtype = (_dtype.int64 if all(isinstance(v, (int, np.integer)) for v in vals)
                 else _dtype.get_default_dtype())
    d = _dtype.to_dtype(dtype)
    n = max(int(np.ceil((vals[1] - vals[0]) / vals[2])), 0)
    # computed in float64 then cast, like PyTorch's start + i * step
    arr = (vals[0] + np.arange(n, dtype=np.float64) * vals[2]) if d.is_floating_point else \
        np.arange(vals[0], vals[1], vals[2])
    return _finish(arr.astype(d.np), requires_grad)


@_cpu_only
def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dt(dtype)
    return _finish(np.linspace(float(start), float(end), int(steps)).astype(d.np), requires_grad)


@_cpu_only
def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    d = _dt(dtype)
    return _finish(np.logspace(start, end, steps, base=base).astype(d.np), requires_grad)


@_cpu_only
def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_dt(dtype).np), requires_grad)


# Random ---------------------------------------------------------------------------------
# Values come from ``random``'s samplers, which reproduce PyTorch's CPU streams.

def _float_dt(dtype, what):
    d = _dt(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"\"{what}\" not implemented for '{d}'")
    return d


@_cpu_only
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    d = _float_dt(dtype, "check_uniform_bounds")
    return _finish(random.uniform(_size(size), d.np, generator=generator), requires_grad)


@_cpu_only
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    d = _float_dt(dtype, "normal_kernel_cpu")
    return _finish(random.normal(_size(size), d.np, generator=generator), requires_grad)


@_cpu_only
def randint(low, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    d = _dt(dtype, _dtype.int64)
    return _finish(random.integers(_size((size,)), low, high, d.np, generator), requires_grad)


@_cpu_only
def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    d = _dt(dtype, _dtype.int64)
    return _finish(random.permutation(n, generator).astype(d.np), requires_grad)


@_cpu_only
def rand_like(input, dtype=None, generator=None, device=None, requires_grad=False,
              memory_format=None):
    return rand(input.shape, dtype=dtype or input.dtype, generator=generator,
                requires_grad=requires_grad)


@_cpu_only
def randn_like(input, dtype=None, generator=None, device=None, requires_grad=False,
               memory_format=None):
    return randn(input.shape, dtype=dtype or input.dtype, generator=generator,
                 requires_grad=requires_grad)


@_cpu_only
def randint_like(input, low, high=None, dtype=None, generator=None, device=None,
                 requires_grad=False, memory_format=None):
    return randint(low, high, input.shape, dtype=dtype or input.dtype, generator=generator,
                   requires_grad=requires_grad)


def _array(x):
    return x._array if isinstance(x, Tensor) else x


def normal(mean, std=1.0, size=None, generator=None, dtype=None, out=None, requires_grad=False):
    """``torch.normal``: (float, float, size), or tensor mean and/or std. The tensor forms
    draw N(0, 1) into the broadcast shape and scale it, as PyTorch's CPU kernel does."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise RuntimeError("normal(): size is only for the (float mean, float std) form")
        m, s = _array(mean), _array(std)
        if isinstance(std, Tensor) and np.any(s < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        d = ref.dtype.np
        if isinstance(std, Tensor):   # PyTorch: normal_(0, 1), then mul_(std), add_(mean)
            z = random.normal(shape, d, 0.0, 1.0, generator) * np.asarray(s, d)
        else:                         # PyTorch: normal_(0, std), then add_(mean)
            z = random.normal(shape, d, 0.0, float(s), generator)
        return Tensor._wrap((z + np.asarray(m, d)).astype(d, copy=False))
    if size is None:
        raise TypeError("normal() missing required argument 'size'")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    d = _float_dt(dtype, "normal_kernel_cpu")
    return _finish(random.normal(_size((size,)), d.np, mean, std, generator), requires_grad)


def bernoulli(input, p=None, generator=None):
    """Each element 1 with probability ``input`` (or the scalar ``p``), else 0."""
    if p is not None:
        return Tensor._wrap(random.bernoulli_scalar(input.shape, p, input.dtype.np, generator))
    probs = input._array
    if probs.size and (np.any(probs < 0) or np.any(probs > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    return Tensor._wrap(random.bernoulli_tensor(probs, input.dtype.np, generator))


def multinomial(input, num_samples, replacement=False, generator=None):
    """Category indices drawn from the rows of ``input`` (unnormalised weights)."""
    probs = input._array
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    n_cat = probs.shape[-1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = probs.reshape(-1, n_cat)
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    out = random.multinomial(rows, int(num_samples), bool(replacement), generator)
    return Tensor._wrap(out.reshape(probs.shape[:-1] + (int(num_samples),)))


# In-place random fills (``Tensor.uniform_`` ...) -----------------------------------------
def _fill_random(self, arr):
    if self._check_inplace_allowed():
        raise RuntimeError("random in-place fills of tensors in a graph are not supported; "
                           "use them under no_grad()")
    np.copyto(self._array, arr.reshape(self.shape), casting="unsafe")
    self._bump_version()
    return self


def _floating(self, name):
    if not self.is_floating_point():
        raise RuntimeError(f"{name} not implemented for '{self.dtype}'")


def _uniform_(self, a=0.0, b=1.0, generator=None):
    _floating(self, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} "
                           f"> to={b}")
    return _fill_random(self, random.uniform(self.shape, self.dtype.np, a, b, generator))


def _normal_(self, mean=0.0, std=1.0, generator=None):
    _floating(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    vals = random.normal(self.shape, self.dtype.np, mean, std, generator,
                         contiguous=self._array.flags.c_contiguous)
    return _fill_random(self, vals)


def _bernoulli_(self, p=0.5, generator=None):
    if isinstance(p, Tensor):
        probs = np.broadcast_to(p._array, self.shape)
        return _fill_random(self, random.bernoulli_tensor(probs, self.dtype.np, generator))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill_random(self, random.bernoulli_scalar(self.shape, p, self.dtype.np, generator))


def _random_(self, low=0, high=None, generator=None):
    if high is None and low == 0:
        return _fill_random(self, random.random_bits(self.shape, self.dtype.np, generator))
    if high is None:
        low, high = 0, low
    return _fill_random(self, random.integers(self.shape, low, high, self.dtype.np, generator))


def _exponential_(self, lambd=1.0, generator=None):
    _floating(self, "exponential_cpu")
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill_random(self, random.exponential(self.shape, lambd, self.dtype.np, generator))


def _geometric_(self, p, generator=None):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill_random(self, random.geometric(self.shape, p, self.dtype.np, generator))


def _log_normal_(self, mean=1.0, std=2.0, generator=None):
    _floating(self, "log_normal_cpu")
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill_random(self, random.log_normal(self.shape, mean, std, self.dtype.np, generator))


def _cauchy_(self, median=0.0, sigma=1.0, generator=None):
    _floating(self, "cauchy_cpu")
    return _fill_random(self, random.cauchy(self.shape, median, sigma, self.dtype.np, generator))


Tensor.uniform_ = _uniform_
Tensor.normal_ = _normal_
Tensor.bernoulli_ = _bernoulli_
Tensor.random_ = _random_
Tensor.exponential_ = _exponential_
Tensor.geometric_ = _geometric_
Tensor.log_normal_ = _log_normal_
Tensor.cauchy_ = _cauchy_

