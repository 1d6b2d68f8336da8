"""Parity of the basic layers and their functional forms with PyTorch: Linear, activations,
Dropout, Flatten/Unflatten, Embedding, one_hot, pad (values, gradients, double backward,
reprs and errors)."""
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import nanotorch as nt  # noqa: E402
import nanotorch.nn as nn  # noqa: E402
import nanotorch.nn.functional as F  # noqa: E402

RNG = np.random.default_rng(0)


def pair(arr, requires_grad=True):
    """The same data as a nanotorch and a torch tensor."""
    arr = np.array(arr, copy=True)
    a = nt.tensor(arr, dtype=nt.float64 if arr.dtype == np.float64 else None)
    if arr.dtype.kind == "f":
        a = nt.from_numpy(arr.copy())
    b = torch.from_numpy(arr.copy())
    if requires_grad:
        a.requires_grad_(True)
        b.requires_grad_(True)
    return a, b


def close(a, b, tol=None):
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    a = a.detach().numpy() if isinstance(a, nt.Tensor) else np.asarray(a)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    if tol is None:
        tol = 1e-5 if a.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def copy_params(src_nt, dst_torch):
    with torch.no_grad():
        for (n1, p1), (n2, p2) in zip(src_nt.named_parameters(), dst_torch.named_parameters()):
            assert n1 == n2
            p2.copy_(torch.from_numpy(p1.detach().numpy().copy()))


# Linear ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,), (2, 2, 2, 3), (0, 3)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_parity(shape, bias, dtype):
    x, tx = pair(RNG.standard_normal(shape).astype(dtype))
    w, tw = pair(RNG.standard_normal((5, 3)).astype(dtype))
    b, tb = pair(RNG.standard_normal(5).astype(dtype)) if bias else (None, None)
    y, ty = F.linear(x, w, b), TF.linear(tx, tw, tb)
    close(y, ty)
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__
    g = RNG.standard_normal(ty.shape).astype(dtype)
    y.backward(nt.from_numpy(g.copy()))
    ty.backward(torch.from_numpy(g))
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)
    if bias:
        close(b.grad, tb.grad)


def test_linear_module_matches_torch_and_noncontiguous_input():
    m = nn.Linear(6, 4)
    tm = torch.nn.Linear(6, 4)
    copy_params(m, tm)
    base = RNG.standard_normal((6, 8)).astype(np.float32)
    x, tx = pair(base)
    y, ty = m(x.t()), tm(tx.t())  # transposed: not contiguous
    close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad)
    close(m.weight.grad, tm.weight.grad)
    close(m.bias.grad, tm.bias.grad)


def test_linear_errors_match_torch():
    for xs, ws in [((4, 3), (2, 5)), ((2, 4, 3), (2, 5)), ((3,), (2, 5)), ((0, 3), (2, 5))]:
        with pytest.raises(RuntimeError) as ours:
            F.linear(nt.zeros(*xs), nt.zeros(*ws))
        with pytest.raises(RuntimeError) as theirs:
            TF.linear(torch.zeros(*xs), torch.zeros(*ws))
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear(nt.zeros(2, 3), nt.zeros(4, 3, dtype=nt.float64))
    with pytest.raises(RuntimeError, match="out_features=4"):
        F.linear(nt.zeros(2, 3), nt.zeros(4, 3), nt.zeros(5))
    with pytest.raises(TypeError):
        F.linear(np.zeros((2, 3)), nt.zeros(4, 3))


