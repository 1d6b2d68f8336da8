"""nanotorch.optim vs torch.optim: same initial weights and gradient sequence, same updates."""
import copy

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.optim as optim
from nanotorch.tensor import Tensor

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (5,), (2, 3, 2)]
STEPS = 12


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


def _init(dtype, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(dtype, steps=STEPS, seed=1):
    r = np.random.default_rng(seed)
    return [[r.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]


def _pair(arrays):
    ours = [nt.nn.Parameter(nt.tensor(a.copy())) for a in arrays]
    ref = [torch.nn.Parameter(torch.tensor(a.copy())) for a in arrays]
    return ours, ref


def _step_both(opt_n, opt_t, ours, ref, grads):
    for p, q, g in zip(ours, ref, grads):
        p.grad = nt.tensor(g.copy())
        q.grad = torch.tensor(g.copy())
    opt_n.step()
    opt_t.step()


def _assert_params(ours, ref, dtype):
    for p, q in zip(ours, ref):
        assert p.dtype.np == dtype
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **_tol(dtype))


def _run_parity(name, kwargs, dtype):
    ours, ref = _pair(_init(dtype))
    opt_n = getattr(optim, name)(ours, **kwargs)
    opt_t = getattr(torch.optim, name)(ref, **kwargs)
    for grads in _grads(dtype):
        _step_both(opt_n, opt_t, ours, ref, grads)
        _assert_params(ours, ref, dtype)
    return opt_n, opt_t, ours, ref


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(),  # default lr
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True),
    dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", SGD_CONFIGS, ids=str)
def test_sgd_matches_torch(kwargs, dtype):
    opt_n, opt_t, ours, _ = _run_parity("SGD", kwargs, dtype)
    if kwargs.get("momentum", 0):
        for p, q in zip(ours, opt_t.param_groups[0]["params"]):
            buf_n = opt_n.state[p]["momentum_buffer"]
            assert isinstance(buf_n, Tensor)
            np.testing.assert_allclose(buf_n.numpy(), opt_t.state[q]["momentum_buffer"].numpy(),
                                       **_tol(dtype))
    else:
        assert len(opt_n.state) == 0


ADAM_CONFIGS = [
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True, amsgrad=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.02, betas=(0.5, 0.9), maximize=True)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", ADAM_CONFIGS, ids=str)
def test_adam_matches_torch(name, kwargs, dtype):
    opt_n, opt_t, ours, ref = _run_parity(name, kwargs, dtype)
    keys = {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if kwargs.get("amsgrad")
                                                 else set())
    for p, q in zip(ours, ref):
        st_n, st_t = opt_n.state[p], opt_t.state[q]
        assert set(st_n) == set(st_t) == keys
        assert st_n["step"].dtype == nt.float32 and st_n["step"].item() == STEPS
        for k in keys - {"step"}:
            np.testing.assert_allclose(st_n[k].numpy(), st_t[k].numpy(), **_tol(dtype))


def test_defaults_match_torch():
    p = nt.nn.Parameter(nt.zeros(2))
    q = torch.nn.Parameter(torch.zeros(2))
    for name in ["SGD", "Adam", "AdamW"]:
        g_n = getattr(optim, name)([p]).param_groups[0]
        g_t = getattr(torch.optim, name)([q]).param_groups[0]
        assert set(g_n) == set(g_t)
        for k in g_t:
            if k != "params":
                assert g_n[k] == g_t[k], (name, k)


