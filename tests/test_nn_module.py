"""nn.Module semantics (registration, traversal, state dicts, modes, hooks, dtype moves,
reprs), the containers, Parameter, and nn.utils (clip_grad, convert_parameters), checked
against PyTorch where it defines the behaviour."""
import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nanotorch as nt  # noqa: E402
import nanotorch.nn as nn  # noqa: E402


def build(M, lib):
    """The same small model in nanotorch (M=nn, lib=nt) or torch."""

    class Net(M.Module):
        def __init__(self):
            super().__init__()
            self.features = M.Sequential(M.Linear(4, 8), M.ReLU(), M.Dropout(0.1))
            self.classifier = M.Sequential(M.Dropout(0.2), M.Linear(8, 3))
            self.register_buffer("running", lib.zeros(3))
            self.register_buffer("tmp", lib.ones(2), persistent=False)
            self.scale = M.Parameter(lib.ones(1))

        def forward(self, x):
            return self.classifier(self.features(x)) * self.scale + self.running

    return Net()


def names(it):
    return [n for n, _ in it]


def np_of(t):
    return t.detach().numpy().copy()


def torch_sd_to_nt(sd):
    return OrderedDict((k, nt.tensor(v.detach().numpy())) for k, v in sd.items())


# Parameter ------------------------------------------------------------------------------------
def test_parameter_basics_and_repr():
    data = nt.tensor([[1.0, 2.0], [3.0, 4.0]])
    p = nn.Parameter(data)
    assert isinstance(p, nt.Tensor) and p.requires_grad and p.is_leaf
    assert p.data_ptr() == data.data_ptr()
    tp = torch.nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert repr(p) == repr(tp)
    assert repr(nn.Parameter(nt.zeros(3, dtype=nt.float64), requires_grad=False)) == repr(
        torch.nn.Parameter(torch.zeros(3, dtype=torch.float64), requires_grad=False))
    assert not nn.Parameter(nt.ones(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(nt.tensor([1, 2]))
    with pytest.raises(TypeError):
        nn.Parameter([1.0, 2.0])
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.data_ptr() != p.data_ptr()
    assert nt.equal(q, p) and q.requires_grad
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and nt.equal(r, p)


# Registration and traversal --------------------------------------------------------------------
def test_registration_and_traversal_match_torch():
    a, b = build(nn, nt), build(torch.nn, torch)
    assert repr(a) == repr(b)
    for meth in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert names(getattr(a, meth)()) == names(getattr(b, meth)())
    assert list(a.state_dict()) == list(b.state_dict())
    assert "tmp" not in a.state_dict() and "tmp" in dict(a.named_buffers())
    assert len(list(a.parameters())) == len(list(b.parameters())) == 5
    assert len(list(a.buffers())) == 2 and len(list(a.modules())) == len(list(b.modules()))
    assert [type(m).__name__ for m in a.children()] == ["Sequential", "Sequential"]
    assert names(a.named_parameters(recurse=False)) == ["scale"]
    assert names(a.features.named_parameters(prefix="f")) == ["f.0.weight", "f.0.bias"]
    assert a.get_submodule("features.0") is a.features[0]
    assert a.get_parameter("classifier.1.bias") is a.classifier[1].bias
    assert a.get_buffer("running") is a.running
    with pytest.raises(AttributeError):
        a.get_submodule("features.7")


def test_attribute_assignment_rules():
    m = nn.Module()
    m.w = nn.Parameter(nt.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", nt.zeros(2))
    m.plain = nt.ones(3)  # a plain tensor attribute is neither a parameter nor a buffer
    assert names(m.named_parameters()) == ["w", "sub.weight", "sub.bias"]
    assert names(m.named_buffers()) == ["buf"]
    assert "plain" not in m.state_dict()
    m.buf = nt.ones(2)  # re-assigning a buffer keeps it a buffer
    assert m.state_dict()["buf"].tolist() == [1.0, 1.0]
    m.w = None
    assert names(m.named_parameters()) == ["sub.weight", "sub.bias"]
    with pytest.raises(TypeError, match="cannot assign"):
        m.sub.weight = nt.ones(2, 2)  # a Tensor where a Parameter is registered
    with pytest.raises(TypeError):
        m.sub = nt.ones(1)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("sub", nt.ones(1))
    with pytest.raises(KeyError, match='"."'):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope
    # a name moves between kinds when re-assigned with another kind
    m.sub = nn.Parameter(nt.zeros(1))
    assert names(m.named_parameters()) == ["sub"] and names(m.named_modules()) == [""]
    del m.sub
    assert names(m.named_parameters()) == []

    class Early(nn.Module):
        def __init__(self):
            self.p = nn.Parameter(nt.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_shared_modules_and_tied_weights_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert names(seq.named_modules()) == ["", "0", "1"]
    assert len(list(seq.named_modules(remove_duplicate=False))) == 4
    enc, dec = nn.Embedding(10, 4), nn.Linear(4, 10, bias=False)
    dec.weight = enc.weight
    tied = nn.Sequential(enc, dec)
    assert names(tied.named_parameters()) == ["0.weight"]
    assert list(tied.state_dict()) == ["0.weight", "1.weight"]


def test_replacing_submodules_updates_everything():
    m = build(nn, nt)
    old = m.classifier[1]
    m.classifier[1] = nn.Linear(8, 2)
    assert m.classifier[1] is not old
    assert m.state_dict()["classifier.1.weight"].shape == (2, 8)
    assert all(p is not old.weight for p in m.parameters())
    assert any(p is m.classifier[1].weight for p in m.parameters())
    m.classifier[-1] = nn.Linear(8, 5)
    assert m.classifier[1].out_features == 5
    m.features = nn.Linear(4, 8)
    assert names(m.named_modules()) == ["", "features", "classifier", "classifier.0",
                                        "classifier.1"]
    assert "features.0.weight" not in m.state_dict() and "features.weight" in m.state_dict()
    assert m.features in list(m.children())
    with pytest.raises(IndexError):
        m.classifier[2] = nn.ReLU()


# Containers -----------------------------------------------------------------------------------
def test_sequential_container_ops():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear) and isinstance(s[1], nn.ReLU)
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"]
    assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Linear"]
    s.append(nn.Sigmoid())
    assert names(s.named_children()) == ["0", "1", "2", "3"]
    del s[1]
    assert names(s.named_children()) == ["0", "1", "2"] and isinstance(s[1], nn.Linear)
    s.insert(1, nn.Tanh())
    assert isinstance(s[1], nn.Tanh) and len(s) == 4
    assert isinstance(s.pop(1), nn.Tanh) and len(s) == 3
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert names(od.named_children()) == ["fc", "act"] and od.fc is od[0]
    x = nt.randn(4, 2)
    y = s(x)
    assert y.shape == (4, 1)
    assert len(s + od) == 5
    with pytest.raises(IndexError):
        s[3]


def test_module_list_dict_and_parameter_containers():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    tml = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    tml.append(torch.nn.ReLU())
    assert repr(ml) == repr(tml)
    assert len(list(ml.parameters())) == 6 and isinstance(ml[-1], nn.ReLU)
    ml[0] = nn.Identity()
    assert len(list(ml.parameters())) == 4
    assert isinstance(ml.pop(0), nn.Identity) and len(ml) == 3
    ml += [nn.Tanh()]
    assert isinstance(ml[3], nn.Tanh) and isinstance(ml[1:], nn.ModuleList)
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert names(md.named_parameters()) == ["a.weight", "a.bias"]
    md["c"] = nn.Tanh()
    assert repr(md) == repr(torch.nn.ModuleDict({"a": torch.nn.Linear(1, 1),
                                                 "b": torch.nn.ReLU(), "c": torch.nn.Tanh()}))
    pl = nn.ParameterList([nn.Parameter(nt.zeros(3)), nt.ones(2, 4, dtype=nt.float64)])
    tpl = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(3)),
                                  torch.ones(2, 4, dtype=torch.float64)])
    assert repr(pl) == repr(tpl)
    assert isinstance(pl[1], nn.Parameter) and names(pl.named_parameters()) == ["0", "1"]
    pd = nn.ParameterDict({"w": nn.Parameter(nt.zeros(3))})
    tpd = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.zeros(3))})
    assert repr(pd) == repr(tpd)
    assert pd["w"].shape == (3,) and list(pd.state_dict()) == ["w"]