def test_linear_frozen_weight_computes_no_weight_grad(monkeypatch):
    m = nn.Linear(8, 4)
    m.weight.requires_grad = False
    x = nt.randn(16, 8, requires_grad=True)
    y = m(x)
    assert y.grad_fn.needs_input_grad == (True, False, True)
    calls = []
    real = np.matmul

    def counting(*args, **kwargs):
        calls.append([np.shape(a) for a in args[:2]])
        return real(*args, **kwargs)

    monkeypatch.setattr(np, "matmul", counting)
    y.sum().backward()
    assert m.weight.grad is None and m.bias.grad is not None and x.grad is not None
    assert calls == [[(16, 4), (4, 8)]]  # only the input gradient
    # input not requiring grad either: only the bias gradient, no matmul at all
    y = m(nt.randn(16, 8))
    calls.clear()
    y.sum().backward()
    assert calls == [] and m.bias.grad is not None
    # fully frozen layer in grad mode: no graph
    m.bias.requires_grad = False
    assert m(nt.randn(2, 8)).grad_fn is None


def test_linear_double_backward_matches_torch():
    x, tx = pair(RNG.standard_normal((3, 4)))
    w, tw = pair(RNG.standard_normal((2, 4)))
    b, tb = pair(RNG.standard_normal(2))
    outs = []
    for mod, (xx, ww, bb), lin in ((nt, (x, w, b), F.linear), (torch, (tx, tw, tb), TF.linear)):
        y = lin(xx, ww, bb).tanh()
        gx, gw = mod.autograd.grad(y.sum(), (xx, ww), create_graph=True)
        ((gx ** 2).sum() + (gw ** 3).sum()).backward()
        outs.append((xx.grad, ww.grad, bb.grad))
    for a, b_ in zip(*outs):
        close(a, b_)


def test_identity():
    m = nn.Identity(3, foo="bar")
    x = nt.randn(2)
    assert m(x) is x
    assert repr(m) == "Identity()"


def test_linear_module_repr_dtype_and_device():
    assert repr(nn.Linear(3, 4)) == repr(torch.nn.Linear(3, 4))
    assert repr(nn.Linear(3, 4, bias=False)) == repr(torch.nn.Linear(3, 4, bias=False))
    m = nn.Linear(3, 4, dtype=nt.float64)
    assert m.weight.dtype is nt.float64 and m.bias.dtype is nt.float64
    assert m.bias is not None and nn.Linear(3, 4, bias=False).bias is None
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad


# Activations ---------------------------------------------------------------------------------
_BOUNDARY = np.array([-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 25.0, -25.0])

ACTIVATIONS = [
    ("relu", {}), ("relu6", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
    ("leaky_relu", {"negative_slope": 1.5}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("silu", {}), ("sigmoid", {}), ("tanh", {}), ("hardtanh", {}),
    ("hardtanh", {"min_val": -2.0, "max_val": 0.5}), ("elu", {}), ("elu", {"alpha": 0.5}),
    ("selu", {}), ("celu", {"alpha": 2.0}), ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 5.0}), ("hardswish", {}), ("hardsigmoid", {}),
    ("mish", {}), ("logsigmoid", {}), ("softsign", {}), ("tanhshrink", {}),
    ("softshrink", {}), ("hardshrink", {"lambd": 1.0}), ("threshold", {"threshold": 0.5,
                                                                        "value": -2.0}),
]


def _torch_fn(name):
    return getattr(TF, name) if name not in ("sigmoid", "tanh") else getattr(torch, name)


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_parity(name, kw, dtype):
    data = np.concatenate([RNG.standard_normal(200) * 4, _BOUNDARY]).astype(dtype)
    x, tx = pair(data)
    y = getattr(F, name)(x, **kw)
    ty = _torch_fn(name)(tx, **kw)
    tol = 2e-6 if dtype == np.float32 else 1e-12
    close(y, ty, tol=tol)
    g = RNG.standard_normal(data.shape).astype(dtype)
    y.backward(nt.from_numpy(g.copy()))
    ty.backward(torch.from_numpy(g))
    if name == "hardsigmoid":  # PyTorch's backward uses a float32 1/6 for all dtypes
        tol = 1e-7
    close(x.grad, tx.grad, tol=tol)


DOUBLE = [(n, {}) for n in ("relu", "leaky_relu", "gelu", "silu", "sigmoid", "tanh",
                             "hardtanh", "elu", "selu", "celu", "softplus", "hardswish",
                             "mish")] + [("gelu", {"approximate": "tanh"})]
