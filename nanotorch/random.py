"""PyTorch's CPU random streams, bit for bit.

``Generator`` is the 32-bit Mersenne Twister PyTorch's CPU generator runs, with its
bookkeeping (seed, ``left``/``next`` counters, the cached second Box-Muller normal) and its
5056-byte state layout, so ``get_state``/``set_state`` exchange states with
``torch.Generator``. The samplers below turn engine words into values with PyTorch's
transformations (24/53-bit uniforms, 16-element Box-Muller blocks, modulo integers, ...) and
draw in PyTorch's order, so ``manual_seed(s)`` followed by the same calls gives the same
numbers as ``torch``. They work on NumPy arrays; ``creation.py`` wraps them as tensors.
"""
from __future__ import annotations

import contextlib
import math
import os
import struct

import numpy as np

_N = 624
_STATE_BYTES = 5056
_DEFAULT_SEED = 67280421310721   # torch.Generator()'s seed
_MASK24 = (1 << 24) - 1
_MASK53 = (1 << 53) - 1


def _kernels():
    from .kernels import random as kernels  # Numba: compiled on first draw, not at import
    return kernels


def _seed_state(seed: int) -> np.ndarray:
    """Knuth's mt19937 initialisation from the low 32 bits of ``seed``."""
    words = [seed & 0xFFFFFFFF]
    for j in range(1, _N):
        prev = words[-1]
        words.append((1812433253 * (prev ^ (prev >> 30)) + j) & 0xFFFFFFFF)
    return np.array(words, dtype=np.uint32)


def _as_uint64_seed(seed) -> int:
    seed = int(seed)
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed & ((1 << 64) - 1)


