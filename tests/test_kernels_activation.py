"""Parity of the fused activation kernels with torch (values and gradients)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nanotorch.kernels import activation as A  # noqa: E402

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
# (300, 700) is above the parallel threshold, the others run on one thread
SHAPES = [(), (1,), (7,), (3, 5, 2), (300, 700)]


def _inputs(shape, dt, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.standard_normal(shape) * scale, dtype=dt)
    g = np.asarray(rng.standard_normal(shape), dtype=dt)
    return x, g


def _torch_fwd_bwd(fn, x, g):
    """torch's value and input gradient, computed in float64: torch's float32
    transcendentals are less accurate than ours (GELU-tanh flushes to 0 near
    x = -5), so float32 results are held to float32 rounding of the exact one."""
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ty = fn(tx)
    ty.backward(torch.tensor(g.astype(np.float64)))
    return ty.detach().numpy(), tx.grad.numpy()


def _close(ours, ref, dt):
    assert ours.dtype == dt and ours.shape == np.shape(ref)
    np.testing.assert_allclose(ours, ref, **TOL[dt])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(dt, shape, approximate):
    x, g = _inputs(shape, dt)
    y_ref, gx_ref = _torch_fwd_bwd(lambda t: F.gelu(t, approximate=approximate), x, g)
    _close(A.gelu_forward(x, approximate), y_ref, dt)
    _close(A.gelu_backward(g, x, approximate), gx_ref, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_silu(dt, shape):
    x, g = _inputs(shape, dt)
    y_ref, gx_ref = _torch_fwd_bwd(F.silu, x, g)
    _close(A.silu_forward(x), y_ref, dt)
    _close(A.silu_backward(g, x), gx_ref, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_backward_from_output(dt, shape, name):
    x, g = _inputs(shape, dt)
    if x.ndim:
        x.reshape(-1)[::3] = 0.0   # relu's kink
    fn = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name]
    y_ref, gx_ref = _torch_fwd_bwd(fn, x, g)
    y = y_ref.astype(dt)
    ours = {"relu": A.relu_backward, "sigmoid": A.sigmoid_backward,
            "tanh": A.tanh_backward}[name](g, y)
    _close(ours, gx_ref, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("slope", [0.01, 0.2, -0.5])
def test_leaky_relu_backward(dt, shape, slope):
    x, g = _inputs(shape, dt)
    if x.ndim:
        x.reshape(-1)[::4] = 0.0
    _, gx_ref = _torch_fwd_bwd(lambda t: F.leaky_relu(t, slope), x, g)
    _close(A.leaky_relu_backward(g, x, slope), gx_ref, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (0.0, 6.0), (-0.5, 2.0)])
def test_hardtanh_backward(dt, shape, lo, hi):
    x, g = _inputs(shape, dt)
    if x.ndim:   # values exactly on the clip edges
        x.reshape(-1)[::5] = lo
        x.reshape(-1)[1::5] = hi
    _, gx_ref = _torch_fwd_bwd(lambda t: F.hardtanh(t, lo, hi), x, g)
    _close(A.hardtanh_backward(g, x, lo, hi), gx_ref, dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_relu6_backward_matches_torch(dt):
    x, g = _inputs((40, 3), dt, scale=5.0)
    _, gx_ref = _torch_fwd_bwd(F.relu6, x, g)
    _close(A.hardtanh_backward(g, x, 0.0, 6.0), gx_ref, dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_extreme_inputs_stay_finite(dt):
    x = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype=dt)
    g = np.ones_like(x)
    checks = [
        (F.silu, A.silu_forward(x), A.silu_backward(g, x)),
        (F.gelu, A.gelu_forward(x), A.gelu_backward(g, x)),
        (lambda t: F.gelu(t, approximate="tanh"), A.gelu_forward(x, "tanh"),
         A.gelu_backward(g, x, "tanh")),
    ]
    for fn, y, gx in checks:
        assert np.isfinite(y).all() and np.isfinite(gx).all()
        y_ref, gx_ref = _torch_fwd_bwd(fn, x, g)
        _close(y, y_ref, dt)
        _close(gx, gx_ref, dt)


def test_non_contiguous_input():
    x, g = _inputs((6, 9), np.float64)
    xt, gt = x.T, g.T
    y_ref, gx_ref = _torch_fwd_bwd(F.silu, np.ascontiguousarray(xt), np.ascontiguousarray(gt))
    _close(A.silu_forward(xt), y_ref, np.float64)
    _close(A.silu_backward(gt, xt), gx_ref, np.float64)


def test_bad_inputs():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        A.relu_backward(x, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="float32.*float64"):
        A.tanh_backward(x, x.astype(np.float64))
    with pytest.raises(ValueError, match="int64"):
        A.silu_forward(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="approximate"):
        A.gelu_forward(x, "fast")
    with pytest.raises(ValueError, match="min_val"):
        A.hardtanh_backward(x, x, 2.0, 1.0)
    with pytest.raises(ValueError, match="numpy array"):
        A.gelu_forward([1.0, 2.0])