# (torch has no double backward for hardsigmoid)


@pytest.mark.parametrize("name,kw", DOUBLE, ids=lambda v: str(v))
def test_activation_double_backward(name, kw):
    data = RNG.standard_normal(40) * 3
    x, tx = pair(data)
    res = []
    for mod, xx, fn in ((nt, x, getattr(F, name)), (torch, tx, _torch_fn(name))):
        y = fn(xx, **kw)
        w = mod.from_numpy(np.linspace(-1, 1, 40))
        (gx,) = mod.autograd.grad((y * y * w).sum(), xx, create_graph=True)
        (gx * gx).sum().backward()
        res.append(xx.grad)
    close(res[0], res[1], tol=1e-10)


def test_fused_kernels_used_without_create_graph(monkeypatch):
    from nanotorch.kernels import activation as K
    called = []

    def spy(real, name):
        def wrapper(*args, **kwargs):
            called.append(name)
            return real(*args, **kwargs)
        return wrapper

    for kname in ("gelu_backward", "sigmoid_backward", "tanh_backward",
                  "leaky_relu_backward", "hardtanh_backward"):
        monkeypatch.setattr(K, kname, spy(getattr(K, kname), kname))
    x = nt.randn(10, requires_grad=True)
    for fn in (F.gelu, F.sigmoid, F.tanh, F.leaky_relu, F.hardtanh, F.relu6):
        fn(x).sum().backward()
    assert sorted(set(called)) == sorted(["gelu_backward", "sigmoid_backward", "tanh_backward",
                                          "leaky_relu_backward", "hardtanh_backward"])
    called.clear()
    (g,) = nt.autograd.grad(F.gelu(x).sum(), x, create_graph=True)
    assert called == [] and g.requires_grad


def test_prelu_parity():
    for shape, n in [((2, 3, 4), 3), ((2, 3, 4), 1), ((5,), 1), ((4, 3), 3)]:
        m, tm = nn.PReLU(n), torch.nn.PReLU(n)
        with torch.no_grad():
            tm.weight.copy_(torch.linspace(-0.5, 0.5, n))
        m.weight.data = nt.from_numpy(tm.weight.detach().numpy().copy())
        x, tx = pair(RNG.standard_normal(shape).astype(np.float32))
        y, ty = m(x), tm(tx)
        close(y, ty)
        y.sum().backward()
        ty.sum().backward()
        close(x.grad, tx.grad)
        close(m.weight.grad, tm.weight.grad)
    with pytest.raises(RuntimeError, match="channel size"):
        nn.PReLU(4)(nt.randn(2, 3))


def test_glu_and_softmin_parity():
    x, tx = pair(RNG.standard_normal((3, 6)))
    close(F.glu(x), TF.glu(tx))
    close(F.glu(x[:2], 0), TF.glu(tx[:2], 0))
    close(F.softmin(x, dim=1), TF.softmin(tx, dim=1))
    with pytest.raises(RuntimeError, match="even"):
        F.glu(nt.randn(3, 5))


@pytest.mark.parametrize("fn", ["relu", "leaky_relu", "hardtanh", "relu6", "elu", "silu",
                                "hardswish", "hardsigmoid", "mish", "selu", "celu"])
def test_inplace_activations(fn):
    data = RNG.standard_normal((4, 5))
    x, tx = pair(data)
    a = x * 1.0
    ta = tx * 1.0
    out = getattr(F, fn)(a, inplace=True)
    tout = getattr(TF, fn)(ta, inplace=True)
    assert out is a and tout is ta
    close(a, ta)
    (a * a).sum().backward()
    (ta * ta).sum().backward()
    close(x.grad, tx.grad, tol=1e-7 if fn == "hardsigmoid" else None)
    leaf = nt.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(F, fn)(leaf, inplace=True)


