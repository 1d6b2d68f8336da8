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
    ("ConstantLR", dict()),
    ("ConstantLR", dict(factor=0.5, total_iters=8)),
    ("PolynomialLR", dict()),
    ("PolynomialLR", dict(total_iters=30, power=2.0)),
    ("PolynomialLR", dict(total_iters=25, power=0.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=7)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
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
    ("ConstantLR", dict(factor=0.5, total_iters=15)),
    ("PolynomialLR", dict(total_iters=20, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=_lambda_half)),
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


CYCLIC = [
    ("SGD", dict(base_lr=0.01, max_lr=0.1, step_size_up=5)),
    ("SGD", dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=3, step_size_down=7,
                 mode="triangular2", base_momentum=[0.8, 0.7], max_momentum=0.95)),
    ("SGD", dict(base_lr=0.001, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.97)),
    ("SGD", dict(base_lr=0.01, max_lr=0.1, step_size_up=6, cycle_momentum=False)),
    ("SGD", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=_lambda_half,
                 scale_mode="iterations")),
    ("Adam", dict(base_lr=0.001, max_lr=0.01, step_size_up=5, mode="triangular2")),
]


@pytest.mark.parametrize("kind,kwargs", CYCLIC, ids=str)
def test_cyclic_lr_and_momentum_match_torch(kind, kwargs):
    opt_n, opt_t = _optimizers(kind)
    s_n, s_t = sched.CyclicLR(opt_n, **kwargs), tsched.CyclicLR(opt_t, **kwargs)
    key = "momentum" if kind == "SGD" else "betas"
    ours, ref = _trace(opt_n, s_n, key=key), _trace(opt_t, s_t, key=key)
    _assert_same(ours, ref)
    assert len({str(lr) for lr, _ in ours}) > 3  # the lr really cycles
    if kwargs.get("cycle_momentum", True):
        assert len({str(m) for _, m in ours}) > 3
        for k in ("base_momentum", "max_momentum"):
            assert [g[k] for g in opt_n.param_groups] == [g[k] for g in opt_t.param_groups]


def test_cosine_warm_restarts_fractional_epochs_match_torch():
    for kwargs in (dict(T_0=3), dict(T_0=2, T_mult=3, eta_min=0.01)):
        opt_n, opt_t = _optimizers()
        s_n = sched.CosineAnnealingWarmRestarts(opt_n, **kwargs)
        s_t = tsched.CosineAnnealingWarmRestarts(opt_t, **kwargs)
        batches = 7
        for epoch in range(12):
            for i in range(batches):
                opt_n.step()
                opt_t.step()
                s_n.step(epoch + i / batches)
                s_t.step(epoch + i / batches)
                _assert_same([s_n.get_last_lr()], [s_t.get_last_lr()])
                assert (s_n.T_cur, s_n.T_i, s_n.last_epoch) == (s_t.T_cur, s_t.T_i,
                                                                s_t.last_epoch)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        s_n.step(-1)


def _metric_sequence(n=60, seed=4):
    import random
    r = random.Random(seed)
    value, out = 10.0, []
    for i in range(n):
        value *= 0.97 if i % 9 < 4 else 1.0  # improving stretches and plateaus
        out.append(value + r.uniform(-0.05, 0.05) * (i % 3 == 0))
    return out + [value] * 15  # a long plateau: even the default patience runs out


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(patience=2, factor=0.5),
    dict(mode="max", patience=3, factor=0.3, threshold=0.01),
    dict(mode="min", threshold_mode="abs", threshold=0.05, patience=1, cooldown=3),
    dict(mode="max", threshold_mode="abs", threshold=0.0, patience=0, cooldown=1),
    dict(patience=1, factor=0.2, min_lr=[0.005, 0.001]),
    dict(patience=0, factor=0.5, min_lr=0.02, eps=1e-3),
], ids=str)
def test_reduce_on_plateau_matches_torch(kwargs):
    opt_n, opt_t = _optimizers()
    s_n = sched.ReduceLROnPlateau(opt_n, **kwargs)
    s_t = tsched.ReduceLROnPlateau(opt_t, **kwargs)
    lrs_n, lrs_t = [s_n.get_last_lr()], [s_t.get_last_lr()]
    for m in _metric_sequence():
        opt_n.step()
        opt_t.step()
        s_n.step(m)
        s_t.step(m)
        lrs_n.append(list(s_n.get_last_lr()))
        lrs_t.append(list(s_t.get_last_lr()))
        assert (s_n.best, s_n.num_bad_epochs, s_n.cooldown_counter) == (
            s_t.best, s_t.num_bad_epochs, s_t.cooldown_counter)
    _assert_same(lrs_n, lrs_t)
    assert len({str(lr) for lr in lrs_n}) > 1  # the lr was reduced at least once


def test_reduce_on_plateau_state_dict_resume():
    metrics = _metric_sequence()
    opt, _ = _optimizers()
    full = sched.ReduceLROnPlateau(opt, mode="max", patience=2, cooldown=1)
    full_lrs = []
    for m in metrics:
        full.step(-m)
        full_lrs.append(full.get_last_lr())
    opt_a, _ = _optimizers()
    s_a = sched.ReduceLROnPlateau(opt_a, mode="max", patience=2, cooldown=1)
    for m in metrics[:25]:
        s_a.step(-m)
    saved, saved_o = copy.deepcopy(s_a.state_dict()), copy.deepcopy(opt_a.state_dict())
    opt_b, _ = _optimizers()
    s_b = sched.ReduceLROnPlateau(opt_b)
    opt_b.load_state_dict(saved_o)
    s_b.load_state_dict(saved)
    rest = []
    for m in metrics[25:]:
        s_b.step(-m)
        rest.append(s_b.get_last_lr())
    assert s_b.mode == "max" and rest == full_lrs[25:]