class Generator:
    """A CPU random generator (``torch.Generator``): mt19937 seeded like PyTorch's."""

    def __init__(self, device="cpu"):
        from .tensor import device as _device
        self.device = device if isinstance(device, _device) else _device(device)
        if self.device.type != "cpu":
            raise RuntimeError(f"nanotorch only has CPU generators, got device '{device}'")
        self._state = np.empty(_N, dtype=np.uint32)
        self._pos = np.zeros(2, dtype=np.int64)      # PyTorch's (left, next)
        self.manual_seed(_DEFAULT_SEED)

    # -- seeding and state ----------------------------------------------------------
    def manual_seed(self, seed) -> Generator:
        """Reseed (negative seeds wrap to uint64, as PyTorch does); clears the normal cache."""
        self._seed = _as_uint64_seed(seed)
        self._state[:] = _seed_state(self._seed)
        self._pos[:] = (1, 0)
        self._next_double_normal = None
        self._next_float_normal = None
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        seed = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor in PyTorch's 5056-byte ``CPUGeneratorImplState`` layout."""
        from .tensor import Tensor
        double_cached = self._next_double_normal is not None
        float_cached = self._next_float_normal is not None
        raw = (struct.pack("<QiiQ", self._seed, int(self._pos[0]), 1, int(self._pos[1]))
               + self._state.astype("<u8").tobytes()
               + struct.pack("<dddi4x", 0.0, self._next_double_normal if double_cached else 0.0,
                             0.0, int(double_cached))
               + struct.pack("<f?3x", self._next_float_normal if float_cached else 0.0,
                             float_cached))
        return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state`` (ours or ``torch.Generator``'s)."""
        arr = getattr(new_state, "_array", None)
        if arr is None and hasattr(new_state, "numpy") and hasattr(new_state, "dtype"):
            arr = new_state.numpy()                  # a torch.ByteTensor
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if arr.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if arr.size != _STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but "
                               f"found the input RNG state size to be {arr.size}")
        raw = np.ascontiguousarray(arr).reshape(-1).tobytes()
        seed, left, seeded, nxt = struct.unpack_from("<QiiQ", raw, 0)
        if not (seeded == 1 and 0 < left <= _N and nxt <= _N):
            raise RuntimeError("Invalid mt19937 state")
        words = np.frombuffer(raw, dtype="<u8", count=_N, offset=24)
        _, normal_y, _, normal_valid = struct.unpack_from("<dddi", raw, 24 + 8 * _N)
        float_normal, float_valid = struct.unpack_from("<f?", raw, _STATE_BYTES - 8)
        self._seed = seed
        self._state[:] = (words & 0xFFFFFFFF).astype(np.uint32)
        self._pos[:] = (left, nxt)
        self._next_double_normal = normal_y if normal_valid else None
        self._next_float_normal = float_normal if float_valid else None
        return self

    # -- engine words ------------------------------------------------------------------
    def _random(self, n: int) -> np.ndarray:
        """The next ``n`` 32-bit engine outputs (PyTorch's ``random()``)."""
        out = np.empty(int(n), dtype=np.uint32)
        if out.size:
            _kernels().mt_fill(self._state, self._pos, out)
        return out

    def _random64(self, n: int) -> np.ndarray:
        """``n`` 64-bit words, each from two outputs, the first the high half (``random64()``)."""
        w = self._random(2 * n).astype(np.uint64)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    def _uniform01(self, n: int, dtype) -> np.ndarray:
        """[0, 1) uniforms: 24 random bits per float32 (one word), 53 per float64 (two)."""
        if np.dtype(dtype) == np.float32:
            bits = self._random(n) & np.uint32(_MASK24)
            return bits.astype(np.float32) * np.float32(2.0 ** -24)
        return (self._random64(n) & np.uint64(_MASK53)).astype(np.float64) * (2.0 ** -53)

    def _normal_scalar(self, mean: float, std: float) -> float:
        """One draw of PyTorch's scalar ``normal_distribution<double>`` (Box-Muller, the
        sine half cached for the next call)."""
        fma = _kernels().fma_scalar   # PyTorch's compiled ``z * std + mean`` is one FMA
        if self._next_double_normal is not None:
            z, self._next_double_normal = self._next_double_normal, None
            return fma(z, std, mean)
        u1, u2 = self._uniform01(2, np.float64).tolist()
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_double_normal = radius * math.sin(theta)
        return fma(radius * math.cos(theta), std, mean)

    def __repr__(self):
        return "<nanotorch._C.Generator object>"


default_generator = Generator()
def _gen(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a nanotorch.Generator, got "
                        f"{type(generator).__name__}")
    return generator


def manual_seed(seed) -> Generator:
    """Seed the global generator, which every sampler, layer initialisation, dropout mask,
    shuffling sampler and random transform draws from unless given a generator."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, **_ignored):
    """Restore the global generator's state on exit (``torch.random.fork_rng``, CPU)."""
    if not enabled:
        yield
        return
    saved = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(saved)


# ------------------------------------------------------------------ array samplers
# Each returns a new C-contiguous array of ``shape`` (or fills per PyTorch's order).

def _numel(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def uniform(shape, dtype=np.float32, low=0.0, high=1.0, generator=None) -> np.ndarray:
    """U(low, high): ``x * (high - low) + low`` on 24/53-bit uniforms in ``dtype``."""
    dtype = np.dtype(dtype)
    name = "float" if dtype == np.float32 else "double"
    limit = float(np.finfo(dtype).max)
    for label, v in (("from", low), ("to", high)):
        if not -limit <= v <= limit:
            raise RuntimeError(f"{label} is out of bounds for {name}")
    if high - low > limit:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{name}>::max(), "
                           f"but found to={high} and from={low} which result in to-from to "
                           f"exceed the limit")
    g = _gen(generator)
    work = np.float32 if dtype == np.float32 else np.float64
    x = g._uniform01(_numel(shape), work)
    lo, hi = work(low), work(high)
    if lo != 0 or hi != 1:
        _kernels().affine_(x, hi - lo, lo)
    return x.astype(dtype, copy=False).reshape(shape)