def test_inplace_under_no_grad_and_underscore_forms():
    x = nt.tensor([-1.0, 2.0, -3.0])
    assert F.relu_(x) is x and x.tolist() == [0.0, 2.0, 0.0]
    y = nt.tensor([-1.0, 2.0])
    F.leaky_relu_(y, 0.5)
    assert y.tolist() == [-0.5, 2.0]
    z = nt.tensor([-3.0, 3.0])
    F.hardtanh_(z)
    assert z.tolist() == [-1.0, 1.0]
    e = nt.tensor([-1.0, 1.0])
    F.elu_(e)
    assert np.allclose(e.numpy(), [math.expm1(-1), 1.0])


def test_activation_errors():
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(nt.randn(3), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(nt.randn(3), 2.0, 1.0)
    with pytest.raises(ValueError):
        nn.Hardtanh(1.0, 1.0)
    with pytest.raises(RuntimeError, match="floating point"):
        F.gelu(nt.tensor([1, 2]))
    assert F.relu(nt.tensor([-1, 2])).tolist() == [0, 2]


def test_softmax_modules_and_implicit_dim():
    x, tx = pair(RNG.standard_normal((2, 3, 4)))
    for dim in (0, 1, -1):
        close(nn.Softmax(dim)(x), torch.nn.Softmax(dim)(tx))
        close(nn.LogSoftmax(dim=dim)(x), torch.nn.LogSoftmax(dim=dim)(tx))
        close(nn.Softmin(dim)(x), torch.nn.Softmin(dim)(tx))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = TF.softmax(tx)
        close(y, ty)
        close(nn.Softmax()(nt.randn(3, 4)).sum(1), np.ones(3, dtype=np.float32))
    close(F.log_softmax(x, 1, dtype=nt.float32), TF.log_softmax(tx, 1, dtype=torch.float32))


def test_activation_module_reprs_match_torch():
    pairs = [
        (nn.ReLU(), torch.nn.ReLU()), (nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
        (nn.ReLU6(True), torch.nn.ReLU6(True)), (nn.LeakyReLU(), torch.nn.LeakyReLU()),
        (nn.LeakyReLU(0.2, True), torch.nn.LeakyReLU(0.2, True)),
        (nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
        (nn.SiLU(True), torch.nn.SiLU(True)), (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Tanh(), torch.nn.Tanh()), (nn.Softmax(1), torch.nn.Softmax(1)),
        (nn.Softmax(), torch.nn.Softmax()), (nn.LogSoftmax(-1), torch.nn.LogSoftmax(-1)),
        (nn.Softmin(0), torch.nn.Softmin(0)),
        (nn.Hardtanh(), torch.nn.Hardtanh()), (nn.Hardtanh(-2, 3, True),
                                               torch.nn.Hardtanh(-2, 3, True)),
        (nn.ELU(), torch.nn.ELU()), (nn.ELU(0.5, True), torch.nn.ELU(0.5, True)),
        (nn.CELU(2.0), torch.nn.CELU(2.0)), (nn.SELU(True), torch.nn.SELU(True)),
        (nn.Softplus(), torch.nn.Softplus()), (nn.Softplus(2, 10), torch.nn.Softplus(2, 10)),
        (nn.Hardswish(True), torch.nn.Hardswish(True)),
        (nn.Hardsigmoid(), torch.nn.Hardsigmoid()), (nn.Mish(), torch.nn.Mish()),
        (nn.PReLU(3), torch.nn.PReLU(3)), (nn.Threshold(0.1, 20), torch.nn.Threshold(0.1, 20)),
        (nn.LogSigmoid(), torch.nn.LogSigmoid()), (nn.Softsign(), torch.nn.Softsign()),
        (nn.Tanhshrink(), torch.nn.Tanhshrink()), (nn.Softshrink(), torch.nn.Softshrink()),
        (nn.Hardshrink(0.3), torch.nn.Hardshrink(0.3)), (nn.GLU(), torch.nn.GLU()),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


# Dropout -------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_train_statistics_and_gradient_mask(p):
    nt.manual_seed(0)
    x = (nt.rand(200, 500) + 0.5).requires_grad_(True)
    m = nn.Dropout(p)
    y = m(x)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    kept = y.detach().numpy() != 0
    n = kept.size
    frac = 1 - kept.mean()
    assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] / (1 - p),
                               rtol=1e-6)
    g = nt.randn(200, 500)
    y.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), g.numpy() * kept / (1 - p), rtol=1e-6)