def test_param_groups_with_own_lr():
    dtype = np.float64
    arrays = _init(dtype)
    ours, ref = _pair(arrays)
    groups_n = [{"params": ours[:1], "lr": 0.5, "momentum": 0.0}, {"params": ours[1:]}]
    groups_t = [{"params": ref[:1], "lr": 0.5, "momentum": 0.0}, {"params": ref[1:]}]
    opt_n = optim.SGD(groups_n, lr=0.01, momentum=0.9)
    opt_t = torch.optim.SGD(groups_t, lr=0.01, momentum=0.9)
    assert [g["lr"] for g in opt_n.param_groups] == [0.5, 0.01]
    assert opt_n.param_groups[1]["momentum"] == 0.9 and opt_n.param_groups[1]["nesterov"] is False
    for grads in _grads(dtype):
        _step_both(opt_n, opt_t, ours, ref, grads)
    _assert_params(ours, ref, dtype)
    assert ours[0] not in opt_n.state and ours[1] in opt_n.state

    # Adam groups, one added later with add_param_group
    ours, ref = _pair(arrays)
    opt_n = optim.Adam([{"params": ours[:2], "lr": 0.1}], lr=0.01, betas=(0.85, 0.99))
    opt_t = torch.optim.Adam([{"params": ref[:2], "lr": 0.1}], lr=0.01, betas=(0.85, 0.99))
    opt_n.add_param_group({"params": ours[2], "weight_decay": 0.2})
    opt_t.add_param_group({"params": ref[2], "weight_decay": 0.2})
    assert opt_n.param_groups[1]["lr"] == 0.01 and opt_n.param_groups[1]["betas"] == (0.85, 0.99)
    for grads in _grads(dtype):
        _step_both(opt_n, opt_t, ours, ref, grads)
    _assert_params(ours, ref, dtype)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
])
def test_state_dict_roundtrip_continues_identically(name, kwargs):
    dtype = np.float32
    arrays, grads = _init(dtype), _grads(dtype)
    ours, ref = _pair(arrays)
    groups_n = [{"params": ours[:1], "lr": kwargs["lr"] * 2}, {"params": ours[1:]}]
    groups_t = [{"params": ref[:1], "lr": kwargs["lr"] * 2}, {"params": ref[1:]}]
    opt_n = getattr(optim, name)(groups_n, **kwargs)
    opt_t = getattr(torch.optim, name)(groups_t, **kwargs)
    for g in grads[:5]:
        _step_both(opt_n, opt_t, ours, ref, g)

    sd_n, sd_t = copy.deepcopy(opt_n.state_dict()), opt_t.state_dict()
    # PyTorch's layout: int indices over all groups, same group keys and state keys
    assert [g["params"] for g in sd_n["param_groups"]] == [[0], [1, 2]]
    assert [set(g) for g in sd_n["param_groups"]] == [set(g) for g in sd_t["param_groups"]]
    assert set(sd_n["state"]) == set(sd_t["state"]) == {0, 1, 2}
    for i in range(3):
        assert set(sd_n["state"][i]) == set(sd_t["state"][i])

    # restore into fresh parameters and a fresh optimizer, then keep going
    resumed, opt_r = _resume(name, ours, sd_n, lr=1.0)
    assert opt_r.param_groups[0]["lr"] == kwargs["lr"] * 2
    assert opt_r.param_groups[0]["params"][0] is resumed[0]
    _continue_both(opt_n, opt_r, ours, resumed, grads[5:])
    for g in grads[5:]:
        for p, q in zip(ref, g):
            p.grad = torch.tensor(q.copy())
        opt_t.step()
    _assert_params(resumed, ref, dtype)


def _resume(name, ours, state_dict, **kwargs):
    """Copies of ``ours`` (two groups) under a fresh optimizer ``name`` that loads
    ``state_dict``: ``(params, optimizer)``."""
    resumed = [nt.nn.Parameter(nt.tensor(p.detach().numpy().copy())) for p in ours]
    opt_r = getattr(optim, name)([{"params": resumed[:1]}, {"params": resumed[1:]}], **kwargs)
    opt_r.load_state_dict(state_dict)
    return resumed, opt_r


def _continue_both(opt, opt_r, ours, resumed, grads):
    """Step the original and the resumed optimizer on the same gradients: the parameters
    stay bit-identical."""
    for g in grads:
        for p, q, a in zip(ours, resumed, g):
            p.grad, q.grad = nt.tensor(a.copy()), nt.tensor(a.copy())
        opt.step()
        opt_r.step()
    for p, q in zip(ours, resumed):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_casts_and_copies():
    p = nt.nn.Parameter(nt.ones(3, dtype=nt.float64))
    opt = optim.Adam([p])
    sd = {"state": {0: {"step": 2.0, "exp_avg": nt.ones(3, dtype=nt.float32),
                        "exp_avg_sq": nt.ones(3, dtype=nt.float32)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    st = opt.state[p]
    assert st["exp_avg"].dtype == nt.float64 and isinstance(st["step"], Tensor)
    assert st["step"].item() == 2.0
    sd["state"][0]["exp_avg_sq"]._array[:] = 5  # the optimizer holds its own copy
    assert st["exp_avg_sq"].numpy().tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 1, "params": [0, 1]}]})