# State dicts ---------------------------------------------------------------------------------
def test_state_dict_shares_storage_and_keep_vars():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias"]
    assert not sd["weight"].requires_grad and sd["weight"].data_ptr() == m.weight.data_ptr()
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


def test_load_state_dict_from_torch_roundtrip():
    a, b = build(nn, nt), build(torch.nn, torch)
    with torch.no_grad():
        b.running.copy_(torch.tensor([1.0, 2.0, 3.0]))
    res = a.load_state_dict(torch_sd_to_nt(b.state_dict()))
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    b.eval()
    a.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(np_of(a(nt.from_numpy(x))), b(torch.from_numpy(x)).detach(),
                               rtol=1e-6, atol=1e-6)
    # numpy values are accepted too
    a.load_state_dict({k: v.numpy() for k, v in torch_sd_to_nt(b.state_dict()).items()})


def test_load_state_dict_strict_and_missing_unexpected():
    a, b = build(nn, nt), build(torch.nn, torch)
    sd_t = b.state_dict()
    del sd_t["scale"]
    sd_t["extra.weight"] = torch.zeros(1)
    sd = torch_sd_to_nt(sd_t)
    with pytest.raises(RuntimeError) as ours:
        a.load_state_dict(sd)
    with pytest.raises(RuntimeError) as theirs:
        b.load_state_dict(sd_t)
    assert str(ours.value) == str(theirs.value)
    before = np_of(a.features[0].weight)
    res = a.load_state_dict(sd, strict=False)
    tres = b.load_state_dict(sd_t, strict=False)
    assert res.missing_keys == tres.missing_keys == ["scale"]
    assert res.unexpected_keys == tres.unexpected_keys == ["extra.weight"]
    assert repr(res) == repr(tres)
    assert not np.array_equal(before, np_of(a.features[0].weight))  # the rest was loaded


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_shape_mismatch_raises_and_changes_nothing(strict):
    a, b = build(nn, nt), build(torch.nn, torch)
    sd_t = b.state_dict()
    sd_t["classifier.1.weight"] = torch.zeros(2, 8)  # a late key: earlier ones would load
    before = {k: np_of(v) for k, v in a.state_dict().items()}
    with pytest.raises(RuntimeError) as ours:
        a.load_state_dict(torch_sd_to_nt(sd_t), strict=strict)
    with pytest.raises(RuntimeError) as theirs:
        b.load_state_dict(sd_t, strict=strict)
    assert str(ours.value) == str(theirs.value)
    assert "classifier.1.weight" in str(ours.value)
    assert "torch.Size([2, 8])" in str(ours.value) and "torch.Size([3, 8])" in str(ours.value)
    for k, v in a.state_dict().items():
        assert np.array_equal(np_of(v), before[k]), k


