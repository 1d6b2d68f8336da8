"""nanotorch.optim.lr_scheduler vs torch: the same lr (and momentum) sequences step by step."""
import copy
import warnings

import pytest

import nanotorch as nt
import nanotorch.optim as optim
from nanotorch.optim import lr_scheduler as sched

torch = pytest.importorskip("torch")
tsched = torch.optim.lr_scheduler

STEPS = 40


def _optimizers(kind="SGD", lrs=(0.1, 0.03)):
    ps = [nt.nn.Parameter(nt.zeros(2)) for _ in lrs]
    qs = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    if kind == "SGD":
        return (optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], momentum=0.9),
                torch.optim.SGD([{"params": [q], "lr": lr} for q, lr in zip(qs, lrs)],
                                momentum=0.9))
    return (optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)]),
            torch.optim.Adam([{"params": [q], "lr": lr} for q, lr in zip(qs, lrs)]))


def _trace(opt, s, steps=STEPS, key=None):
    out = [(list(s.get_last_lr()), [g.get(key) for g in opt.param_groups])]
    for _ in range(steps):
        opt.step()
        s.step()
        out.append((list(s.get_last_lr()), [g.get(key) for g in opt.param_groups]))
        assert [g["lr"] for g in opt.param_groups] == out[-1][0]
    return out


def _assert_same(ours, ref):
    assert len(ours) == len(ref)
    for i, (a, b) in enumerate(zip(ours, ref)):
        assert a == b, f"step {i}: {a} vs {b}"


def _lambda_half(epoch):
    return 0.5 ** (epoch // 4)


CASES = [
    ("StepLR", dict(step_size=7)),
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),  # stepped past T_max: periodic
    ("CosineAnnealingLR", dict(T_max=35, eta_min=0.001)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=8)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e)),
    ("LambdaLR", dict(lr_lambda=[_lambda_half, lambda e: 1.0 / (e + 1)])),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_lr_sequence_matches_torch(name, kwargs):
    opt_n, opt_t = _optimizers()
    s_n = getattr(sched, name)(opt_n, **kwargs)
    s_t = getattr(tsched, name)(opt_t, **kwargs)
    assert s_n.last_epoch == s_t.last_epoch == 0
    _assert_same(_trace(opt_n, s_n), _trace(opt_t, s_t))
    assert s_n.last_epoch == STEPS


ONECYCLE = [
    ("SGD", dict(max_lr=1.0, total_steps=STEPS)),
    ("SGD", dict(max_lr=[0.5, 2.0], epochs=4, steps_per_epoch=10, anneal_strategy="linear")),
    ("SGD", dict(max_lr=0.3, total_steps=STEPS, three_phase=True, pct_start=0.25)),
    ("SGD", dict(max_lr=0.3, total_steps=STEPS, cycle_momentum=False, div_factor=10.0,
                 final_div_factor=100.0)),
    ("SGD", dict(max_lr=0.3, total_steps=STEPS, base_momentum=[0.8, 0.7],
                 max_momentum=[0.9, 0.99], three_phase=True, anneal_strategy="linear")),
    ("Adam", dict(max_lr=0.01, total_steps=STEPS)),
    ("Adam", dict(max_lr=0.01, total_steps=STEPS, three_phase=True, base_momentum=0.8)),
]


@pytest.mark.parametrize("kind,kwargs", ONECYCLE, ids=str)
def test_onecycle_lr_and_momentum_match_torch(kind, kwargs):
    opt_n, opt_t = _optimizers(kind)
    s_n = sched.OneCycleLR(opt_n, **kwargs)
    s_t = tsched.OneCycleLR(opt_t, **kwargs)
    key = "momentum" if kind == "SGD" else "betas"
    ours, ref = _trace(opt_n, s_n, key=key), _trace(opt_t, s_t, key=key)
    _assert_same([lr for lr, _ in ours], [lr for lr, _ in ref])
    _assert_same([m for _, m in ours], [m for _, m in ref])
    for k in ("initial_lr", "max_lr", "min_lr"):
        assert [g[k] for g in opt_n.param_groups] == [g[k] for g in opt_t.param_groups]
    if kwargs.get("cycle_momentum", True):
        assert len({str(m) for _, m in ours}) > 3  # momentum really cycles
    with pytest.raises(ValueError, match=f"Tried to step {STEPS + 1} times"):
        opt_n.step()
        s_n.step()


