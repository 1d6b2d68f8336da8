"""Conv2d and 2-D pooling (functional + modules) against PyTorch: values, grads, reprs,
errors, and the frozen-layer fast path."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import nanotorch as nt  # noqa: E402
import nanotorch.nn as nn  # noqa: E402
import nanotorch.nn.functional as F  # noqa: E402
from nanotorch.ops import conv as conv_mod  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")


def pair(arr, requires_grad=True):
    """The same array as a nanotorch and a torch tensor."""
    a = nt.tensor(arr.copy(), requires_grad=requires_grad)
    b = torch.tensor(arr.copy(), requires_grad=requires_grad)
    return a, b


def close(a, b, dtype):
    tol = 1e-4 if dtype == np.float32 else 1e-10
    b = b.detach().numpy()
    a = a.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def run_both(nt_fn, t_fn, arrays, dtype):
    """Forward + backward with the same random upstream grad; compare outputs and grads."""
    ours = [pair(a) if a is not None else (None, None) for a in arrays]
    y = nt_fn(*[o[0] for o in ours])
    yt = t_fn(*[o[1] for o in ours])
    close(y, yt, dtype)
    g = np.random.default_rng(1).standard_normal(yt.shape).astype(dtype)
    y.backward(nt.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in ours:
        if a is not None:
            close(a.grad, b.grad, dtype)
    return y


CONV_CASES = [
    # (x shape, w shape, bias, kwargs)
    ((2, 4, 9, 9), (6, 4, 3, 3), True, {}),
    ((2, 4, 9, 8), (6, 4, 3, 2), True, dict(stride=2, padding=1)),
    ((1, 3, 10, 10), (5, 3, 3, 3), False, dict(stride=(2, 1), padding=(0, 2), dilation=(2, 1))),
    ((2, 4, 7, 7), (6, 2, 3, 3), True, dict(groups=2, padding=1)),
    ((2, 4, 7, 7), (8, 1, 3, 3), True, dict(groups=4, padding=1, stride=2)),  # depthwise x2
    ((2, 4, 7, 7), (4, 1, 5, 5), False, dict(groups=4, padding=2, dilation=1)),  # depthwise
    ((3, 4, 6, 6), (5, 4, 1, 1), True, {}),  # pointwise
    ((2, 3, 8, 7), (4, 3, 3, 3), True, dict(padding="same")),
    ((2, 3, 8, 7), (4, 3, 4, 2), True, dict(padding="same")),  # asymmetric same
    ((1, 3, 8, 7), (4, 3, 3, 2), True, dict(padding="same", dilation=(1, 3))),
    ((2, 3, 8, 7), (4, 3, 3, 3), False, dict(padding="valid")),
    ((4, 7, 7), (5, 4, 3, 3), True, dict(padding=1)),  # unbatched
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,bias,kw", CONV_CASES)
def test_conv2d_parity(xs, ws, bias, kw, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if bias else None
    y = run_both(lambda x, w, b: F.conv2d(x, w, b, **kw),
                 lambda x, w, b: TF.conv2d(x, w, b, **kw), [x, w, b], dtype)
    if len(xs) == 4 and (kw.get("padding") != "same" or ws[2] % 2):
        assert type(y.grad_fn).__name__ == "ConvolutionBackward0"


def test_conv2d_module_matches_torch():
    for args, kw in [((3, 8, 7), dict(stride=2, padding=3, bias=False)),
                     ((4, 4, 3), dict(groups=4, padding="same", dilation=2)),
                     ((4, 6, (3, 1)), dict(padding=(1, 0)))]:
        m = nn.Conv2d(*args, **kw)
        mt = torch.nn.Conv2d(*args, **kw)
        assert repr(m) == repr(mt)
        assert m.weight.shape == tuple(mt.weight.shape)
        with torch.no_grad():
            mt.weight.copy_(torch.tensor(m.weight.detach().numpy()))
            if m.bias is not None:
                mt.bias.copy_(torch.tensor(m.bias.detach().numpy()))
        x, xt = pair(np.random.default_rng(2).standard_normal((2, args[0], 9, 9))
                     .astype(np.float32))
        y, yt = m(x), mt(xt)
        close(y, yt, np.float32)
        y.sum().backward()
        yt.sum().backward()
        close(x.grad, xt.grad, np.float32)
        close(m.weight.grad, mt.weight.grad, np.float32)
        if m.bias is not None:
            close(m.bias.grad, mt.bias.grad, np.float32)
    assert repr(nn.Conv2d(3, 64, 7, 2, 3, bias=False)) == \
        "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)"
    assert repr(nn.Conv2d(3, 6, 3, padding="valid")) == repr(torch.nn.Conv2d(3, 6, 3,
                                                                            padding="valid"))


def test_conv2d_init_distribution():
    m = nn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) bound equals 1/sqrt(fan_in)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.5 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    m64 = nn.Conv2d(2, 3, 3, dtype=nt.float64)
    assert m64.weight.dtype == nt.float64 and m64.bias.dtype == nt.float64


def test_conv2d_module_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(4, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string"):
        nn.Conv2d(4, 6, 3, padding="full")
    with pytest.raises(NotImplementedError, match="reflect"):
        nn.Conv2d(4, 6, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(4, 6, 3, padding_mode="mirror")


def _msg(fn):
    with pytest.raises(Exception) as e:
        fn()
    return str(e.value)


def test_conv2d_errors_match_torch():
    r = np.random.default_rng(0)
    cases = [((1, 4, 224, 224), (64, 3, 7, 7), None, {}),
             ((4, 5, 5), (6, 2, 3, 3), None, dict(groups=3)),
             ((1, 4, 2, 2), (6, 4, 3, 3), None, {}),
             ((1, 4, 4, 4), (6, 4, 3, 3), None, dict(dilation=2, padding=(1, 0))),
             ((1, 4, 5, 5), (6, 4, 3, 3), (5,), {}),
             ((1, 4, 5, 5), (6, 4, 3, 3), None, dict(stride=2, padding="same")),
             ((5, 5), (6, 4, 3, 3), None, {})]
    for xs, ws, bs, kw in cases:
        x, w = r.standard_normal(xs).astype(np.float32), r.standard_normal(ws).astype(np.float32)
        b = None if bs is None else r.standard_normal(bs).astype(np.float32)
        tb = None if b is None else torch.tensor(b)
        nb = None if b is None else nt.tensor(b)
        expected = _msg(lambda: TF.conv2d(torch.tensor(x), torch.tensor(w), tb, **kw))
        assert _msg(lambda: F.conv2d(nt.tensor(x), nt.tensor(w), nb, **kw)) == expected
    x = nt.randn(1, 4, 5, 5)
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(x.double(), nt.randn(6, 4, 3, 3))
    with pytest.raises(RuntimeError, match="float32 or float64 input, got .*int64"):
        F.conv2d(nt.zeros(1, 4, 5, 5, dtype=nt.int64), nt.zeros(6, 4, 3, 3, dtype=nt.int64))
    with pytest.raises(RuntimeError, match="bias and weight"):
        F.conv2d(x, nt.randn(6, 4, 3, 3), nt.randn(6, dtype=nt.float64))


def test_frozen_conv_skips_weight_and_input_grads(monkeypatch):
    calls = []
    real = conv_mod.conv2d_backward

    def spy(*args, **kwargs):
        calls.append((kwargs["need_input"], kwargs["need_weight"], kwargs["need_bias"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(conv_mod, "conv2d_backward", spy)
    m = nn.Conv2d(3, 4, 3, padding=1)
    m.weight.requires_grad = False
    x = nt.randn(2, 3, 6, 6, requires_grad=True)
    m(x).sum().backward()
    assert m.weight.grad is None and m.bias.grad is not None and x.grad is not None
    assert calls == [(True, False, True)]
    # first layer: the input needs no gradient
    calls.clear()
    m2 = nn.Conv2d(3, 4, 3)
    m2(nt.randn(2, 3, 6, 6)).sum().backward()
    assert calls == [(False, True, True)] and m2.weight.grad is not None
    # fully frozen: no graph at all
    m2.weight.requires_grad = False
    m2.bias.requires_grad = False
    assert m2(nt.randn(1, 3, 6, 6)).grad_fn is None


def test_double_backward_raises():
    x = nt.randn(1, 2, 5, 5, requires_grad=True)
    for y in (F.conv2d(x, nt.randn(3, 2, 3, 3)), F.max_pool2d(x, 2), F.avg_pool2d(x, 2),
              F.adaptive_avg_pool2d(x, 2)):
        with pytest.raises(RuntimeError, match="double backward"):
            nt.autograd.grad(y.sum(), x, create_graph=True)


MAX_CASES = [
    (2, {}), (3, dict(stride=2, padding=1)), ((3, 2), dict(stride=(2, 1), ceil_mode=True)),
    (3, dict(stride=2, ceil_mode=True, padding=1)), (2, dict(dilation=2, stride=1)),
    ((2, 3), dict(stride=2, padding=(1, 1), dilation=(2, 1), ceil_mode=True)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,kw", MAX_CASES)
def test_max_pool2d_parity(k, kw, dtype):
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 8)).astype(dtype)
    y = run_both(lambda x: F.max_pool2d(x, k, **kw), lambda x: TF.max_pool2d(x, k, **kw),
                 [x], dtype)
    assert type(y.grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
    y, i = F.max_pool2d(nt.tensor(x), k, return_indices=True, **kw)
    yt, it = TF.max_pool2d(torch.tensor(x), k, return_indices=True, **kw)
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    assert i.dtype == nt.int64


def test_max_pool2d_unbatched_and_ties():
    x = np.zeros((3, 6, 6), np.float32)  # all ties: gradient goes to one element per window
    run_both(lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1),
             [x], np.float32)
    y, i = F.max_pool2d(nt.tensor(x), 2, return_indices=True)
    assert y.shape == (3, 3, 3) and i.shape == (3, 3, 3)


AVG_CASES = [
    (2, {}), (3, dict(stride=2, padding=1)),
    (3, dict(stride=2, padding=1, count_include_pad=False)),
    (3, dict(stride=2, padding=1, ceil_mode=True)),
    (3, dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((3, 2), dict(stride=(1, 2), padding=(1, 0), divisor_override=5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,kw", AVG_CASES)
def test_avg_pool2d_parity(k, kw, dtype):
    x = np.random.default_rng(4).standard_normal((2, 3, 8, 9)).astype(dtype)
    y = run_both(lambda x: F.avg_pool2d(x, k, **kw), lambda x: TF.avg_pool2d(x, k, **kw),
                 [x], dtype)
    assert type(y.grad_fn).__name__ == "AvgPool2DBackward0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [(1, 1), 1, 3, (5, 3), (12, 20), (None, 7), (4, None)])
def test_adaptive_avg_pool2d_parity(size, dtype):
    x = np.random.default_rng(5).standard_normal((2, 3, 10, 9)).astype(dtype)
    y = run_both(lambda x: F.adaptive_avg_pool2d(x, size),
                 lambda x: TF.adaptive_avg_pool2d(x, size), [x], dtype)
    assert type(y.grad_fn).__name__ == "AdaptiveAvgPool2DBackward0"
    run_both(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size),
             [x[0]], dtype)


def test_pool_modules_match_torch():
    x = np.random.default_rng(6).standard_normal((2, 3, 9, 9)).astype(np.float32)
    for ours, theirs in [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
                         (nn.MaxPool2d((2, 3), dilation=2, ceil_mode=True, padding=1),
                          torch.nn.MaxPool2d((2, 3), dilation=2, ceil_mode=True, padding=1)),
                         (nn.AvgPool2d(3, 2), torch.nn.AvgPool2d(3, 2)),
                         (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
                          torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
                         (nn.AdaptiveAvgPool2d((None, 7)), torch.nn.AdaptiveAvgPool2d((None, 7))),
                         (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1))]:
        assert repr(ours) == repr(theirs)
        close(ours(nt.tensor(x)), theirs(torch.tensor(x)), np.float32)
    y, i = nn.MaxPool2d(3, 2, return_indices=True)(nt.tensor(x))
    yt, it = torch.nn.MaxPool2d(3, 2, return_indices=True)(torch.tensor(x))
    close(y, yt, np.float32)
    np.testing.assert_array_equal(i.numpy(), it.numpy())


def test_pool_errors_match_torch():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    cases = [("max_pool2d", x, (3,), dict(padding=2)),
             ("max_pool2d", x[..., :2, :2], (3,), {}),
             ("avg_pool2d", x[..., :2, :2], (3,), {}),
             ("avg_pool2d", x, (3,), dict(padding=2)),
             ("adaptive_avg_pool2d", x[..., :0, :], (3,), {})]
    for name, arr, args, kw in cases:
        expected = _msg(lambda: getattr(TF, name)(torch.tensor(arr), *args, **kw))
        got = _msg(lambda: getattr(F, name)(nt.tensor(arr), *args, **kw))
        assert got.startswith(expected.split(" with dimension")[0][:40]), (got, expected)
    with pytest.raises(RuntimeError, match="float32 or float64"):
        F.max_pool2d(nt.zeros(1, 1, 4, 4, dtype=nt.int64), 2)
    with pytest.raises(RuntimeError, match="3D or 4D"):
        F.avg_pool2d(nt.zeros(4, 4), 2)
    with pytest.raises(RuntimeError, match="divisor"):
        F.avg_pool2d(nt.tensor(x), 2, divisor_override=0)


def test_max_pool_indices_released_with_graph():
    x = nt.randn(1, 2, 6, 6, requires_grad=True)
    y = F.max_pool2d(x, 2)
    node = y.grad_fn
    assert node.indices is not None
    y.sum().backward()
    assert node.indices is None
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_small_cnn_trains_like_torch():
    """Conv -> ReLU -> MaxPool -> Conv -> AdaptiveAvgPool chain: same grads as torch."""
    nt.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 4, 3, groups=4, padding="same", bias=False), nn.AvgPool2d(2),
                        nn.AdaptiveAvgPool2d(1))
    tnet = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(8, 4, 3, groups=4, padding="same", bias=False),
                               torch.nn.AvgPool2d(2), torch.nn.AdaptiveAvgPool2d(1))
    with torch.no_grad():
        for p, pt in zip(net.parameters(), tnet.parameters()):
            pt.copy_(torch.tensor(p.detach().numpy()))
    x = np.random.default_rng(7).standard_normal((2, 3, 12, 12)).astype(np.float32)
    y, yt = net(nt.tensor(x)), tnet(torch.tensor(x))
    close(y, yt, np.float32)
    y.square().sum().backward()
    yt.square().sum().backward()
    for p, pt in zip(net.parameters(), tnet.parameters()):
        close(p.grad, pt.grad, np.float32)