def test_dropout_eval_and_edge_cases():
    m = nn.Dropout(0.5)
    x = nt.randn(10, requires_grad=True)
    m.eval()
    assert m(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert (y.detach().numpy() == 0).all()
    y.sum().backward()
    assert (x.grad.numpy() == 0).all()
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, bad)
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))
    assert repr(nn.Dropout2d(0.3, True)) == repr(torch.nn.Dropout2d(0.3, True))
    assert repr(nn.Dropout1d()) == repr(torch.nn.Dropout1d())
    assert repr(nn.Dropout3d()) == repr(torch.nn.Dropout3d())


def test_dropout_seeded_and_inplace():
    nt.manual_seed(3)
    a = F.dropout(nt.ones(100))
    nt.manual_seed(3)
    b = F.dropout(nt.ones(100))
    assert np.array_equal(a.numpy(), b.numpy())
    x = nt.randn(50, requires_grad=True)
    h = x * 2.0
    nt.manual_seed(4)
    out = F.dropout(h, 0.5, inplace=True)
    assert out is h
    nt.manual_seed(4)
    ref = F.dropout(x.detach() * 2.0, 0.5)
    np.testing.assert_allclose(h.detach().numpy(), ref.numpy())
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (ref.numpy() != 0) * 2.0)


def test_dropout2d_drops_whole_channels():
    nt.manual_seed(1)
    x = (nt.rand(8, 16, 5, 5) + 1.0).requires_grad_(True)
    y = nn.Dropout2d(0.5)(x)
    arr = y.detach().numpy()
    per_channel = (arr != 0).reshape(8, 16, -1)
    assert (per_channel.all(-1) | ~per_channel.any(-1)).all()  # all or nothing
    assert 0 < per_channel.all(-1).mean() < 1
    kept = per_channel.all(-1)[:, :, None, None]
    np.testing.assert_allclose(arr, x.detach().numpy() * kept * 2.0, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(kept * 2.0, x.shape))
    with pytest.warns(UserWarning):
        F.dropout2d(nt.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="2D or 3D"):
        F.dropout1d(nt.randn(2, 3, 4, 5))
    y1 = F.dropout1d(nt.ones(3, 7), 0.5)  # unbatched (C, L)
    rows = y1.numpy()
    assert ((rows == 0).all(1) | (rows == 2).all(1)).all()
    y3 = F.dropout3d(nt.ones(4, 2, 2, 2), 0.5)  # unbatched (C, D, H, W)
    ch = y3.numpy().reshape(4, -1)
    assert ((ch == 0).all(1) | (ch == 2).all(1)).all()
    assert nn.Dropout2d().eval()(x) is x


# Flatten / Unflatten -----------------------------------------------------------------------
def test_flatten_unflatten():
    x, tx = pair(RNG.standard_normal((2, 3, 4, 5)))
    for args in [(), (0,), (1, 2), (2, -1), (0, -1)]:
        close(nn.Flatten(*args)(x), torch.nn.Flatten(*args)(tx))
        assert repr(nn.Flatten(*args)) == repr(torch.nn.Flatten(*args))
    u, tu = nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1))
    close(u(x), tu(tx))
    assert repr(u) == repr(tu)
    assert repr(nn.Unflatten(-1, [5, 1])) == repr(torch.nn.Unflatten(-1, [5, 1]))
    y = nn.Unflatten(2, (2, -1))(x)
    assert y.shape == (2, 3, 2, 2, 5)
    y.sum().backward()
    assert x.grad.shape == x.shape and (x.grad.numpy() == 1).all()
    with pytest.raises(TypeError):
        nn.Unflatten(1, 5)


