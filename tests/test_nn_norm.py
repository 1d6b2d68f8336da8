"""BatchNorm1d/2d, LayerNorm and their functional forms against PyTorch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nanotorch as nt  # noqa: E402
import nanotorch.nn as nn  # noqa: E402
import nanotorch.nn.functional as F  # noqa: E402


def _pair_modules(cls_name, *args, dtype="float32", **kwargs):
    m = getattr(nn, cls_name)(*args, dtype=getattr(nt, dtype), **kwargs)
    tm = getattr(torch.nn, cls_name)(*args, dtype=getattr(torch, dtype), **kwargs)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p, tp in zip(m.parameters(), tm.parameters()):
            v = rng.standard_normal(p.shape).astype(dtype)
            p._array[...] = v
            tp.copy_(torch.from_numpy(v))
    return m, tm


def _close(a, b, dtype):
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(np.asarray(a.detach().numpy() if hasattr(a, "detach") else a),
                               b.detach().numpy(), rtol=tol, atol=tol)


def _check_state(m, tm, dtype):
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        a, b = getattr(m, name), getattr(tm, name)
        if b is None:
            assert a is None
            continue
        assert a.dtype is getattr(nt, str(b.dtype).split(".")[1])
        _close(a, b, dtype)


def _run_both(m, tm, xv, gv, dtype):
    """Forward ``xv`` through both modules and backpropagate ``gv``: outputs, input and
    parameter gradients agree. Returns both outputs."""
    x = nt.tensor(xv, requires_grad=True)
    tx = torch.from_numpy(xv).requires_grad_(True)
    y, ty = m(x), tm(tx)
    _close(y, ty, dtype)
    y.backward(nt.tensor(gv))
    ty.backward(torch.from_numpy(gv))
    _close(x.grad, tx.grad, dtype)
    for p, tp in zip(m.parameters(), tm.parameters()):
        _close(p.grad, tp.grad, dtype)
    return y, ty


SHAPES = {"BatchNorm1d": [(6, 3), (4, 3, 5)], "BatchNorm2d": [(4, 3, 5, 2)]}


@pytest.mark.parametrize("cls_name,shape", [(c, s) for c, ss in SHAPES.items() for s in ss])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opts", [{}, {"momentum": None}, {"affine": False},
                                  {"track_running_stats": False}, {"bias": False},
                                  {"momentum": 0.3, "eps": 1e-3}])
def test_batchnorm_train_eval_parity(cls_name, shape, dtype, opts):
    m, tm = _pair_modules(cls_name, 3, dtype=dtype, **opts)
    rng = np.random.default_rng(1)
    for step in range(3):  # several train steps update the running statistics
        xv = (rng.standard_normal(shape) * 2 + step).astype(dtype)
        gv = rng.standard_normal(shape).astype(dtype)
        y, ty = _run_both(m, tm, xv, gv, dtype)
        assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__ == "NativeBatchNormBackward0"
        _check_state(m, tm, dtype)
    m.eval(), tm.eval()
    xv = rng.standard_normal(shape).astype(dtype)
    gv = rng.standard_normal(shape).astype(dtype)
    _run_both(m, tm, xv, gv, dtype)
    _check_state(m, tm, dtype)  # eval leaves the statistics alone


def test_batchnorm_frozen_affine_gets_no_grads():
    m, _ = _pair_modules("BatchNorm1d", 3)
    m.requires_grad_(False)
    x = nt.randn(5, 3, requires_grad=True)
    m(x).sum().backward()
    assert x.grad is not None and m.weight.grad is None and m.bias.grad is None


def test_batchnorm_no_grad_still_updates_stats():
    m, tm = _pair_modules("BatchNorm1d", 3)
    xv = np.random.default_rng(2).standard_normal((7, 3)).astype("float32")
    with nt.no_grad():
        y = m(nt.tensor(xv))
    with torch.no_grad():
        ty = tm(torch.from_numpy(xv))
    assert y.grad_fn is None
    _close(y, ty, "float32")
    _check_state(m, tm, "float32")


def test_functional_batch_norm_parity():
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((4, 2, 3))
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5
    w, b = rng.standard_normal(2), rng.standard_normal(2)
    for training in (True, False):
        a = [nt.tensor(v.copy()) for v in (rm, rv)]
        t = [torch.from_numpy(v.copy()) for v in (rm, rv)]
        y = F.batch_norm(nt.tensor(xv), a[0], a[1], nt.tensor(w), nt.tensor(b), training, 0.2)
        ty = torch.nn.functional.batch_norm(torch.from_numpy(xv), t[0], t[1],
                                            torch.from_numpy(w), torch.from_numpy(b),
                                            training, 0.2)
        _close(y, ty, "float64")
        _close(a[0], t[0], "float64")
        _close(a[1], t[1], "float64")


def test_batchnorm_load_state_dict_without_counter():
    m, tm = _pair_modules("BatchNorm1d", 3)
    m.train()
    m(nt.randn(4, 3))
    sd = {k: v for k, v in tm.state_dict().items() if k != "num_batches_tracked"}
    sd = {k: nt.tensor(v.numpy()) for k, v in sd.items()}
    result = m.load_state_dict(sd)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    assert m.num_batches_tracked.item() == 0 and m.num_batches_tracked.dtype is nt.int64
    assert "num_batches_tracked" not in sd  # the caller's dict is not modified
    # a full state dict still loads its counter
    full = {k: nt.tensor(v.numpy()) for k, v in tm.state_dict().items()}
    full["num_batches_tracked"] = nt.tensor(7, dtype=nt.int64)
    m.load_state_dict(full)
    assert m.num_batches_tracked.item() == 7


def test_batchnorm_state_dict_keys_match_torch():
    for opts in ({}, {"affine": False}, {"track_running_stats": False}):
        m, tm = nn.BatchNorm2d(4, **opts), torch.nn.BatchNorm2d(4, **opts)
        assert list(m.state_dict()) == list(tm.state_dict())


def test_batchnorm_errors():
    m = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                                         r"training, got input size torch.Size\(\[1, 3\]\)"):
        m(nt.randn(1, 3))
    m.eval()
    assert m(nt.randn(1, 3)).shape == (1, 3)  # eval with one sample is fine
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        m(nt.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(nt.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="weight"):
        F.batch_norm(nt.randn(4, 3), None, None, nt.ones(2), training=True)


@pytest.mark.parametrize("opts", [{}, {"momentum": None}, {"affine": False, "eps": 1e-3},
                                  {"track_running_stats": False}, {"bias": False}])
def test_batchnorm_repr(opts):
    assert repr(nn.BatchNorm1d(5, **opts)) == repr(torch.nn.BatchNorm1d(5, **opts))
    assert repr(nn.BatchNorm2d(5, **opts)) == repr(torch.nn.BatchNorm2d(5, **opts))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,norm", [((4, 6), 6), ((2, 3, 4, 5), (4, 5)), ((3, 7), [7])])
@pytest.mark.parametrize("opts", [{}, {"elementwise_affine": False}, {"bias": False},
                                  {"eps": 1e-2}])
def test_layernorm_parity(dtype, shape, norm, opts):
    m, tm = _pair_modules("LayerNorm", norm, dtype=dtype, **opts)
    assert repr(m) == repr(tm)
    rng = np.random.default_rng(4)
    xv = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gv = rng.standard_normal(shape).astype(dtype)
    y, ty = _run_both(m, tm, xv, gv, dtype)
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__


def test_layer_norm_errors():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(nt.randn(2, 5), (4,))
    with pytest.raises(RuntimeError, match="weight"):
        F.layer_norm(nt.randn(2, 5), (5,), weight=nt.ones(4))
