"""Parity of the batch-norm and layer-norm kernels with torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nanotorch.kernels import norm as K  # noqa: E402

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}
# the last two are big enough for the multi-threaded paths
BN_SHAPES = [(5, 3), (2, 4), (4, 3, 7), (1, 2, 5), (2, 3, 4, 5), (16, 8, 9, 11), (301, 64)]
EPS = 1e-5


def _data(shape, dt, seed=0, mean=2.0, std=3.0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * std + mean).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    return x, g


def _params(shape, dt, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(dt), rng.standard_normal(shape).astype(dt)


def _close(ours, ref, dt):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    assert ours.dtype == dt and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, **TOL[dt])


def _leaf(a):
    return None if a is None else torch.tensor(a, requires_grad=True)


# --------------------------------------------------------------- batch norm

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_train(dt, shape, affine):
    x, g = _data(shape, dt)
    w, b = _params(shape[1], dt) if affine else (None, None)
    y, mean, invstd, var = K.batch_norm_train_forward(x, w, b, EPS)

    tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
    rm = torch.zeros(shape[1], dtype=tx.dtype)
    rv = torch.ones(shape[1], dtype=tx.dtype)
    ty = F.batch_norm(tx, rm, rv, tw, tb, training=True, momentum=1.0, eps=EPS)
    ty.backward(torch.tensor(g))
    _close(y, ty, dt)
    axes = tuple(a for a in range(x.ndim) if a != 1)
    x64 = x.astype(np.float64)
    _close(mean, x64.mean(axes), dt)
    _close(var, x64.var(axes), dt)
    _close(invstd, 1.0 / np.sqrt(x64.var(axes) + EPS), dt)
    # momentum=1 makes torch's running_var the unbiased variance the caller derives
    count = x.size // shape[1]
    _close(rv.numpy().astype(dt), var.astype(np.float64) * count / (count - 1), dt)

    gx, gw, gb = K.batch_norm_backward(g, x, mean, invstd, w, True, affine, affine)
    _close_grads((gx, gw, gb), (tx, tw, tb), affine, dt)


def _close_grads(grads, leaves, affine, dt):
    """Kernel gradients (input, weight, bias) match torch's leaves'; None without affine."""
    gx, gw, gb = grads
    tx, tw, tb = leaves
    _close(gx, tx.grad, dt)
    if affine:
        _close(gw, tw.grad, dt)
        _close(gb, tb.grad, dt)
    else:
        assert gw is None and gb is None


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (2, 3, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval(dt, shape, affine):
    x, g = _data(shape, dt)
    w, b = _params(shape[1], dt) if affine else (None, None)
    rng = np.random.default_rng(3)
    rm = rng.standard_normal(shape[1]).astype(dt)
    rv = (rng.random(shape[1]) + 0.5).astype(dt)
    y = K.batch_norm_eval_forward(x, rm, rv, w, b, EPS)
    tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
    ty = F.batch_norm(tx, torch.tensor(rm), torch.tensor(rv), tw, tb, training=False, eps=EPS)
    ty.backward(torch.tensor(g))
    _close(y, ty, dt)
    gx, gw, gb = K.batch_norm_eval_backward(g, x, rm, rv, w, EPS, True, affine, affine)
    _close(gx, tx.grad, dt)
    if affine:
        _close(gw, tw.grad, dt)
        _close(gb, tb.grad, dt)


def test_batch_norm_backward_partial_outputs():
    x, g = _data((6, 4, 3), np.float64)
    w, b = _params(4, np.float64)
    _, mean, invstd, _ = K.batch_norm_train_forward(x, w, b, EPS)
    full = K.batch_norm_backward(g, x, mean, invstd, w, True, True, True)
    gx, gw, gb = K.batch_norm_backward(g, x, mean, invstd, w, False, True, False)
    assert gx is None and gb is None
    np.testing.assert_array_equal(gw, full[1])
    gx, gw, gb = K.batch_norm_backward(g, x, mean, invstd, w, True, False, False)
    np.testing.assert_array_equal(gx, full[0])
    assert K.batch_norm_backward(g, x, mean, invstd, w, False, False, False) == (None,) * 3


def test_batch_norm_float32_large_mean_keeps_variance():
    # mean 1e4, std 1: a one-pass float32 E[x^2] - E[x]^2 loses every digit here
    x, g = _data((64, 3, 50), np.float32, mean=1e4, std=1.0)
    _, mean, invstd, var = K.batch_norm_train_forward(x, None, None, EPS)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(var, x64.var((0, 2)), rtol=1e-5)
    np.testing.assert_allclose(mean, x64.mean((0, 2)), rtol=1e-7)
    tx = torch.tensor(x, requires_grad=True)
    ty = F.batch_norm(tx, None, None, training=True, eps=EPS)
    ty.backward(torch.tensor(g))
    gx, _, _ = K.batch_norm_backward(g, x, mean, invstd, None, True, False, False)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_batch_norm_bad_inputs():
    x = np.zeros((4, 3, 2), np.float32)
    with pytest.raises(ValueError, match=r"\(N, C, \*\).*\(5,\)"):
        K.batch_norm_train_forward(np.zeros(5, np.float32), None, None, EPS)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), got \(4,\)"):
        K.batch_norm_train_forward(x, np.ones(4, np.float32), None, EPS)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        K.batch_norm_train_forward(np.zeros((1, 3), np.float32), None, None, EPS)
    with pytest.raises(ValueError, match="float64 != input dtype float32"):
        K.batch_norm_train_forward(x, np.ones(3), None, EPS)
    with pytest.raises(ValueError, match="int32"):
        K.batch_norm_train_forward(x.astype(np.int32), None, None, EPS)
    with pytest.raises(ValueError, match="eps"):
        K.batch_norm_eval_forward(x, np.zeros(3, np.float32), np.ones(3, np.float32),
                                  None, None, -1.0)
    with pytest.raises(ValueError, match=r"grad_y \(4, 3\)"):
        K.batch_norm_backward(np.zeros((4, 3), np.float32), x, np.zeros(3, np.float32),
                              np.ones(3, np.float32), None, True, False, False)


# --------------------------------------------------------------- layer norm

LN_CASES = [((4, 6), 1), ((2, 3, 5), 1), ((2, 3, 5), 2), ((2, 3, 4, 5), 3), ((7,), 1),
            ((33, 257), 1), ((71, 301), 1)]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape,nd", LN_CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(dt, shape, nd, affine):
    x, g = _data(shape, dt)
    norm_shape = shape[len(shape) - nd:]
    w, b = _params(norm_shape, dt) if affine else (None, None)
    y, mean, invstd = K.layer_norm_forward(x, nd, w, b, EPS)
    tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
    ty = F.layer_norm(tx, norm_shape, tw, tb, EPS)
    ty.backward(torch.tensor(g))
    _close(y, ty, dt)
    _, t_mean, t_rstd = torch.native_layer_norm(torch.tensor(x), norm_shape, None, None, EPS)
    batch = shape[:len(shape) - nd]
    _close(mean, t_mean.reshape(batch), dt)
    _close(invstd, t_rstd.reshape(batch), dt)
    gx, gw, gb = K.layer_norm_backward(g, x, mean, invstd, w, nd, True, affine, affine)
    _close_grads((gx, gw, gb), (tx, tw, tb), affine, dt)


def test_layer_norm_backward_partial_and_weight_only():
    x, g = _data((5, 8), np.float64)
    w, b = _params(8, np.float64)
    _, mean, invstd = K.layer_norm_forward(x, 1, w, b, EPS)
    full = K.layer_norm_backward(g, x, mean, invstd, w, 1, True, True, True)
    gx, gw, gb = K.layer_norm_backward(g, x, mean, invstd, w, 1, False, True, True)
    assert gx is None
    np.testing.assert_allclose(gw, full[1], rtol=1e-14)
    np.testing.assert_allclose(gb, full[2], rtol=1e-14)
    gx, gw, gb = K.layer_norm_backward(g, x, mean, invstd, w, 1, True, False, False)
    assert gw is None and gb is None
    np.testing.assert_allclose(gx, full[0], rtol=1e-14)


def test_layer_norm_float32_large_mean():
    x, g = _data((8, 512), np.float32, mean=1e4, std=1.0)
    y, mean, invstd = K.layer_norm_forward(x, 1, None, None, EPS)
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + EPS)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


def test_layer_norm_bad_inputs():
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"normalized_ndim must be in \[1, 3\].*got 4"):
        K.layer_norm_forward(x, 4, None, None, EPS)
    with pytest.raises(ValueError, match="got 0"):
        K.layer_norm_forward(x, 0, None, None, EPS)
    with pytest.raises(ValueError, match=r"weight must have shape \(3, 4\), got \(4,\)"):
        K.layer_norm_forward(x, 2, np.ones(4, np.float32), None, EPS)
    y, mean, invstd = K.layer_norm_forward(x, 1, None, None, EPS)
    with pytest.raises(ValueError, match=r"mean must have shape \(2, 3\)"):
        K.layer_norm_backward(x, x, mean[:1], invstd, None, 1, True, False, False)
