"""Parity of the cross-entropy, NLL and BCE-with-logits kernels with torch."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nanotorch.kernels import loss as K  # noqa: E402

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}
# logits shape, target (batch) shape
SHAPES = [((6, 5), (6,)), ((3, 4, 2, 3), (3, 2, 3)), ((5,), ()), ((2, 3, 7), (2, 7))]


def _close(ours, ref, dt):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    assert ours.dtype == dt and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, **TOL[dt])


def _targets(rng, batch, c, ignore_index):
    t = rng.integers(0, c, batch)
    if ignore_index >= 0 or ignore_index == -100:
        # make sure some, not all, positions are ignored
        flat = np.asarray(t).reshape(-1)
        if flat.size > 1:
            flat[0] = ignore_index
            t = flat.reshape(batch)
    return np.asarray(t, dtype=np.int64)


def _check_ce(x, t, w, ignore_index, reduction, ls, dt, rng):
    loss, saved = K.cross_entropy_forward(x, t, w, ignore_index, reduction, ls)
    tx = torch.tensor(x, requires_grad=True)
    tl = F.cross_entropy(tx, torch.tensor(t), None if w is None else torch.tensor(w),
                         ignore_index=ignore_index, reduction=reduction, label_smoothing=ls)
    g = np.asarray(rng.standard_normal(tuple(tl.shape)), dtype=dt)
    tl.backward(torch.tensor(g))
    _close(loss, tl, dt)
    gx = K.cross_entropy_backward(g, x, t, saved, w, ignore_index, reduction, ls)
    _close(gx, tx.grad, dt)
    return saved


INDEX_CASES = list(itertools.product(DTYPES, SHAPES, [False, True], [-100, 1],
                                     ["mean", "sum", "none"], [0.0, 0.25]))


@pytest.mark.parametrize("dt,shapes,weighted,ignore_index,reduction,ls", INDEX_CASES)
def test_cross_entropy_index_targets(dt, shapes, weighted, ignore_index, reduction, ls):
    rng = np.random.default_rng(0)
    xshape, batch = shapes
    c = xshape[0] if len(xshape) == 1 else xshape[1]
    x = (rng.standard_normal(xshape) * 3).astype(dt)
    t = _targets(rng, batch, c, ignore_index)
    w = (rng.random(c) + 0.5).astype(dt) if weighted else None
    saved = _check_ce(x, t, w, ignore_index, reduction, ls, dt, rng)
    # only per-position state is kept for backward, never a softmax of x's size
    assert sum(np.size(s) for s in saved) <= int(np.prod(batch)) + 1


PROB_CASES = list(itertools.product(DTYPES, SHAPES, [False, True], ["mean", "sum", "none"],
                                    [0.0, 0.25]))


@pytest.mark.parametrize("dt,shapes,weighted,reduction,ls", PROB_CASES)
def test_cross_entropy_probability_targets(dt, shapes, weighted, reduction, ls):
    rng = np.random.default_rng(1)
    xshape, _ = shapes
    c = xshape[0] if len(xshape) == 1 else xshape[1]
    x = (rng.standard_normal(xshape) * 3).astype(dt)
    cls_axis = 0 if len(xshape) == 1 else 1
    p = rng.random(xshape)
    p = (p / p.sum(axis=cls_axis, keepdims=True)).astype(dt)
    w = (rng.random(c) + 0.5).astype(dt) if weighted else None
    _check_ce(x, p, w, -100, reduction, ls, dt, rng)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("ls", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_big_logits(dt, ls, reduction):
    rng = np.random.default_rng(2)
    x = (rng.uniform(-1e4, 1e4, (8, 6))).astype(dt)
    x[0] = 1e4
    x[1, :3] = -1e4
    t = rng.integers(0, 6, 8)
    loss, saved = K.cross_entropy_forward(x, t, None, -100, reduction, ls)
    assert np.isfinite(loss).all()
    _check_ce(x, t, None, -100, reduction, ls, dt, rng)
    p = np.full((8, 6), 1 / 6, dt)
    _check_ce(x, p, None, -100, reduction, ls, dt, rng)


def test_cross_entropy_all_ignored_gives_nan_loss_zero_grad():
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.array([2, 2, 2])
    loss, saved = K.cross_entropy_forward(x, t, None, 2, "mean", 0.1)
    assert np.isnan(loss)
    gx = K.cross_entropy_backward(1.0, x, t, saved, None, 2, "mean", 0.1)
    np.testing.assert_array_equal(gx, np.zeros_like(x))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("ls", [0.0, 0.3])
def test_cross_entropy_kdim_several_blocks(dt, reduction, ls):
    # 2 x 600 positions: the K-dim kernels work in blocks of 256 along L
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((2, 5, 20, 30)) * 3).astype(dt)
    t = _targets(rng, (2, 20, 30), 5, 3)
    t[1, 5:9, 7] = 3
    w = (rng.random(5) + 0.5).astype(dt)
    _check_ce(x, t, w, 3, reduction, ls, dt, rng)


def test_cross_entropy_large_batch_parallel_path():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((512, 100)).astype(np.float32)
    t = rng.integers(0, 100, 512)
    _check_ce(x, t, None, -100, "mean", 0.0, np.float32, rng)


def test_cross_entropy_bad_inputs():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"target index 3 is out of range for 3 classes"):
        K.cross_entropy_forward(x, np.array([0, 1, 3, 2]), None, -100, "mean", 0.0)
    with pytest.raises(ValueError, match=r"target index -1 is out of range for 3 classes"):
        K.cross_entropy_forward(x, np.array([0, 1, -1, 2]), None, -100, "mean", 0.0)
    with pytest.raises(ValueError, match=r"target shape \(3,\).*\(4, 3\).*\(4,\)"):
        K.cross_entropy_forward(x, np.array([0, 1, 2]), None, -100, "mean", 0.0)
    with pytest.raises(ValueError, match=r"probability target shape \(4, 2\)"):
        K.cross_entropy_forward(x, np.zeros((4, 2), np.float32), None, -100, "mean", 0.0)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        K.cross_entropy_forward(x, np.zeros(4, np.int64), np.ones(2, np.float32), -100,
                                "mean", 0.0)
    with pytest.raises(ValueError, match="reduction"):
        K.cross_entropy_forward(x, np.zeros(4, np.int64), None, -100, "avg", 0.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        K.cross_entropy_forward(x, np.zeros(4, np.int64), None, -100, "mean", 1.5)
    with pytest.raises(ValueError, match="float32"):
        K.cross_entropy_forward(np.zeros((4, 3), np.int32), np.zeros(4, np.int64), None,
                                -100, "mean", 0.0)


# ---------------------------------------------------------------------- NLL

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_nll_loss(dt, shapes, weighted, reduction, ignore_index):
    rng = np.random.default_rng(4)
    xshape, batch = shapes
    c = xshape[0] if len(xshape) == 1 else xshape[1]
    logp = rng.standard_normal(xshape).astype(dt)
    t = _targets(rng, batch, c, ignore_index)
    w = (rng.random(c) + 0.5).astype(dt) if weighted else None
    loss, total = K.nll_loss_forward(logp, t, w, ignore_index, reduction)
    tx = torch.tensor(logp, requires_grad=True)
    tl = F.nll_loss(tx, torch.tensor(t), None if w is None else torch.tensor(w),
                    ignore_index=ignore_index, reduction=reduction)
    g = np.asarray(rng.standard_normal(tuple(tl.shape)), dtype=dt)
    tl.backward(torch.tensor(g))
    _close(loss, tl, dt)
    gx = K.nll_loss_backward(g, logp, t, w, ignore_index, reduction, total)
    _close(gx, tx.grad, dt)


def test_nll_loss_bad_index():
    with pytest.raises(ValueError, match=r"target index 7 is out of range for 3 classes"):
        K.nll_loss_forward(np.zeros((2, 3)), np.array([0, 7]), None, -100, "mean")


# -------------------------------------------------------------- BCE logits

BCE_BCAST = [(None, None), ((4,), (4,)), ((3, 1), None), (None, (1, 4)), ((2, 3, 4), ()),
             ((), (3, 4))]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("wshape,pwshape", BCE_BCAST)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(dt, wshape, pwshape, reduction):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((2, 3, 4)) * 30).astype(dt)
    x.reshape(-1)[:4] = [1e4, -1e4, 0.0, 1e-3]
    y = rng.random((2, 3, 4)).astype(dt)
    w = None if wshape is None else np.asarray(rng.random(wshape) + 0.5, dtype=dt)
    pw = None if pwshape is None else np.asarray(rng.random(pwshape) * 3, dtype=dt)
    loss = K.bce_with_logits_forward(x, y, w, pw, reduction)
    # torch's float32 result cancels (1-y)*x against the softplus term for large
    # |x|; ours is computed in float64, so the reference is torch in float64.
    def t64(a):
        return None if a is None else torch.tensor(np.asarray(a, dtype=np.float64))
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tl = F.binary_cross_entropy_with_logits(tx, t64(y), t64(w), reduction=reduction,
                                            pos_weight=t64(pw))
    g = np.asarray(rng.standard_normal(tuple(tl.shape)), dtype=dt)
    tl.backward(t64(g))
    assert np.isfinite(loss).all()
    _close(loss, tl, dt)
    gx = K.bce_with_logits_backward(g, x, y, w, pw, reduction)
    _close(gx, tx.grad, dt)


def test_bce_with_logits_large_parallel_path():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((300, 200)).astype(np.float32)
    y = (rng.random((300, 200)) > 0.5).astype(np.float32)
    pw = rng.random(200).astype(np.float32) + 0.5
    loss = K.bce_with_logits_forward(x, y, None, pw, "mean")
    tx = torch.tensor(x, requires_grad=True)
    tl = F.binary_cross_entropy_with_logits(tx, torch.tensor(y), pos_weight=torch.tensor(pw))
    tl.backward()
    _close(loss, tl, np.float32)
    _close(K.bce_with_logits_backward(1.0, x, y, None, pw, "mean"), tx.grad, np.float32)


def test_bce_bad_inputs():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"target shape \(3,\) must equal input shape \(2, 3\)"):
        K.bce_with_logits_forward(x, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) cannot be broadcast"):
        K.bce_with_logits_forward(x, x, None, np.ones(2, np.float32))
    with pytest.raises(ValueError, match=r"grad_loss must be a scalar"):
        K.bce_with_logits_backward(np.ones(2), x, x)