def test_zero_grad_semantics():
    p = nt.nn.Parameter(nt.ones(3))
    opt = optim.SGD([p], lr=0.1, weight_decay=0.5)
    p.grad = nt.ones(3)
    opt.zero_grad()
    assert p.grad is None
    p.grad = nt.ones(3)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and g.numpy().tolist() == [0.0, 0.0, 0.0]
    # a zero gradient still steps (weight decay moves p); a None gradient does not
    q = torch.nn.Parameter(torch.ones(3))
    opt_t = torch.optim.SGD([q], lr=0.1, weight_decay=0.5)
    q.grad = torch.ones(3)
    opt_t.zero_grad(set_to_none=False)
    opt.step()
    opt_t.step()
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy())
    assert p.detach().numpy()[0] != 1.0
    opt.zero_grad()
    before = p.detach().numpy().copy()
    opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), before)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5),
])
def test_frozen_params_stay_bit_identical(make):
    r = np.random.default_rng(3)
    w = nt.nn.Parameter(nt.tensor(r.standard_normal((3, 2)).astype(np.float32)))
    frozen = nt.nn.Parameter(nt.tensor(r.standard_normal((2,)).astype(np.float32)),
                             requires_grad=False)
    unused = nt.nn.Parameter(nt.tensor(r.standard_normal((4,)).astype(np.float32)))
    frozen_before, unused_before = frozen.numpy().copy(), unused.detach().numpy().copy()
    w_before = w.detach().numpy().copy()
    opt = make([w, frozen, unused])
    x = nt.tensor(r.standard_normal((5, 3)).astype(np.float32))
    for _ in range(4):
        opt.zero_grad()
        loss = ((x @ w + frozen) ** 2).sum()
        loss.backward()
        assert frozen.grad is None and unused.grad is None
        opt.step()
    assert frozen.numpy().tobytes() == frozen_before.tobytes()
    assert unused.detach().numpy().tobytes() == unused_before.tobytes()
    assert frozen not in opt.state and unused not in opt.state
    assert not np.array_equal(w.detach().numpy(), w_before)


def test_updates_in_place_and_bump_version():
    p = nt.nn.Parameter(nt.ones(4))
    arr = p._array
    for opt in [optim.SGD([p], lr=0.1, momentum=0.9), optim.Adam([p]), optim.AdamW([p])]:
        v = p._version
        p.grad = nt.ones(4)
        opt.step()
        assert p._array is arr and p._version > v


def test_non_contiguous_param_matches_torch():
    base = np.random.default_rng(5).standard_normal((3, 4))
    p = nt.nn.Parameter(Tensor._wrap(base.copy().T))  # a transposed, non-contiguous view
    assert not p.is_contiguous()
    q = torch.nn.Parameter(torch.tensor(base.copy()).t())
    opt_n, opt_t = optim.Adam([p], lr=0.1, amsgrad=True), torch.optim.Adam([q], lr=0.1,
                                                                          amsgrad=True)
    arr = p._array
    for g in np.random.default_rng(6).standard_normal((5, 4, 3)):
        p.grad, q.grad = nt.tensor(g), torch.tensor(g)
        opt_n.step()
        opt_t.step()
    assert p._array is arr
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-11, atol=1e-12)


def test_training_loop_matches_torch():
    r = np.random.default_rng(7)
    x, y = r.standard_normal((16, 3)), r.standard_normal((16, 1))
    w0, b0 = r.standard_normal((3, 1)), np.zeros(1)
    w, b = nt.nn.Parameter(nt.tensor(w0)), nt.nn.Parameter(nt.tensor(b0))
    wt, bt = torch.nn.Parameter(torch.tensor(w0)), torch.nn.Parameter(torch.tensor(b0))
    opt_n = optim.AdamW([w, b], lr=0.05)
    opt_t = torch.optim.AdamW([wt, bt], lr=0.05)
    xn, yn, xt, yt = nt.tensor(x), nt.tensor(y), torch.tensor(x), torch.tensor(y)
    for _ in range(15):
        def closure_n():
            opt_n.zero_grad()
            loss = ((xn @ w + b - yn) ** 2).mean()
            loss.backward()
            return loss

        def closure_t():
            opt_t.zero_grad()
            loss = ((xt @ wt + bt - yt) ** 2).mean()
            loss.backward()
            return loss

        with nt.no_grad():  # the closure re-enables grad
            ln = opt_n.step(closure_n)
        lt = opt_t.step(closure_t)
        assert ln.item() == pytest.approx(lt.item(), rel=1e-10)
    np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy(), rtol=1e-10)