# Embedding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("freq", [False, True])
def test_embedding_parity(padding_idx, freq):
    w = RNG.standard_normal((7, 4)).astype(np.float32)
    idx = np.array([[0, 3, 3, 6], [1, 0, 6, 6]])
    e = nn.Embedding(7, 4, padding_idx=padding_idx, scale_grad_by_freq=freq)
    te = torch.nn.Embedding(7, 4, padding_idx=padding_idx, scale_grad_by_freq=freq)
    assert repr(e) == repr(te)
    e.weight.data = nt.from_numpy(w.copy())
    with torch.no_grad():
        te.weight.copy_(torch.from_numpy(w))
    y, ty = e(nt.from_numpy(idx)), te(torch.from_numpy(idx))
    close(y, ty)
    g = RNG.standard_normal(ty.shape).astype(np.float32)
    y.backward(nt.from_numpy(g.copy()))
    ty.backward(torch.from_numpy(g))
    close(e.weight.grad, te.weight.grad)


def test_embedding_init_padding_and_int32():
    nt.manual_seed(0)
    e = nn.Embedding(1000, 64, padding_idx=3)
    w = e.weight.detach().numpy()
    assert (w[3] == 0).all()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    assert e.padding_idx == 3 and nn.Embedding(5, 2, padding_idx=-2).padding_idx == 3
    y = e(nt.tensor([1, 3], dtype=nt.int32))
    assert y.shape == (2, 64) and (y.detach().numpy()[1] == 0).all()


def test_embedding_max_norm_matches_torch():
    w = (RNG.standard_normal((6, 3)) * 3).astype(np.float32)
    idx = np.array([0, 2, 2, 5])
    e = nn.Embedding(6, 3, max_norm=1.5)
    te = torch.nn.Embedding(6, 3, max_norm=1.5)
    assert repr(e) == repr(te)
    e.weight.data = nt.from_numpy(w.copy())
    with torch.no_grad():
        te.weight.copy_(torch.from_numpy(w))
    close(e(nt.from_numpy(idx)), te(torch.from_numpy(idx)))
    close(e.weight, te.weight)  # looked-up rows renormalised in place, others untouched


def test_embedding_double_backward_matches_torch():
    w = RNG.standard_normal((5, 3))
    idx = np.array([4, 1, 1, 0])
    res = []
    for mod, fn in ((nt, F.embedding), (torch, TF.embedding)):
        ww = mod.from_numpy(w.copy()).requires_grad_(True)
        g = mod.from_numpy(np.linspace(-1, 1, 12).reshape(4, 3)).requires_grad_(True)
        y = fn(mod.from_numpy(idx), ww, padding_idx=0)
        (gw,) = mod.autograd.grad(y, ww, g, create_graph=True)
        (gw * gw * mod.arange(5.0, dtype=mod.float64).reshape(5, 1)).sum().backward()
        res.append(g.grad)
    close(res[0], res[1])


def test_embedding_from_pretrained_and_errors():
    w = nt.randn(4, 3)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and e.weight.data_ptr() == w.data_ptr()
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    e2 = nn.Embedding.from_pretrained(w, padding_idx=1)
    assert repr(e2) == "Embedding(4, 3, padding_idx=1)"
    assert e(nt.tensor([2])).tolist() == [w[2].tolist()]
    with pytest.raises(AssertionError, match="2-dimensional"):
        nn.Embedding.from_pretrained(nt.randn(3))
    with pytest.raises(IndexError, match="index out of range in self"):
        e(nt.tensor([4]))
    with pytest.raises(IndexError, match="index out of range in self"):
        e(nt.tensor([-1]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        e(nt.tensor([1.0]))
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(5, 2, sparse=True)


def test_one_hot():
    idx = np.array([[0, 2], [3, 1]])
    close(F.one_hot(nt.from_numpy(idx)), TF.one_hot(torch.from_numpy(idx)))
    close(F.one_hot(nt.from_numpy(idx), 6), TF.one_hot(torch.from_numpy(idx), 6))
    assert F.one_hot(nt.tensor([], dtype=nt.int64), 3).shape == (0, 3)
    for args, msg in [((nt.tensor([-1]),), "non-negative"), ((nt.tensor([3]), 2), "smaller"),
                      ((nt.tensor([], dtype=nt.int64),), "empty"),
                      ((nt.tensor([1.0]),), "LongTensor")]:
        with pytest.raises(RuntimeError, match=msg):
            F.one_hot(*args)


# pad -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pads", [(1, 2), (0, 1, 2, 0), (1, 1, 1, 1, 1, 1), (-1, 2),
                                  (2, -1, -1, 1), (0, 0)])