def test_load_state_dict_rollback_with_custom_loader():
    class Custom(nn.Linear):
        def _load_from_state_dict(self, state_dict, prefix, *args):
            super()._load_from_state_dict(state_dict, prefix, *args)

    m = nn.Sequential(Custom(2, 2), nn.Linear(2, 3))
    before = [np_of(p) for p in m.parameters()]
    sd = {"0.weight": nt.ones(2, 2), "0.bias": nt.ones(2), "1.weight": nt.ones(4, 2),
          "1.bias": nt.ones(3)}
    with pytest.raises(RuntimeError, match="size mismatch for 1.weight"):
        m.load_state_dict(sd)
    for p, b in zip(m.parameters(), before):
        assert np.array_equal(np_of(p), b)
    sd["1.weight"] = nt.ones(3, 2)
    m.load_state_dict(sd)
    assert all((np_of(p) == 1).all() for p in m.parameters())


def test_load_state_dict_assign_and_nonpersistent_buffers():
    m = build(nn, nt)
    sd = {k: v.clone() + 1 for k, v in m.state_dict().items()}
    old = m.features[0].weight
    m.load_state_dict(sd, assign=True)
    assert m.features[0].weight is not old
    assert isinstance(m.features[0].weight, nn.Parameter) and m.features[0].weight.requires_grad
    assert m.features[0].weight.data_ptr() == sd["features.0.weight"].data_ptr()
    with pytest.raises(RuntimeError, match="Unexpected key"):
        m.load_state_dict({**sd, "tmp": nt.ones(2)})  # non-persistent: not loadable
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


