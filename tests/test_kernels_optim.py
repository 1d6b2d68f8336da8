"""The fused SGD / Adam / AdamW kernels follow torch.optim step for step."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nanotorch.kernels import optim as K  # noqa: E402

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
SIZES = [1, 37, 70_000]   # 70_000 takes the parallel path
STEPS = 10


def _problem(n, dt, seed=0):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n).astype(dt)
    grads = [rng.standard_normal(n).astype(dt) for _ in range(STEPS)]
    return p0, grads


def _torch_run(opt_cls, p0, grads, **kw):
    tp = torch.tensor(p0.copy(), requires_grad=True)
    opt = opt_cls([tp], **kw)
    for g in grads:
        tp.grad = torch.tensor(g)
        opt.step()
    return tp.detach().numpy(), opt.state[tp]


SGD_CASES = [
    dict(),
    dict(weight_decay=0.1),
    dict(momentum=0.9),
    dict(momentum=0.9, dampening=0.3),
    dict(momentum=0.8, weight_decay=0.05, dampening=0.1, maximize=True),
    dict(momentum=0.9, nesterov=True),
    dict(momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    dict(maximize=True),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_matches_torch(dt, n, kw):
    p0, grads = _problem(n, dt)
    ref, state = _torch_run(torch.optim.SGD, p0, grads, lr=0.1, **kw)
    p = p0.copy()
    momentum = kw.get("momentum", 0.0)
    buf = np.zeros_like(p) if momentum else None
    for k, g in enumerate(grads):
        g_before = g.copy()
        K.sgd_step(p, g, buf, 0.1, momentum, kw.get("dampening", 0.0),
                   kw.get("weight_decay", 0.0), kw.get("nesterov", False),
                   kw.get("maximize", False), k == 0)
        np.testing.assert_array_equal(g, g_before)   # the gradient is read only
    np.testing.assert_allclose(p, ref, **TOL[dt])
    if momentum:
        np.testing.assert_allclose(buf, state["momentum_buffer"].numpy(), **TOL[dt])


ADAM_CASES = [
    (torch.optim.Adam, dict()),
    (torch.optim.Adam, dict(weight_decay=0.1)),
    (torch.optim.Adam, dict(amsgrad=True)),
    (torch.optim.Adam, dict(amsgrad=True, weight_decay=0.05, maximize=True)),
    (torch.optim.Adam, dict(betas=(0.3, 0.5), eps=1e-3)),
    (torch.optim.AdamW, dict()),
    (torch.optim.AdamW, dict(weight_decay=0.3, amsgrad=True)),
    (torch.optim.AdamW, dict(weight_decay=0.1, maximize=True, betas=(0.8, 0.99))),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("opt_cls,kw", ADAM_CASES)
def test_adam_matches_torch(dt, n, opt_cls, kw):
    p0, grads = _problem(n, dt, seed=1)
    ref, state = _torch_run(opt_cls, p0, grads, lr=0.01, **kw)
    beta1, beta2 = kw.get("betas", (0.9, 0.999))
    decoupled = opt_cls is torch.optim.AdamW
    wd = kw.get("weight_decay", 0.01 if decoupled else 0.0)
    p = p0.copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    vmax = np.zeros_like(p) if kw.get("amsgrad") else None
    for k, g in enumerate(grads):
        K.adam_step(p, g, m, v, k + 1, 0.01, beta1, beta2, kw.get("eps", 1e-8), wd, vmax,
                    kw.get("maximize", False), decoupled)
    np.testing.assert_allclose(p, ref, **TOL[dt])
    np.testing.assert_allclose(m, state["exp_avg"].numpy(), **TOL[dt])
    np.testing.assert_allclose(v, state["exp_avg_sq"].numpy(), **TOL[dt])
    if vmax is not None:
        np.testing.assert_allclose(vmax, state["max_exp_avg_sq"].numpy(), **TOL[dt])


def test_updates_multi_dim_param_in_place():
    p0, grads = _problem(12, np.float32)
    p = p0.reshape(3, 4).copy()
    view = p
    K.adam_step(p, grads[0].reshape(3, 4), np.zeros_like(p), np.zeros_like(p), 1, 0.1)
    assert view is p and not np.array_equal(p, p0.reshape(3, 4))
    ref, _ = _torch_run(torch.optim.Adam, p0.reshape(3, 4), [grads[0].reshape(3, 4)], lr=0.1)
    np.testing.assert_allclose(p, ref, **TOL[np.float32])


def test_bad_inputs():
    p = np.zeros(4, np.float32)
    g = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"grad \(3,\) float32 does not match param \(4,\)"):
        K.sgd_step(p, np.zeros(3, np.float32), None, 0.1)
    with pytest.raises(ValueError, match="needs a momentum_buf"):
        K.sgd_step(p, g, None, 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="nesterov needs momentum > 0 and dampening == 0"):
        K.sgd_step(p, g, np.zeros_like(p), 0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr must be >= 0, got -1"):
        K.sgd_step(p, g, None, -1.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        K.sgd_step(np.zeros((4, 4), np.float32).T, np.zeros((4, 4), np.float32), None, 0.1)
    with pytest.raises(ValueError, match=r"exp_avg_sq \(4,\) float64 does not match"):
        K.adam_step(p, g, np.zeros_like(p), np.zeros(4), 1, 0.1)
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\), got 1.0"):
        K.adam_step(p, g, np.zeros_like(p), np.zeros_like(p), 1, 0.1, 0.9, 1.0)
    with pytest.raises(ValueError, match="step must be an integer >= 1, got 0"):
        K.adam_step(p, g, np.zeros_like(p), np.zeros_like(p), 0, 0.1)
    with pytest.raises(ValueError, match="int64"):
        K.sgd_step(np.zeros(4, np.int64), np.zeros(4, np.int64), None, 0.1)