def test_pad_constant_parity(pads):
    x, tx = pair(RNG.standard_normal((2, 3, 4)))
    for value in (None, 1.5):
        y, ty = F.pad(x, pads, value=value), TF.pad(tx, pads, value=value)
        close(y, ty)
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__
    g = RNG.standard_normal(ty.shape)
    y.backward(nt.from_numpy(g.copy()))
    ty.backward(torch.from_numpy(g))
    close(x.grad, tx.grad)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pads", [((2, 5), (2, 1)), ((1, 2, 5), (2, 3)),
                                        ((1, 2, 4, 5), (1, 2, 3, 0)),
                                        ((2, 4, 5), (2, 1, 1, 2)), ((2, 4, 5), (-1, 2, 0, 1)),
                                        ((1, 1, 3, 4, 5), (1, 1, 2, 0, 1, 2))])
def test_pad_non_constant_parity(mode, shape, pads):
    x, tx = pair(RNG.standard_normal(shape))
    y, ty = F.pad(x, pads, mode=mode), TF.pad(tx, pads, mode=mode)
    close(y, ty)
    g = RNG.standard_normal(ty.shape)
    y.backward(nt.from_numpy(g.copy()))
    ty.backward(torch.from_numpy(g))
    close(x.grad, tx.grad)


def test_pad_double_backward_and_errors():
    for mode in ("constant", "reflect"):
        x, tx = pair(RNG.standard_normal((1, 2, 4)))
        res = []
        for mod, xx, fn in ((nt, x, F.pad), (torch, tx, TF.pad)):
            y = fn(xx, (2, 1), mode=mode)
            w = mod.from_numpy(np.linspace(-1, 1, 14).reshape(1, 2, 7))
            (gx,) = mod.autograd.grad((y * y * w).sum(), xx, create_graph=True)
            (gx ** 2).sum().backward()
            res.append(xx.grad)
        close(res[0], res[1])
    x = nt.zeros(1, 1, 3, 3)
    tx = torch.zeros(1, 1, 3, 3)
    cases = [((1,), "constant"), ((1,) * 10, "constant"), ((3, 3, 0, 0), "reflect"),
             ((4, 4), "circular"), ((-2, -2), "constant")]
    for pads, mode in cases:
        with pytest.raises(RuntimeError) as ours:
            F.pad(x, pads, mode=mode)
        with pytest.raises(RuntimeError) as theirs:
            TF.pad(tx, pads, mode=mode)
        if pads != (-2, -2):
            assert str(ours.value) == str(theirs.value)
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported"):
        F.pad(nt.zeros(3), (1, 1), mode="reflect")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        F.pad(x, (1, 1), mode="foo")


# Printing a model ------------------------------------------------------------------------------
def test_sequential_repr_matches_torch():
    def build(m):
        return m.Sequential(
            m.Flatten(), m.Linear(784, 128), m.ReLU(inplace=True), m.Dropout(0.2),
            m.Sequential(m.Linear(128, 64, bias=False), m.GELU(approximate="tanh")),
            m.Embedding(10, 3, padding_idx=0), m.Unflatten(1, (2, 32)), m.Identity(),
            m.LogSoftmax(dim=1))
    assert repr(build(nn)) == repr(build(torch.nn))
