"""kernels.gemm.matmul must equal np.matmul in each of its regimes (one thread, split
across workers, BLAS's own threads), for plain, transposed and batched operands."""
import numba
import numpy as np
import pytest

from nanotorch.kernels import gemm

REGIMES = {  # (_MIN_WORK, _BIG_WORK)
    "single": (1 << 62, 1 << 63),
    "split": (0, 1 << 62),
    "blas_threads": (0, 0),
}


def _operands(rng, dtype):
    a = rng.standard_normal((37, 23)).astype(dtype)
    b = rng.standard_normal((23, 19)).astype(dtype)
    w = rng.standard_normal((19, 23)).astype(dtype)
    yield a, b
    yield a, w.T                                  # F-ordered right operand (Linear forward)
    yield a.T[:, :17], a[:17, :5]                 # transposed, sliced left operand
    yield (rng.standard_normal((5, 7, 6)).astype(dtype),
           rng.standard_normal((5, 6, 4)).astype(dtype))           # equal batch shapes
    yield (rng.standard_normal((2, 3, 7, 6)).astype(dtype),
           rng.standard_normal((3, 6, 4)).astype(dtype))           # broadcast batch: numpy
    yield rng.standard_normal(6).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    yield np.ones((0, 4), dtype), np.ones((4, 3), dtype)           # empty


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_numpy(monkeypatch, regime, dtype, threads):
    lo, hi = REGIMES[regime]
    monkeypatch.setattr(gemm, "_MIN_WORK", lo)
    monkeypatch.setattr(gemm, "_BIG_WORK", hi)
    monkeypatch.setattr(gemm, "_MIN_ROWS", 1)
    prev = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        rng = np.random.default_rng(0)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        for a, b in _operands(rng, dtype):
            expected = np.matmul(a, b)
            got = gemm.matmul(a, b)
            assert got.shape == expected.shape and got.dtype == expected.dtype
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
            out = np.empty_like(expected)
            assert gemm.matmul(a, b, out=out) is out
            np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    finally:
        numba.set_num_threads(prev)


def test_shape_errors_come_from_numpy():
    with pytest.raises(ValueError):
        gemm.matmul(np.ones((3, 4)), np.ones((5, 2)))