def test_chained_schedulers_match_torch():
    opt_n, opt_t = _optimizers()
    pair_n = [sched.LinearLR(opt_n, start_factor=0.1, total_iters=6),
              sched.ExponentialLR(opt_n, gamma=0.95)]
    pair_t = [tsched.LinearLR(opt_t, start_factor=0.1, total_iters=6),
              tsched.ExponentialLR(opt_t, gamma=0.95)]
    lrs_n, lrs_t = [], []
    for _ in range(30):
        for opt, pair, out in ((opt_n, pair_n, lrs_n), (opt_t, pair_t, lrs_t)):
            opt.step()
            for s in pair:
                s.step()
            out.append([g["lr"] for g in opt.param_groups])
    _assert_same(lrs_n, lrs_t)


@pytest.mark.parametrize("name,kwargs", [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 9])),
    ("CosineAnnealingLR", dict(T_max=12)),
    ("LinearLR", dict(start_factor=0.25, total_iters=10)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS)),
    ("LambdaLR", dict(lr_lambda=_lambda_half)),
])
def test_state_dict_resume(name, kwargs):
    opt, _ = _optimizers()
    s = getattr(sched, name)(opt, **kwargs)
    full = _trace(opt, s, steps=30)

    opt_a, _ = _optimizers()
    s_a = getattr(sched, name)(opt_a, **kwargs)
    first = _trace(opt_a, s_a, steps=12)
    saved_s, saved_o = copy.deepcopy(s_a.state_dict()), copy.deepcopy(opt_a.state_dict())
    assert "optimizer" not in saved_s and saved_s["last_epoch"] == 12

    opt_b, _ = _optimizers(lrs=(9.0, 9.0))
    s_b = getattr(sched, name)(opt_b, **kwargs)
    opt_b.load_state_dict(saved_o)
    s_b.load_state_dict(saved_s)
    rest = _trace(opt_b, s_b, steps=18)
    assert first + rest[1:] == full


@pytest.mark.parametrize("name,kwargs", [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 9, 9])),
    ("ExponentialLR", dict(gamma=0.8)),
    ("CosineAnnealingLR", dict(T_max=12, eta_min=0.01)),
    ("LinearLR", dict(start_factor=0.25, total_iters=10)),
])
def test_step_with_epoch_uses_closed_form(name, kwargs):
    opt_n, opt_t = _optimizers()
    s_n, s_t = getattr(sched, name)(opt_n, **kwargs), getattr(tsched, name)(opt_t, **kwargs)
    opt_n.step()
    opt_t.step()
    for epoch in [5, 2, 11, 20]:
        with pytest.warns(UserWarning, match="epoch parameter"):
            s_n.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s_t.step(epoch)
        _assert_same([s_n.get_last_lr()], [s_t.get_last_lr()])


def test_resuming_with_last_epoch():
    opt, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(opt, step_size=3, last_epoch=5)
    opt_n, opt_t = _optimizers()
    for o in (opt_n, opt_t):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    s_n = sched.CosineAnnealingLR(opt_n, T_max=20, last_epoch=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_t = tsched.CosineAnnealingLR(opt_t, T_max=20, last_epoch=7)
    _assert_same(_trace(opt_n, s_n, steps=10), _trace(opt_t, s_t, steps=10))


def test_step_order_warning():
    opt, _ = _optimizers()
    s = sched.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    opt, _ = _optimizers()
    s = sched.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()


def test_argument_errors():
    opt, _ = _optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="total_steps OR"):
        sched.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="positive integer total_steps"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=5, anneal_strategy="exp")
    with pytest.raises(ValueError, match="pct_start"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=5, pct_start=1.5)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        sched.OneCycleLR(opt, max_lr=[0.1, 0.2, 0.3], total_steps=5)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        sched.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        sched.LambdaLR(opt, lr_lambda=[_lambda_half])

    class PlainOpt(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    with pytest.raises(ValueError, match="momentum or beta1"):
        sched.OneCycleLR(PlainOpt([nt.nn.Parameter(nt.zeros(1))]), max_lr=1.0, total_steps=5)


def test_exported_names():
    for name in ["LRScheduler", "StepLR", "MultiStepLR", "CosineAnnealingLR", "LinearLR",
                 "OneCycleLR", "ExponentialLR", "LambdaLR"]:
        assert issubclass(getattr(sched, name), sched.LRScheduler)
        assert name in sched.__all__
