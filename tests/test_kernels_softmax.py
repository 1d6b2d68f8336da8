"""Parity of softmax / log-softmax / logsumexp kernels with torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nanotorch.kernels import softmax as K  # noqa: E402

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
CASES = [((7,), 0), ((7,), -1), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2), ((2, 3, 4), 0),
         ((2, 1, 3, 5), 1), ((2, 1, 3, 5), -1), ((2, 1, 3, 5), 2), ((64, 1000), -1),
         ((400, 3, 60), 1), ((3, 7, 600), 1)]   # 600: several 256-line blocks


def _data(shape, dt, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(shape) * scale).astype(dt),
            rng.standard_normal(shape).astype(dt))


def _close(ours, ref, dt):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else ref
    assert ours.dtype == dt and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, **TOL[dt])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape,axis", CASES)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_forward_backward(dt, shape, axis, log):
    x, g = _data(shape, dt)
    tx = torch.tensor(x, requires_grad=True)
    ty = (torch.log_softmax if log else torch.softmax)(tx, axis)
    ty.backward(torch.tensor(g))
    fwd = K.log_softmax_forward if log else K.softmax_forward
    bwd = K.log_softmax_backward if log else K.softmax_backward
    y = fwd(x, axis)
    _close(y, ty, dt)
    _close(bwd(g, y, axis), tx.grad, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("log", [False, True])
def test_big_logits_are_stable(dt, log):
    x, g = _data((6, 9), dt, scale=1e4)
    x[0] = 1e4
    x[1] = -1e4
    x[2, ::2] = 1e4
    tx = torch.tensor(x, requires_grad=True)
    ty = (torch.log_softmax if log else torch.softmax)(tx, 1)
    ty.backward(torch.tensor(g))
    fwd = K.log_softmax_forward if log else K.softmax_forward
    bwd = K.log_softmax_backward if log else K.softmax_backward
    y = fwd(x, 1)
    gx = bwd(g, y, 1)
    assert np.isfinite(y).all() and np.isfinite(gx).all()
    _close(y, ty, dt)
    _close(gx, tx.grad, dt)
    lse = K.logsumexp(x, 1)
    assert np.isfinite(lse).all()
    _close(lse, torch.logsumexp(torch.tensor(x), 1), dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape,axis", [((7,), 0), ((3, 5), -1), ((2, 3, 4), 1),
                                        ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 0, 1)),
                                        ((2, 3, 4), (2, 1)), ((2, 5, 300), 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp(dt, shape, axis, keepdims):
    x, _ = _data(shape, dt, scale=10.0)
    ref = torch.logsumexp(torch.tensor(x), axis, keepdim=keepdims)
    _close(K.logsumexp(x, axis, keepdims), ref, dt)


def test_logsumexp_infinities_and_empty():
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [-np.inf, 2.0]])
    ref = torch.logsumexp(torch.tensor(x), 1).numpy()
    np.testing.assert_array_equal(K.logsumexp(x, 1), ref)
    empty = np.zeros((3, 0))
    np.testing.assert_array_equal(K.logsumexp(empty, 1),
                                  torch.logsumexp(torch.tensor(empty), 1).numpy())


def test_empty_and_single_element():
    x = np.zeros((0, 4), np.float32)
    assert K.softmax_forward(x, 1).shape == (0, 4)
    one = np.array([3.0])
    np.testing.assert_array_equal(K.softmax_forward(one, 0), [1.0])
    np.testing.assert_array_equal(K.log_softmax_forward(one, 0), [0.0])


def test_non_contiguous_input():
    x, g = _data((5, 6), np.float64)
    xt = x.T
    ref = torch.softmax(torch.tensor(np.ascontiguousarray(xt)), 0)
    _close(K.softmax_forward(xt, 0), ref, np.float64)


def test_bad_inputs():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"axis 2 is out of range.*\(2, 3\)"):
        K.softmax_forward(x, 2)
    with pytest.raises(ValueError, match="axis -3"):
        K.log_softmax_forward(x, -3)
    with pytest.raises(ValueError, match="int64"):
        K.softmax_forward(np.zeros(3, np.int64), 0)
    with pytest.raises(ValueError, match=r"grad_y \(3, 2\).*y \(2, 3\)"):
        K.softmax_backward(np.zeros((3, 2), np.float32), x, 1)
    with pytest.raises(ValueError, match="repeats"):
        K.logsumexp(x, (1, -1))
    with pytest.raises(ValueError, match="axis must be an int"):
        K.softmax_forward(x, 1.0)
