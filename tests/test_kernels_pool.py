"""Parity of nanotorch.kernels.pool with torch.nn.functional pooling (values and gradients)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nanotorch.kernels.pool import (  # noqa: E402
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-5)}
DTYPES = [np.float64, np.float32]


def data(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def torch_grad(fn, x, gy_shape_fn, seed=1):
    """Forward with torch, backward with a random grad; returns (y, grad_y, grad_x)."""
    tx = torch.tensor(x, requires_grad=True)
    ty = fn(tx)
    y = ty[0] if isinstance(ty, tuple) else ty
    gy = data(tuple(y.shape), x.dtype, seed)
    y.backward(torch.tensor(gy))
    return ty, gy, tx.grad.numpy()


# ---------------------------------------------------------------- max pool

# input shape, kernel, stride, padding, dilation, ceil_mode
MAX_CASES = [
    ((2, 3, 9, 11), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((2, 3, 9, 11), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((1, 2, 10, 7), (2, 3), (2, 1), (1, 0), (1, 1), False),      # asymmetric
    ((2, 2, 5, 5), (2, 2), (2, 2), (1, 1), (1, 1), True),        # ceil window dropped
    ((2, 2, 12, 13), (3, 2), (1, 2), (1, 1), (2, 3), True),      # dilation
    ((1, 1, 8, 8), (4, 4), (3, 3), (2, 2), (1, 1), True),
    ((3, 2, 6, 7), (1, 1), (2, 2), (0, 0), (1, 1), False),       # subsampling
    ((2, 3, 7, 7), (7, 7), (7, 7), (0, 0), (1, 1), False),       # global
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k, s, p, d, ceil", MAX_CASES)
def test_max_pool_parity(shape, k, s, p, d, ceil, dtype):
    x = data(shape, dtype)
    (ty, tidx), gy, tgx = torch_grad(
        lambda t: F.max_pool2d(t, k, s, p, d, ceil_mode=ceil, return_indices=True), x, None)
    y, idx = max_pool2d_forward(x, k, s, p, d, ceil)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype and idx.dtype == np.int64
    assert y.flags.c_contiguous and idx.flags.c_contiguous
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    gx = max_pool2d_backward(gy, idx, x.shape)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, tgx, **TOL[dtype])


def test_max_pool_ties_nan_and_empty_window():
    # ties: first maximum in scan order wins, as in torch
    x = np.zeros((1, 2, 6, 6))
    x[0, 1, ::2, ::2] = 1.0
    y, idx = max_pool2d_forward(x, (3, 3), (2, 2), (1, 1), (1, 1), True)
    ty, tidx = F.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(idx, tidx.numpy())
    # all -inf windows keep the first in-bounds tap as index
    x = np.full((1, 1, 5, 6), -np.inf)
    y, idx = max_pool2d_forward(x, (3, 2), (2, 2), (1, 1), (1, 2), True)
    ty, tidx = F.max_pool2d(torch.tensor(x), (3, 2), 2, 1, (1, 2), True, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    # NaN propagates
    x = data((1, 1, 5, 5), np.float64)
    x[0, 0, 1, 2] = np.nan
    y, idx = max_pool2d_forward(x, (2, 2), (1, 1), (0, 0), (1, 1), False)
    ty, tidx = F.max_pool2d(torch.tensor(x), 2, 1, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    # a dilated window that only touches padding gives -inf, like torch
    x = data((1, 1, 3, 1), np.float64)
    y, idx = max_pool2d_forward(x, (2, 1), (1, 1), (1, 0), (4, 1), False)
    ty, tidx = F.max_pool2d(torch.tensor(x), (2, 1), 1, (1, 0), (4, 1), return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())


@pytest.mark.parametrize("shape, k, s, p, d, ceil", MAX_CASES)
def test_max_pool_without_indices_matches(shape, k, s, p, d, ceil):
    # the inference kernel (no indices) gives the same values, NaN and -inf included
    x = data(shape, np.float32)
    x.reshape(-1)[::7] = np.nan
    x.reshape(-1)[3::11] = -np.inf
    y, idx = max_pool2d_forward(x, k, s, p, d, ceil)
    y2, none = max_pool2d_forward(x, k, s, p, d, ceil, with_indices=False)
    assert none is None
    np.testing.assert_array_equal(y2, y)
    ty = F.max_pool2d(torch.tensor(x), k, s, p, d, ceil_mode=ceil)
    np.testing.assert_array_equal(y2, ty.numpy())


def test_max_pool_backward_accumulates_overlaps():
    x = data((2, 3, 8, 8), np.float64)
    y, idx = max_pool2d_forward(x, (3, 3), (1, 1), (1, 1), (1, 1), False)
    gx = max_pool2d_backward(np.ones_like(y), idx, x.shape)
    counts = np.zeros(x.shape).reshape(6, 64)
    for p, row in enumerate(idx.reshape(6, -1)):
        np.add.at(counts[p], row, 1.0)
    np.testing.assert_array_equal(gx.reshape(6, 64), counts)
    assert gx.max() > 1  # some inputs won several windows


def test_max_pool_errors():
    x = np.zeros((1, 1, 6, 6))
    with pytest.raises(ValueError, match="padding 2 must be at most half of kernel_size 3"):
        max_pool2d_forward(x, (3, 3), (1, 1), (2, 2), (1, 1), False)
    with pytest.raises(ValueError, match="output size"):
        max_pool2d_forward(x, (4, 4), (1, 1), (0, 0), (3, 3), False)
    with pytest.raises(ValueError, match="stride"):
        max_pool2d_forward(x, (2, 2), (0, 1), (0, 0), (1, 1), False)
    with pytest.raises(ValueError, match="4-D"):
        max_pool2d_forward(np.zeros((6, 6)), (2, 2), (2, 2), (0, 0), (1, 1), False)
    with pytest.raises(TypeError, match="int32"):
        max_pool2d_forward(x.astype(np.int32), (2, 2), (2, 2), (0, 0), (1, 1), False)
    y, idx = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    idx[0, 0, 1, 1] = 36
    with pytest.raises(IndexError, match=r"1 indices outside \[0, 36\)"):
        max_pool2d_backward(y, idx, x.shape)
    with pytest.raises(ValueError, match="must match"):
        max_pool2d_backward(y, idx[..., :1], x.shape)
    with pytest.raises(ValueError, match="does not match input_shape"):
        max_pool2d_backward(y, idx, (1, 2, 6, 6))


# ---------------------------------------------------------------- avg pool

# input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
AVG_CASES = [
    ((2, 3, 9, 11), (3, 3), (2, 2), (1, 1), False, True, None),
    ((2, 3, 9, 11), (3, 3), (2, 2), (1, 1), False, False, None),
    ((2, 3, 9, 11), (3, 3), (2, 2), (1, 1), True, True, None),
    ((2, 3, 9, 11), (3, 3), (2, 2), (1, 1), True, False, None),
    ((1, 2, 10, 7), (2, 3), (2, 1), (1, 0), True, True, None),   # ceil window past padding
    ((1, 2, 10, 7), (4, 2), (3, 3), (2, 1), True, True, None),
    ((1, 2, 10, 7), (4, 2), (3, 3), (2, 1), True, False, None),
    ((2, 2, 5, 5), (2, 2), (2, 2), (1, 1), True, True, None),    # ceil window dropped
    ((2, 2, 3, 8), (2, 4), (2, 3), (0, 1), True, True, None),    # last window past padding
    ((2, 2, 3, 8), (2, 4), (2, 3), (0, 1), True, False, None),
    ((2, 2, 8, 6), (3, 3), (2, 2), (1, 1), False, True, 5),      # divisor_override
    ((2, 2, 8, 6), (3, 2), (2, 3), (1, 1), True, False, -2),
    ((2, 3, 6, 6), (6, 6), (6, 6), (0, 0), False, True, None),   # global
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k, s, p, ceil, cip, div", AVG_CASES)
def test_avg_pool_parity(shape, k, s, p, ceil, cip, div, dtype):
    x = data(shape, dtype)
    ty, gy, tgx = torch_grad(lambda t: F.avg_pool2d(t, k, s, p, ceil, cip, div), x, None)
    y = avg_pool2d_forward(x, k, s, p, ceil, cip, div)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype and y.flags.c_contiguous
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOL[dtype])
    gx = avg_pool2d_backward(gy, x.shape, k, s, p, ceil, cip, div)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, tgx, **TOL[dtype])


def test_avg_pool_errors():
    x = np.zeros((1, 1, 6, 6))
    with pytest.raises(ValueError, match="divisor_override must be non-zero"):
        avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0), False, True, 0)
    with pytest.raises(ValueError, match="padding 2 must be at most half"):
        avg_pool2d_forward(x, (3, 3), (1, 1), (2, 2), False, True, None)
    with pytest.raises(ValueError, match="output size"):
        avg_pool2d_forward(x, (7, 7), (1, 1), (0, 0), False, True, None)
    with pytest.raises(ValueError, match="grad_y shape"):
        avg_pool2d_backward(np.zeros((1, 1, 2, 2)), x.shape, (2, 2), (2, 2), (0, 0), False,
                            True, None)


# ---------------------------------------------------------------- adaptive avg pool

ADAPTIVE_CASES = [
    ((2, 3, 8, 8), (4, 4)),    # divisible
    ((2, 3, 7, 10), (3, 4)),   # non-divisible, overlapping windows
    ((2, 3, 7, 9), (1, 1)),    # global
    ((1, 2, 5, 7), (8, 9)),    # output larger than input
    ((2, 2, 6, 5), (6, 5)),    # identity
    ((1, 2, 3, 11), (5, 2)),   # larger along H, smaller along W
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, out", ADAPTIVE_CASES)
def test_adaptive_avg_pool_parity(shape, out, dtype):
    x = data(shape, dtype)
    ty, gy, tgx = torch_grad(lambda t: F.adaptive_avg_pool2d(t, out), x, None)
    y = adaptive_avg_pool2d_forward(x, out)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype and y.flags.c_contiguous
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOL[dtype])
    gx = adaptive_avg_pool2d_backward(gy, x.shape)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, tgx, **TOL[dtype])


def test_adaptive_errors():
    with pytest.raises(ValueError, match="output_size must be positive"):
        adaptive_avg_pool2d_forward(np.zeros((1, 1, 4, 4)), (0, 2))
    with pytest.raises(ValueError, match="non-empty"):
        adaptive_avg_pool2d_forward(np.zeros((1, 1, 0, 4)), (2, 2))
    with pytest.raises(ValueError, match="input_shape"):
        adaptive_avg_pool2d_backward(np.zeros((1, 1, 2, 2)), (4, 4))
    with pytest.raises(ValueError, match="grad_y shape"):
        adaptive_avg_pool2d_backward(np.zeros((1, 2, 2, 2)), (1, 1, 4, 4))


def test_non_contiguous_input():
    x = data((6, 5, 2, 3), np.float64).transpose(2, 3, 0, 1)  # (2, 3, 6, 5) view
    tx = torch.tensor(np.ascontiguousarray(x))
    y, idx = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), True)
    np.testing.assert_array_equal(y, F.max_pool2d(tx, 2, 2, ceil_mode=True).numpy())
    np.testing.assert_allclose(avg_pool2d_forward(x, (3, 3), (1, 1), (1, 1), False, False, None),
                               F.avg_pool2d(tx, 3, 1, 1, count_include_pad=False).numpy(),
                               **TOL[np.float64])
    np.testing.assert_allclose(adaptive_avg_pool2d_forward(x, (4, 3)),
                               F.adaptive_avg_pool2d(tx, (4, 3)).numpy(), **TOL[np.float64])
