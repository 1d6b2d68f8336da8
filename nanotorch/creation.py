"""Tensor factories: tensor, zeros/ones/full/empty, *_like, arange, linspace, eye, random."""
from __future__ import annotations

import numpy as np

from . import _dtype
from .random import rng
from .tensor import Tensor, _infer_array


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


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor copying ``data`` (dtype inferred as PyTorch does)."""
    return _finish(_infer_array(data, _dtype.to_dtype(dtype) if dtype else None), requires_grad)


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


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(np.zeros(_size(size), dtype=_dt(dtype).np), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.ones(_size(size), dtype=_dt(dtype).np), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(np.empty(_size(size), dtype=_dt(dtype).np), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = _dtype.result_type(fill_value)
    return _finish(np.full(_size((size,)), fill_value, dtype=_dt(dtype).np), requires_grad)


def _like(fn):
    def like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
        return fn(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


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


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dt(dtype)
    return _finish(np.linspace(float(start), float(end), int(steps)).astype(d.np), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    d = _dt(dtype)
    return _finish(np.logspace(start, end, steps, base=base).astype(d.np), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_dt(dtype).np), requires_grad)


# Random ---------------------------------------------------------------------------------
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    d = _dt(dtype)
    return _finish(rng(generator).random(_size(size), dtype=np.float64).astype(d.np), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    d = _dt(dtype)
    arr = rng(generator).standard_normal(_size(size),
                                         dtype=d.np if d.np in (np.float32, np.float64) else np.float64)
    return _finish(arr.astype(d.np, copy=False), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    d = _dt(dtype, _dtype.int64)
    return _finish(rng(generator).integers(low, high, _size((size,))).astype(d.np), requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    d = _dt(dtype, _dtype.int64)
    return _finish(rng(generator).permutation(int(n)).astype(d.np), requires_grad)


def rand_like(input, dtype=None, generator=None):
    return rand(input.shape, dtype=dtype or input.dtype, generator=generator)


def randn_like(input, dtype=None, generator=None):
    return randn(input.shape, dtype=dtype or input.dtype, generator=generator)


def randint_like(input, low, high=None, dtype=None):
    return randint(low, high, input.shape, dtype=dtype or input.dtype)


def normal(mean, std=1.0, size=None, generator=None):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._array if isinstance(mean, Tensor) else mean
        s = std._array if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        d = mean.dtype if isinstance(mean, Tensor) else std.dtype
        return Tensor._wrap((m + s * rng(generator).standard_normal(shape)).astype(d.np))
    return _finish((mean + std * rng(generator).standard_normal(_size((size,)))).astype(
        _dtype.get_default_dtype().np), False)


def bernoulli(input, p=None, generator=None):
    probs = input._array if p is None else np.full(input.shape, p)
    return Tensor._wrap((rng(generator).random(input.shape) < probs).astype(input.dtype.np))


def multinomial(input, num_samples, replacement=False, generator=None):
    probs = input._array.astype(np.float64)
    g = rng(generator)
    rows = probs.reshape(-1, probs.shape[-1])
    out = np.stack([g.choice(rows.shape[1], num_samples, replace=replacement, p=r / r.sum())
                    for r in rows])
    return Tensor._wrap(out.reshape(probs.shape[:-1] + (num_samples,)).astype(np.int64))


# In-place random fills (used by nn.init) ---------------------------------------------------
def _fill_random(self, arr):
    if self._check_inplace_allowed():
        raise RuntimeError("random in-place fills of tensors in a graph are not supported; "
                           "use them under no_grad()")
    np.copyto(self._array, arr, casting="unsafe")
    self._bump_version()
    return self


def _uniform_(self, a=0.0, b=1.0, generator=None):
    return _fill_random(self, rng(generator).uniform(a, b, self.shape))


def _normal_(self, mean=0.0, std=1.0, generator=None):
    return _fill_random(self, mean + std * rng(generator).standard_normal(self.shape))


def _bernoulli_(self, p=0.5, generator=None):
    return _fill_random(self, rng(generator).random(self.shape) < p)


def _random_(self, low=0, high=None, generator=None):
    if high is None:
        low, high = 0, low
    return _fill_random(self, rng(generator).integers(low, high, self.shape))


def _exponential_(self, lambd=1.0, generator=None):
    return _fill_random(self, rng(generator).exponential(1.0 / lambd, self.shape))


Tensor.uniform_ = _uniform_
Tensor.normal_ = _normal_
Tensor.bernoulli_ = _bernoulli_
Tensor.random_ = _random_
Tensor.exponential_ = _exponential_