def _assert_same_value_error(name, kwargs):
    """Constructing optimizer ``name`` with ``kwargs`` raises torch's ValueError message."""
    with pytest.raises(ValueError) as ref:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(1))], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([nt.nn.Parameter(nt.zeros(1))], **kwargs)
    assert str(ours.value) == str(ref.value)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=-0.1)),
    ("SGD", dict(momentum=-0.5)),
    ("SGD", dict(weight_decay=-1.0)),
    ("SGD", dict(lr=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-0.1)),
    ("Adam", dict(eps=-1e-8)),
    ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(weight_decay=-0.1)),
    ("AdamW", dict(betas=(-0.5, 0.999))),
])
def test_argument_errors_match_torch(name, kwargs):
    _assert_same_value_error(name, kwargs)


def test_param_list_errors():
    p = nt.nn.Parameter(nt.zeros(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


def test_named_params_and_hooks():
    a, b = nt.nn.Parameter(nt.ones(2)), nt.nn.Parameter(nt.ones(3))
    opt = optim.SGD([("a", a), ("b", b)], lr=0.5)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kw: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kw: calls.append("post"))
    a.grad = nt.ones(2)
    opt.step()
    assert calls == ["pre", "post"] and a.detach().numpy().tolist() == [0.5, 0.5]
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]


def test_exported_names():
    assert set(optim.__all__) >= {"Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"}
    assert issubclass(optim.AdamW, optim.Adam) and issubclass(optim.SGD, optim.Optimizer)


NEW_CONFIGS = [
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, maximize=True, weight_decay=0.05)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3)),
    ("Adagrad", dict(lr=0.05, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.7, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),  # rho_t <= 5 for the first steps: the un-rectified branch
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),  # rectified from step 6
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.8), weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True)),
]
NEW_NAMES = sorted({name for name, _ in NEW_CONFIGS})


def _assert_states_match(opt_n, opt_t, ours, ref, dtype):
    for p, q in zip(ours, ref):
        st_n, st_t = opt_n.state[p], opt_t.state[q]
        assert set(st_n) == set(st_t)
        for k, v in st_t.items():
            assert isinstance(st_n[k], Tensor)
            assert st_n[k].dtype.np == v.numpy().dtype, k  # 'step' float32 as in torch
            np.testing.assert_allclose(st_n[k].numpy(), v.numpy(), **_tol(dtype), err_msg=k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", NEW_CONFIGS, ids=str)
def test_more_optimizers_match_torch(name, kwargs, dtype):
    opt_n, opt_t, ours, ref = _run_parity(name, kwargs, dtype)
    _assert_states_match(opt_n, opt_t, ours, ref, dtype)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"] + NEW_NAMES)
def test_all_defaults_match_torch(name):
    g_n = getattr(optim, name)([nt.nn.Parameter(nt.zeros(2))]).param_groups[0]
    g_t = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))]).param_groups[0]
    assert set(g_n) == set(g_t)
    for k in g_t:
        if k != "params":
            assert g_n[k] == g_t[k], k


@pytest.mark.parametrize("name,kwargs", [
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adadelta", dict(lr=0.5)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9))),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
])
def test_torch_state_dict_loads_and_continues(name, kwargs):
    """torch's optimizer.state_dict() (tensors converted) drives a nanotorch optimizer
    onwards exactly as the torch optimizer continues."""
    dtype = np.float32
    arrays, grads = _init(dtype), _grads(dtype)
    ours, ref = _pair(arrays)
    groups_t = [{"params": ref[:1], "lr": kwargs["lr"] * 2}, {"params": ref[1:]}]
    opt_t = getattr(torch.optim, name)(groups_t, **kwargs)
    for g in grads[:5]:
        for q, a in zip(ref, g):
            q.grad = torch.tensor(a.copy())
        opt_t.step()
    sd_t = opt_t.state_dict()
    sd = {"state": {i: {k: nt.tensor(v.numpy().copy()) if torch.is_tensor(v) else v
                        for k, v in st.items()} for i, st in sd_t["state"].items()},
          "param_groups": copy.deepcopy(sd_t["param_groups"])}
    for p, q in zip(ours, ref):
        p._array[...] = q.detach().numpy()
    opt_n = getattr(optim, name)([{"params": ours[:1]}, {"params": ours[1:]}], lr=1.0)
    opt_n.load_state_dict(sd)
    assert opt_n.param_groups[0]["lr"] == kwargs["lr"] * 2
    for g in grads[5:]:
        _step_both(opt_n, opt_t, ours, ref, g)
        _assert_params(ours, ref, dtype)
    _assert_states_match(opt_n, opt_t, ours, ref, dtype)


