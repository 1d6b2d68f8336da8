"""Loss functions and modules against PyTorch: values, gradients, options, errors."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nanotorch as nt  # noqa: E402
import nanotorch.nn as nn  # noqa: E402
import nanotorch.nn.functional as F  # noqa: E402

TF = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]


def _close(a, b, dtype="float64"):
    tol = 2e-5 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _run(fn, tfn, arrays, grad_mask, dtype="float64", upstream_seed=9, **kw):
    """Call fn/tfn on the same data; compare outputs, grad_fn names and gradients of the
    inputs flagged in grad_mask (None entries pass as None)."""
    ins, tins = [], []
    for a, g in zip(arrays, grad_mask):
        if a is None:
            ins.append(None), tins.append(None)
            continue
        ins.append(nt.tensor(a.copy(), requires_grad=g))
        tins.append(torch.from_numpy(a.copy()).requires_grad_(g))
    kw_n = {k: (nt.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    kw_t = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    out, tout = fn(*ins, **kw_n), tfn(*tins, **kw_t)
    _close(out, tout, dtype)
    if not any(grad_mask):
        return out
    assert type(out.grad_fn).__name__ == type(tout.grad_fn).__name__
    gv = np.random.default_rng(upstream_seed).standard_normal(tuple(tout.shape)).astype(dtype)
    out.backward(nt.tensor(gv))
    tout.backward(torch.from_numpy(gv))
    for t, tt, g in zip(ins, tins, grad_mask):
        if g:
            _close(t.grad, tt.grad, dtype)
    return out


RNG = np.random.default_rng(0)


# ------------------------------------------------------------------ cross entropy

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_index_targets(dtype, reduction, weighted, smoothing, shape):
    x = RNG.standard_normal(shape).astype(dtype) * 3
    c = shape[0] if len(shape) == 1 else shape[1]
    batch = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = RNG.integers(0, c, batch)
    ignore = -100
    if len(shape) > 1:  # some ignored positions, with a custom ignore_index
        ignore = 1
    w = RNG.random(c).astype(dtype) + 0.5 if weighted else None
    _run(F.cross_entropy, TF.cross_entropy, [x], [True], dtype, target=t, weight=w,
         ignore_index=ignore, reduction=reduction, label_smoothing=smoothing)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_cross_entropy_probability_targets(reduction, weighted, smoothing, shape):
    x = RNG.standard_normal(shape)
    p = RNG.random(shape)
    p /= p.sum(axis=1, keepdims=True)
    w = RNG.random(shape[1]) + 0.5 if weighted else None
    _run(F.cross_entropy, TF.cross_entropy, [x], [True], target=p, weight=w,
         reduction=reduction, label_smoothing=smoothing)


def test_cross_entropy_extreme_logits_stay_finite():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    t = np.array([1, 0])
    out = _run(F.cross_entropy, TF.cross_entropy, [x], [True], "float32", target=t)
    assert np.isfinite(out.item())
    out = _run(F.cross_entropy, TF.cross_entropy, [x], [True], "float32",
               target=np.array([0, 2]), label_smoothing=0.1)
    assert np.isfinite(out.item())


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = RNG.standard_normal((3, 4))
    t = np.full(3, -100)
    out = _run(F.cross_entropy, TF.cross_entropy, [x], [True], target=t)
    assert np.isnan(out.item())


def test_cross_entropy_legacy_reduction_args():
    x, t = RNG.standard_normal((4, 3)), RNG.integers(0, 3, 4)
    for sa, rd in ((False, None), (None, False), (True, True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _run(F.cross_entropy, TF.cross_entropy, [x], [True], target=t, size_average=sa,
                 reduce=rd)


def test_cross_entropy_errors():
    x = nt.randn(4, 3)
    with pytest.raises(RuntimeError, match=r"float32.*shape \[4\]|shape.*float32"):
        F.cross_entropy(x, nt.rand(4))  # float target of a different shape
    with pytest.raises(IndexError, match=r"Target 3 .*3 classes"):
        F.cross_entropy(x, nt.tensor([0, 1, 3, 2]))
    with pytest.raises(IndexError, match=r"Target -2"):
        F.cross_entropy(x, nt.tensor([0, 1, -2, 2]))
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(x, nt.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="weight"):
        F.cross_entropy(x, nt.tensor([0, 1, 2, 0]), weight=nt.ones(4))
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(x, nt.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, nt.tensor([0, 1, 2, 0]), reduction="avg")


# ------------------------------------------------------------------ NLL

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2), (2, 4, 2, 3), (4,)])
def test_nll_loss(reduction, weighted, shape):
    x = np.log(RNG.random(shape) + 0.1)
    c = shape[0] if len(shape) == 1 else shape[1]
    batch = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = RNG.integers(0, c, batch)
    w = RNG.random(c) + 0.5 if weighted else None
    ignore = 2 if len(shape) > 1 else -100
    _run(F.nll_loss, TF.nll_loss, [x], [True], target=t, weight=w, ignore_index=ignore,
         reduction=reduction)


# ------------------------------------------------------------------ elementwise losses

@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pointwise_losses(name, reduction, dtype):
    x = RNG.standard_normal((4, 5)).astype(dtype) * 2
    y = RNG.standard_normal((4, 5)).astype(dtype) * 2
    _run(getattr(F, name), getattr(TF, name), [x, y], [True, True], dtype,
         reduction=reduction)


@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_smooth_l1_beta(beta):
    x, y = RNG.standard_normal((6, 3)) * 2, RNG.standard_normal((6, 3))
    _run(F.smooth_l1_loss, TF.smooth_l1_loss, [x, y], [True, False], beta=beta)


def test_mse_broadcast_warns_like_torch():
    x, y = RNG.standard_normal((4, 3)), RNG.standard_normal((3,))
    with pytest.warns(UserWarning, match="different to the input size"):
        _run(F.mse_loss, TF.mse_loss, [x, y], [True, True])


# ------------------------------------------------------------------ binary cross-entropy

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy(reduction, weighted, dtype):
    x = (RNG.random((5, 3)) * 0.98 + 0.01).astype(dtype)
    x[0, 0], x[1, 1] = 0.0, 1.0  # logs clamp at -100 like torch
    y = RNG.random((5, 3)).astype(dtype)
    w = RNG.random((3,)).astype(dtype) + 0.5 if weighted else None
    _run(F.binary_cross_entropy, TF.binary_cross_entropy, [x, y], [False, True], dtype,
         weight=w, reduction=reduction)
    x[0, 0], x[1, 1] = 0.3, 0.6
    _run(F.binary_cross_entropy, TF.binary_cross_entropy, [x, y], [True, True], dtype,
         weight=w, reduction=reduction)


def test_binary_cross_entropy_errors():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(nt.tensor([0.5, 1.5]), nt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(nt.tensor([0.5, 0.5]), nt.tensor([0.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits(reduction, weighted, pos, dtype):
    x = (RNG.standard_normal((4, 3)) * 3).astype(dtype)
    x[0, 0], x[0, 1] = 1e4, -1e4
    y = RNG.random((4, 3)).astype(dtype)
    w = RNG.random((4, 1)).astype(dtype) + 0.5 if weighted else None
    pw = RNG.random((3,)).astype(dtype) + 0.5 if pos else None
    out = _run(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
               [x, y], [True, True], dtype, weight=w, pos_weight=pw, reduction=reduction)
    assert np.isfinite(out.detach().numpy()).all()


def test_bce_with_logits_errors():
    with pytest.raises(ValueError, match="Target size"):
        F.binary_cross_entropy_with_logits(nt.randn(3), nt.rand(2))
    with pytest.raises(RuntimeError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(nt.randn(2, 3), nt.rand(2, 3),
                                           pos_weight=nt.ones(4))


# ------------------------------------------------------------------ modules

MODULE_CASES = [
    ("CrossEntropyLoss", {}),
    ("CrossEntropyLoss", {"ignore_index": 0, "reduction": "sum", "label_smoothing": 0.1}),
    ("NLLLoss", {"reduction": "none"}),
    ("MSELoss", {}),
    ("L1Loss", {"reduction": "sum"}),
    ("SmoothL1Loss", {"beta": 0.5}),
    ("BCELoss", {}),
    ("BCEWithLogitsLoss", {"reduction": "none"}),
]


@pytest.mark.parametrize("name,kw", MODULE_CASES)
def test_loss_modules(name, kw):
    m, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    if name in ("CrossEntropyLoss", "NLLLoss"):
        x = RNG.standard_normal((5, 3))
        arrays, mask, target = [x], [True], RNG.integers(0, 3, 5)
    else:
        x = RNG.random((5, 3)) * 0.9 + 0.05
        arrays, mask, target = [x], [True], RNG.random((5, 3))
    _run(lambda a, target: m(a, target), lambda a, target: tm(a, target), arrays, mask,
         target=target)


def test_weighted_loss_modules_keep_weight_buffer():
    w = RNG.random(3) + 0.5
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss"):
        m, tm = getattr(nn, name)(weight=nt.tensor(w)), getattr(torch.nn, name)(
            weight=torch.from_numpy(w))
        assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
        assert repr(m) == repr(tm)
    m = nn.BCEWithLogitsLoss(pos_weight=nt.tensor(w))
    tm = torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(w))
    assert list(m.state_dict()) == list(tm.state_dict())
    x, y = RNG.standard_normal((4, 3)), RNG.random((4, 3))
    _close(m(nt.tensor(x), nt.tensor(y)), tm(torch.from_numpy(x), torch.from_numpy(y)))