def _sequential(mod, opt):
    return [mod.ConstantLR(opt, factor=0.2, total_iters=4),
            mod.ExponentialLR(opt, gamma=0.9),
            mod.CosineAnnealingLR(opt, T_max=8, eta_min=0.001)]


@pytest.mark.parametrize("milestones", [[5, 17], [1, 2], [0, 30]])
def test_sequential_lr_matches_torch(milestones):
    opt_n, opt_t = _optimizers()
    s_n = sched.SequentialLR(opt_n, _sequential(sched, opt_n), milestones=milestones)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_t = tsched.SequentialLR(opt_t, _sequential(tsched, opt_t), milestones=milestones)
    _assert_same(_trace(opt_n, s_n), _trace(opt_t, s_t))


def test_chained_scheduler_class_matches_torch():
    opt_n, opt_t = _optimizers()
    s_n = sched.ChainedScheduler([sched.ConstantLR(opt_n, factor=0.1, total_iters=3),
                                  sched.ExponentialLR(opt_n, gamma=0.9),
                                  sched.PolynomialLR(opt_n, total_iters=30)])
    s_t = tsched.ChainedScheduler([tsched.ConstantLR(opt_t, factor=0.1, total_iters=3),
                                   tsched.ExponentialLR(opt_t, gamma=0.9),
                                   tsched.PolynomialLR(opt_t, total_iters=30)])
    _assert_same(_trace(opt_n, s_n), _trace(opt_t, s_t))


@pytest.mark.parametrize("kind", ["SequentialLR", "ChainedScheduler"])
def test_scheduler_lists_state_dict_resume(kind):
    def make(opt):
        parts = _sequential(sched, opt)[:2]
        if kind == "SequentialLR":
            return sched.SequentialLR(opt, parts, milestones=[6])
        return sched.ChainedScheduler(parts)

    opt, _ = _optimizers()
    full = _trace(opt, make(opt), steps=20)
    opt_a, _ = _optimizers()
    s_a = make(opt_a)
    first = _trace(opt_a, s_a, steps=9)
    saved, saved_o = copy.deepcopy(s_a.state_dict()), copy.deepcopy(opt_a.state_dict())
    assert len(saved["_schedulers"]) == 2 and "optimizer" not in saved["_schedulers"][0]
    opt_b, _ = _optimizers()
    s_b = make(opt_b)
    opt_b.load_state_dict(saved_o)
    s_b.load_state_dict(saved)
    assert first + _trace(opt_b, s_b, steps=11)[1:] == full


def _both_raise(make):
    """``make(module, optimizer)`` raises the same exception and message for both."""
    opt_n, opt_t = _optimizers()
    with pytest.raises(Exception) as ref:
        make(tsched, opt_t)
    with pytest.raises(type(ref.value)) as ours:
        make(sched, opt_n)
    assert str(ours.value) == str(ref.value)


@pytest.mark.parametrize("make", [
    lambda m, o: m.ConstantLR(o, factor=1.5),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, eta_min="0"),
    lambda m, o: m.CyclicLR(o, base_lr=0.1, max_lr=1.0, mode="cubic"),
    lambda m, o: m.CyclicLR(o, base_lr=[0.1], max_lr=1.0),
    lambda m, o: m.ReduceLROnPlateau(o, factor=1.0),
    lambda m, o: m.ReduceLROnPlateau(o, mode="best"),
    lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="ratio"),
    lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda m, o: m.SequentialLR(o, [], milestones=[]),
    lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ConstantLR(o)], milestones=[]),
    lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ReduceLROnPlateau(o)],
                                milestones=[3]),
    lambda m, o: m.ChainedScheduler([]),
    lambda m, o: m.ChainedScheduler([m.ConstantLR(o), m.ReduceLROnPlateau(o)]),
], ids=lambda f: "")
def test_new_scheduler_argument_errors_match_torch(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _both_raise(make)


def test_cyclic_needs_momentum_and_plateau_min_lr_groups():
    class PlainOpt(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    with pytest.raises(ValueError, match="momentum or beta1"):
        sched.CyclicLR(PlainOpt([nt.nn.Parameter(nt.zeros(1))]), base_lr=0.1, max_lr=1.0)
    opt, _ = _optimizers()
    s = sched.ReduceLROnPlateau(opt, min_lr=[0.0, 0.0], patience=0)
    opt.add_param_group({"params": [nt.nn.Parameter(nt.zeros(1))]})
    s.step(1.0)
    with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau`"):
        s.step(2.0)


def test_new_exported_names():
    for name in ["ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR",
                 "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"]:
        assert issubclass(getattr(sched, name), sched.LRScheduler)
        assert name in sched.__all__


@pytest.mark.parametrize("make", [
    lambda m, o: m.ConstantLR(o),
    lambda m, o: m.PolynomialLR(o),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3),
    lambda m, o: m.CyclicLR(o, 0.01, 0.1),
    lambda m, o: m.ReduceLROnPlateau(o),
    lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ExponentialLR(o, 0.9)], [3]),
    lambda m, o: m.ChainedScheduler([m.ConstantLR(o), m.ExponentialLR(o, 0.9)]),
], ids=lambda f: "")
def test_new_scheduler_state_dict_keys_match_torch(make):
    opt_n, opt_t = _optimizers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert set(make(sched, opt_n).state_dict()) == set(make(tsched, opt_t).state_dict())