@pytest.mark.parametrize("name", NEW_NAMES)
def test_more_optimizers_state_dict_roundtrip(name):
    # float32: like torch, loading casts every state tensor but 'step' to the parameter's
    # dtype, so NAdam's float32 mu_product would become float64 for float64 parameters
    dtype = np.float32
    arrays, grads = _init(dtype), _grads(dtype)
    ours = [nt.nn.Parameter(nt.tensor(a.copy())) for a in arrays]
    opt = getattr(optim, name)([{"params": ours[:1], "lr": 0.02}, {"params": ours[1:]}])
    for g in grads[:4]:
        for p, a in zip(ours, g):
            p.grad = nt.tensor(a.copy())
        opt.step()
    sd = copy.deepcopy(opt.state_dict())
    assert set(sd["state"]) == {0, 1, 2} and sd["state"][0]["step"].item() == 4
    resumed, opt_r = _resume(name, ours, sd)
    _continue_both(opt, opt_r, ours, resumed, grads[4:])


@pytest.mark.parametrize("name", NEW_NAMES)
def test_more_optimizers_zero_grad_hooks_and_frozen(name):
    w, frozen = nt.nn.Parameter(nt.ones(3)), nt.nn.Parameter(nt.ones(2))
    opt = getattr(optim, name)([w, frozen])
    calls = []
    opt.register_step_pre_hook(lambda o, args, kw: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kw: calls.append("post"))
    w.grad = nt.tensor([1.0, -2.0, 3.0])
    version, arr = w._version, w._array
    loss = opt.step(lambda: nt.tensor(7.0))
    assert loss.item() == 7.0 and calls == ["pre", "post"]
    assert w._array is arr and w._version > version
    assert not np.array_equal(w.detach().numpy(), np.ones(3))
    assert frozen.detach().numpy().tolist() == [1.0, 1.0]
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("name", NEW_NAMES)
def test_more_optimizers_reject_integer_params(name):
    p = nt.nn.Parameter(nt.zeros(2), requires_grad=False)
    opt = getattr(optim, name)([p])
    p._array = p._array.astype(np.int64)
    p.grad = nt.zeros(2, dtype=nt.int64)
    with pytest.raises(RuntimeError, match="floating point parameters"):
        opt.step()


@pytest.mark.parametrize("name,kwargs", [
    (name, kw) for name in NEW_NAMES for kw in (dict(lr=-0.1), dict(weight_decay=-1.0))
] + [
    ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(momentum=-0.1)), ("RMSprop", dict(alpha=-0.5)),
    ("Adagrad", dict(lr_decay=-0.1)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)),
    ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(rho=-0.1)), ("Adadelta", dict(eps=-1.0)),
    ("Adamax", dict(betas=(1.0, 0.9))), ("Adamax", dict(betas=(0.9, -0.1))),
    ("Adamax", dict(eps=-1.0)),
    ("NAdam", dict(betas=(0.9, 1.0))), ("NAdam", dict(momentum_decay=-0.1)),
    ("RAdam", dict(betas=(-0.1, 0.9))), ("RAdam", dict(eps=-1.0)),
], ids=str)
def test_more_argument_errors_match_torch(name, kwargs):
    _assert_same_value_error(name, kwargs)


def test_adagrad_creates_state_at_construction_like_torch():
    p, q = nt.nn.Parameter(nt.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    sd_n = optim.Adagrad([p], initial_accumulator_value=0.5).state_dict()
    sd_t = torch.optim.Adagrad([q], initial_accumulator_value=0.5).state_dict()
    assert set(sd_n["state"][0]) == set(sd_t["state"][0]) == {"step", "sum"}
    assert sd_n["state"][0]["sum"].numpy().tolist() == [0.5, 0.5]
    assert sd_n["state"][0]["step"].item() == 0.0