def normal(shape, dtype=np.float32, mean=0.0, std=1.0, generator=None,
           contiguous=True) -> np.ndarray:
    """N(mean, std^2) as PyTorch's CPU ``normal_`` draws it: blocks of 16 Box-Muller pairs
    for 16 or more contiguous elements (float32 with the AVX2 kernel's arithmetic),
    otherwise one cached scalar Box-Muller draw per element."""
    dtype = np.dtype(dtype)
    g = _gen(generator)
    n = _numel(shape)
    if n >= 16 and contiguous and dtype in (np.float32, np.float64):
        k = _kernels()
        data = g._uniform01(n, dtype)
        tail = g._uniform01(16, dtype) if n % 16 else np.empty(0, dtype)
        fill = k.normal_fill_f32 if dtype == np.float32 else k.normal_fill_f64
        fill(data, tail, dtype.type(mean), dtype.type(std))
        return data.reshape(shape)
    vals = [g._normal_scalar(float(mean), float(std)) for _ in range(n)]
    return np.array(vals, dtype=np.float64).astype(dtype).reshape(shape)


def integers(shape, low, high, dtype=np.int64, generator=None) -> np.ndarray:
    """Integers in [low, high): a 32-bit word modulo the range (a 64-bit one for ranges of
    2**32 or more), plus ``low``."""
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    span = high - low
    g = _gen(generator)
    n = _numel(shape)
    words = g._random64(n) if span >= 1 << 32 else g._random(n).astype(np.uint64)
    vals = (words % np.uint64(span)).astype(np.int64) + np.int64(low)
    return vals.astype(dtype).reshape(shape)


_RANDOM_BITS = {np.dtype(np.int64): (63, True), np.dtype(np.float64): (None, True),
                np.dtype(np.int32): (31, False), np.dtype(np.int16): (15, False),
                np.dtype(np.int8): (7, False), np.dtype(np.uint8): (8, False),
                np.dtype(np.float32): (None, False), np.dtype(np.float16): (None, False)}


def random_bits(shape, dtype=np.int64, generator=None) -> np.ndarray:
    """``Tensor.random_()`` without bounds: [0, 2**mantissa] for floats, [0, max] for ints."""
    dtype = np.dtype(dtype)
    g = _gen(generator)
    n = _numel(shape)
    if dtype == np.bool_:
        return (g._random(n) & np.uint32(1)).astype(np.bool_).reshape(shape)
    if dtype not in _RANDOM_BITS:
        raise RuntimeError(f"random_ is not implemented for {dtype}")
    bits, wide = _RANDOM_BITS[dtype]
    if bits is None:
        bits = np.finfo(dtype).nmant + 1
        modulus = (1 << bits) + 1
    else:
        modulus = 1 << bits
    words = g._random64(n) if wide else g._random(n).astype(np.uint64)
    return (words % np.uint64(modulus)).astype(dtype).reshape(shape)


