"""Accuracy of the vectorisable math helpers in kernels/_math.py (exp, erfc,
log1p on [0, 1]) against libm / extended precision, and the window-span helpers
against a brute-force count. No torch needed."""
import math

import numpy as np
import pytest
from numba import njit

from nanotorch.kernels import _math as M

DTYPES = [np.float32, np.float64]


@njit
def _map_vexp(x, out):
    for i in range(x.size):
        out[i] = M.vexp(x[i])


@njit
def _map_verfc(z, out):
    for i in range(z.size):
        out[i] = M.verfc(z[i])


@njit
def _map_vlog1p(e, out):
    for i in range(e.size):
        out[i] = M.vlog1p_unit(e[i])


@pytest.mark.parametrize("dt,lo,hi", [(np.float32, -87.0, 88.7), (np.float64, -708.0, 709.7)])
def test_vexp_accuracy(dt, lo, hi):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(lo, hi, 200_000), np.linspace(-2, 2, 10_001)]).astype(dt)
    out = np.empty_like(x)
    _map_vexp(x, out)
    ref = np.exp(x.astype(np.longdouble))
    rel = np.abs((out - ref) / ref).astype(np.float64)
    assert rel.max() <= 2 * np.finfo(dt).eps


@pytest.mark.parametrize("dt", DTYPES)
def test_vexp_special_values(dt):
    big = 89.0 if dt == np.float32 else 710.0
    tiny = -100.0 if dt == np.float32 else -740.0   # subnormal results
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, big, -2 * big, tiny], dtype=dt)
    out = np.empty_like(x)
    _map_vexp(x, out)
    with np.errstate(over="ignore"):
        ref = np.exp(x)
    np.testing.assert_array_equal(out[:-1], ref[:-1])
    assert abs(out[-1] - ref[-1]) <= 2 * np.finfo(dt).smallest_subnormal


def test_verfc_float32_fit_and_float64_libm():
    z = np.concatenate([np.linspace(0, 9.2, 40_001), [9.5, 30.0, np.inf]])
    ref = np.array([math.erfc(v) for v in z.astype(np.float32).astype(np.float64)])
    out = np.empty(z.size, np.float32)
    _map_verfc(z.astype(np.float32), out)
    normal = ref > np.finfo(np.float32).tiny
    rel = np.abs(out[normal] - ref[normal]) / ref[normal]
    assert rel.max() < 4 * np.finfo(np.float32).eps
    assert np.all(out[-2:] == 0.0)
    _map_verfc(-z[:-3].astype(np.float32), out[:-3])       # erfc(-a) = 2 - erfc(a)
    np.testing.assert_allclose(out[:-3], 2.0 - ref[:-3], rtol=0, atol=4e-7)
    out64 = np.empty(z.size)
    _map_verfc(z, out64)                                   # float64: libm
    np.testing.assert_array_equal(out64, [math.erfc(v) for v in z])


def test_vlog1p_unit():
    e = np.concatenate([np.linspace(0, 1, 10_001), np.geomspace(1e-300, 1, 1000)])
    out = np.empty_like(e)
    _map_vlog1p(e, out)
    np.testing.assert_allclose(out, np.log1p(e), rtol=6e-16, atol=0)


@njit
def _spans(off, s, size, n):
    return M.first_in_bounds(off, s), M.in_bounds_span(off, s, size, n)


def test_window_spans_match_brute_force():
    for off in range(-9, 10):
        for s in range(1, 5):
            for size in range(0, 8):
                for n in range(0, 8):
                    inside = [i for i in range(n) if 0 <= off + i * s < size]
                    first, (lo, hi) = _spans(off, s, size, n)
                    assert first == min(i for i in range(20) if off + i * s >= 0)
                    assert lo <= hi
                    assert list(range(lo, hi)) == inside, (off, s, size, n)