# Modes, grads, dtype -------------------------------------------------------------------------
def test_train_eval_propagates_and_calls_child_overrides():
    calls = []

    class Frozen(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(False)  # always stays in eval

    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), Frozen()))
    assert m.training and all(c.training for c in m[:1].modules())
    assert m.eval() is m
    assert not any(c.training for c in m.modules())
    m.train()
    assert m.training and m[1][0].training and not m[1][1].training
    assert calls == [False, True]
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_requires_grad_zero_grad_and_freeze():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    m[0].requires_grad_(False)
    assert [p.requires_grad for p in m.parameters()] == [False, False, True, True]
    x = nt.randn(5, 3, requires_grad=True)
    m(x).sum().backward()
    assert m[0].weight.grad is None and m[0].bias.grad is None
    assert m[1].weight.grad is not None and x.grad is not None
    m.zero_grad(set_to_none=False)
    assert (m[1].weight.grad.numpy() == 0).all()
    m.zero_grad()
    assert m[1].weight.grad is None
    assert m.requires_grad_() is m and all(p.requires_grad for p in m.parameters())


def test_apply_order_matches_torch():
    def visit(M):
        seq = M.Sequential(M.Linear(1, 1), M.Sequential(M.ReLU(), M.Tanh()))
        order = []
        seq.apply(lambda mod: order.append(type(mod).__name__))
        return order
    assert visit(nn) == visit(torch.nn)

    def init_weights(mod):
        if isinstance(mod, nn.Linear):
            nn.init.zeros_(mod.weight)
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).apply(init_weights)
    assert all((np_of(l.weight) == 0).all() for l in m)


def test_to_dtype_keeps_parameter_identity():
    m = build(nn, nt)
    m.register_buffer("count", nt.tensor(3))
    params = list(m.parameters())
    x = nt.randn(2, 4)
    m(x).sum().backward()
    assert m.double() is m
    assert [p is q for p, q in zip(m.parameters(), params)] == [True] * len(params)
    assert all(p.dtype is nt.float64 for p in m.parameters())
    assert all(p.grad.dtype is nt.float64 for p in m.parameters())
    assert m.running.dtype is nt.float64 and m.count.dtype is nt.int64
    m.zero_grad()
    m(x.double()).sum().backward()
    assert m.features[0].weight.grad.dtype is nt.float64
    m.to(nt.float32)
    assert m.scale.dtype is nt.float32
    assert m.to("cpu") is m and m.to(nt.device("cpu")) is m and m.cpu() is m
    with pytest.raises(RuntimeError, match="cuda"):
        m.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        m.to(nt.int64)