def permutation(n: int, generator=None) -> np.ndarray:
    """``randperm(n)``: PyTorch's forward swap loop on 32-bit words (n < 2**32 / 20)."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    if n >= (2 ** 32 - 1) // 20:
        raise RuntimeError("randperm: n >= 2**32 / 20 is not supported")
    out = np.arange(n, dtype=np.int64)
    if n > 1:
        words = _gen(generator)._random(n - 1)
        _kernels().swap_shuffle(out, words)
    return out


def bernoulli_scalar(shape, p: float, dtype=np.float32, generator=None) -> np.ndarray:
    """``bernoulli_(p)`` for a float ``p``: one 53-bit uniform per element, ``u < p``.
    (PyTorch takes this path on non-Intel CPUs and builds without MKL; on Intel CPUs its
    MKL build uses an MKL stream instead.)"""
    u = _gen(generator)._uniform01(_numel(shape), np.float64)
    return (u < float(p)).astype(dtype).reshape(shape)


def bernoulli_tensor(p: np.ndarray, dtype=np.float32, generator=None) -> np.ndarray:
    """``bernoulli(p)`` for a probability array: float64 ``p`` compares with 53-bit
    uniforms, any other float dtype with 24-bit float32 uniforms."""
    p = np.ascontiguousarray(p)
    if p.dtype == np.float64:
        u = _gen(generator)._uniform01(p.size, np.float64)
    else:
        u = _gen(generator)._uniform01(p.size, np.float32)
        p = p.astype(np.float32)
    return (u < p.reshape(-1)).astype(dtype).reshape(p.shape)


def bernoulli_mask(shape, keep_prob: float, dtype=np.float32, generator=None) -> np.ndarray:
    """Dropout's scaled keep-mask as ``F.dropout(x, p, training=True)`` draws it on CPU
    (``keep_prob = 1 - p``): ``bernoulli_(keep_prob)`` on an empty tensor of ``dtype``, then
    divided by ``keep_prob`` in ``dtype``."""
    dtype = np.dtype(dtype)
    if keep_prob <= 0.0:
        return np.zeros(shape, dtype=dtype)
    mask = bernoulli_scalar(shape, keep_prob, dtype, generator)
    mask /= dtype.type(keep_prob)
    return mask


def _double_transform(name, shape, dtype, generator, *params) -> np.ndarray:
    u = _gen(generator)._uniform01(_numel(shape), np.float64)
    getattr(_kernels(), name)(u, *[float(p) for p in params])
    return u.astype(dtype).reshape(shape)


def exponential(shape, lambd=1.0, dtype=np.float32, generator=None) -> np.ndarray:
    """Exp(lambd) from 53-bit uniforms: ``-1/lambd * log1p(-u)``."""
    return _double_transform("exponential_", shape, dtype, generator, lambd)


def geometric(shape, p, dtype=np.float32, generator=None) -> np.ndarray:
    """Geometric(p) on {1, 2, ...}: ``ceil(log(u) / log1p(-p))``."""
    return _double_transform("geometric_", shape, dtype, generator, p)


def cauchy(shape, median=0.0, sigma=1.0, dtype=np.float32, generator=None) -> np.ndarray:
    """Cauchy(median, sigma): ``median + sigma * tan(pi * (u - 0.5))``."""
    return _double_transform("cauchy_", shape, dtype, generator, median, sigma)


def log_normal(shape, mean=1.0, std=2.0, dtype=np.float32, generator=None) -> np.ndarray:
    """exp(N(mean, std^2)), one scalar Box-Muller draw per element (sharing its cache)."""
    g = _gen(generator)
    vals = [math.exp(g._normal_scalar(float(mean), float(std))) for _ in range(_numel(shape))]
    return np.array(vals, dtype=np.float64).astype(dtype).reshape(shape)


def multinomial(rows: np.ndarray, num_samples: int, replacement: bool,
                generator=None) -> np.ndarray:
    """Category indices (int64, one row per row of the 2-D weight array ``rows``).
    Without replacement, or for one sample, PyTorch ranks ``w / Exp(1)`` draws (the
    exponential race); with replacement it searches each row's normalised cumulative sum
    with one 53-bit uniform per sample."""
    g = _gen(generator)
    if not replacement or num_samples == 1:
        race = rows / exponential(rows.shape, 1.0, rows.dtype, g)
        if num_samples == 1:
            return np.argmax(race, axis=1).reshape(-1, 1).astype(np.int64)
        return np.argsort(-race, axis=1, kind="stable")[:, :num_samples].astype(np.int64)
    cum = np.cumsum(rows, axis=1, dtype=rows.dtype)
    cum = cum / cum[:, -1:]
    cum[:, -1] = 1
    u = g._uniform01(rows.shape[0] * num_samples, np.float64).reshape(-1, num_samples)
    return np.stack([np.searchsorted(c.astype(np.float64), r, side="left")
                     for c, r in zip(cum, u)]).astype(np.int64)