# Calling and hooks ---------------------------------------------------------------------------
def test_forward_hooks():
    m = nn.Linear(2, 2)
    seen = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape) or out + 1)
    y = m(nt.randn(3, 2))
    np.testing.assert_allclose(np_of(y), np.broadcast_to(np_of(m.bias) + 1, (3, 2)), rtol=1e-6)
    assert seen == [(3, 2)]
    h1.remove()
    h2.remove()
    x = nt.randn(3, 2)
    np.testing.assert_allclose(np_of(m(x)), np_of(x) @ np_of(m.weight).T + np_of(m.bias),
                               rtol=1e-5)
    kw = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: kw.append(dict(kwargs)),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: kw.append("post"), with_kwargs=True)
    m(x)
    assert kw == [{}, "post"]
    order = []
    m2 = nn.Identity()
    m2.register_forward_pre_hook(lambda *a: order.append(1))
    m2.register_forward_pre_hook(lambda *a: order.append(0), prepend=True)
    m2(x)
    assert order == [0, 1]
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(x)


# Copying and printing --------------------------------------------------------------------------
def test_deepcopy_and_pickle_modules():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    c = copy.deepcopy(m)
    assert c[0].weight is not m[0].weight and nt.equal(c[0].weight, m[0].weight)
    with nt.no_grad():
        c[0].weight.fill_(0)
    assert not (np_of(m[0].weight) == 0).all()
    p = pickle.loads(pickle.dumps(m))
    assert isinstance(p[0].weight, nn.Parameter) and nt.equal(p[0].weight, m[0].weight)


def test_nested_custom_repr_matches_torch():
    def make(M):
        class Block(M.Module):
            def __init__(self):
                super().__init__()
                self.fc = M.Linear(3, 3)
                self.act = M.GELU()
                self.drop = None

            def extra_repr(self):
                return "custom=1\nsecond=2"

        class Model(M.Module):
            def __init__(self):
                super().__init__()
                self.blocks = M.ModuleList([Block(), Block()])
                self.head = M.Sequential(M.Flatten(0), M.Linear(3, 1))
                self.empty = M.Sequential()
        return Model()
    assert repr(make(nn)) == repr(make(torch.nn))


# nn.utils ------------------------------------------------------------------------------------
def _params_with_grads(lib, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    out = []
    for shape in [(3, 4), (5,), (2, 2, 2)]:
        p = lib.nn.Parameter(lib.from_numpy(rng.standard_normal(shape).astype(np.float32)))
        p.grad = lib.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))
        out.append(p)
    return out


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _params_with_grads(nt), _params_with_grads(torch)
    n1 = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(n1, nt.Tensor) and n1.ndim == 0 and n1.dtype is nt.float32
    np.testing.assert_allclose(n1.item(), n2.item(), rtol=1e-5)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(nt.ones(3))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no grads at all
    p.grad = nt.tensor([3.0, 4.0, 0.0])
    n = nn.utils.clip_grad_norm_(p, 1.0)  # a single tensor is accepted
    assert math.isclose(n.item(), 5.0, rel_tol=1e-6)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    p.grad = nt.tensor([float("nan"), 1.0, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    g = p.grad
    nn.utils.clip_grad_norm_([p], 1.0)
    assert p.grad is g  # clipped in place
    total = nn.utils.get_total_norm([nt.tensor([3.0, 4.0])])
    assert math.isclose(total.item(), 5.0, rel_tol=1e-6)


def test_clip_grad_value_matches_torch():
    ours, theirs = _params_with_grads(nt, scale=3), _params_with_grads(torch, scale=3)
    assert nn.utils.clip_grad_value_(ours, 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_vector_roundtrip():
    m, tm = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    with torch.no_grad():
        for p, q in zip(m.parameters(), tm.parameters()):
            q.copy_(torch.from_numpy(np_of(p)))
    v = nn.utils.parameters_to_vector(m.parameters())
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    np.testing.assert_array_equal(np_of(v), tv.detach().numpy())
    assert v.requires_grad
    (v * nt.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy().ravel(), np.arange(6.0))
    new = nt.arange(8.0)
    nn.utils.vector_to_parameters(new, m.parameters())
    assert m.weight.tolist() == [[0, 1, 2], [3, 4, 5]] and m.bias.tolist() == [6, 7]
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], m.parameters())
    with pytest.raises(RuntimeError, match="8 elements"):
        nn.utils.vector_to_parameters(nt.zeros(7), m.parameters())
