"""Inference fusion (nn/modules/_fusion.py) and its channels-last kernels
(kernels/conv_nhwc.py): equal to the unfused modules and to PyTorch, taken only when no
gradient is needed, folded weights refreshed when parameters or buffers change."""
import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.kernels.conv_nhwc import conv2d_nhwc, prepare_weight
from nanotorch.nn.modules import _fusion, container
from tests.helpers import float32_atol

torch = pytest.importorskip("torch")
tF = torch.nn.functional

_TORCH_ACT = {None: lambda y: y, "relu": tF.relu, "relu6": tF.relu6,
              "hardswish": tF.hardswish, "silu": tF.silu}
_ACT_MODULE = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish, "silu": nn.SiLU}


def _rand(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# (N, C, H, W), O, kernel, stride, padding, dilation, depthwise
CASES = [
    ((3, 8, 5, 6), 12, (1, 1), (1, 1), (0, 0), (1, 1), False),   # pointwise: one GEMM
    ((2, 8, 7, 7), 5, (1, 1), (2, 2), (0, 0), (1, 1), False),    # strided pointwise
    ((2, 3, 9, 8), 6, (3, 3), (2, 2), (1, 1), (1, 1), False),    # stem-like im2col
    ((2, 5, 6, 6), 4, (3, 2), (1, 1), (2, 1), (2, 1), False),    # dilated, uneven
    ((2, 16, 7, 7), 16, (3, 3), (1, 1), (1, 1), (1, 1), True),   # depthwise
    ((3, 9, 8, 5), 9, (5, 5), (2, 2), (2, 2), (1, 1), True),     # depthwise 5x5 s2
    ((1, 4, 9, 9), 4, (7, 7), (1, 1), (3, 3), (1, 1), True),     # depthwise 7x7
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("act", [None, "relu", "relu6", "hardswish", "silu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_torch(case, act, dtype):
    shape, O, k, s, p, d, depthwise = case
    rng = np.random.default_rng(0)
    x = _rand(rng, *shape, dtype=dtype) * 2
    w = _rand(rng, O, 1 if depthwise else shape[1], *k, dtype=dtype)
    b = _rand(rng, O, dtype=dtype)
    y = conv2d_nhwc(x, prepare_weight(w, depthwise), b, k, s, p, d, depthwise, act)
    ref = tF.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                    torch.from_numpy(b).double(), s, p, d, shape[1] if depthwise else 1)
    ref = _TORCH_ACT[act](ref).numpy()
    assert y.shape == ref.shape and y.dtype == dtype
    terms = w[0].size + 1
    atol = float32_atol(np.abs(ref).max() + 1, terms)
    if dtype == np.float64:
        atol *= 1e-8
    np.testing.assert_allclose(y, ref, rtol=0, atol=atol)


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[4]])
def test_kernel_residual(case):
    shape, O, k, s, p, d, depthwise = case
    rng = np.random.default_rng(1)
    x = _rand(rng, *shape)
    w = _rand(rng, O, 1 if depthwise else shape[1], *k)
    b = _rand(rng, O)
    plain = conv2d_nhwc(x, prepare_weight(w, depthwise), b, k, s, p, d, depthwise, None)
    res = _rand(rng, *plain.shape)
    y = conv2d_nhwc(x, prepare_weight(w, depthwise), b, k, s, p, d, depthwise, "relu", res)
    np.testing.assert_allclose(y, np.maximum(plain + res, 0), rtol=0,
                               atol=float32_atol(np.abs(plain).max() + 1, 2))


def _randomise_bn(model, seed=0):
    g = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(nt.from_numpy(g.standard_normal(c).astype(np.float32) * .3))
            m.running_var.copy_(nt.from_numpy(g.random(c).astype(np.float32) + .5))
            m.weight.data.copy_(nt.from_numpy(g.random(c).astype(np.float32) + .5))
            m.bias.data.copy_(nt.from_numpy(g.standard_normal(c).astype(np.float32) * .3))


def _block(act="relu6", groups=1, c=8):
    nt.manual_seed(0)
    layers = [nn.Conv2d(c, c, 3, padding=1, groups=groups, bias=False), nn.BatchNorm2d(c)]
    if act:
        layers.append(_ACT_MODULE[act](inplace=True))
    seq = nn.Sequential(*layers, nn.Conv2d(c, 6, 1), nn.BatchNorm2d(6))
    _randomise_bn(seq)
    return seq.eval()


def _torch_block(seq):
    """The same Sequential in torch, with seq's parameters and buffers."""
    layers = []
    for m in seq:
        if isinstance(m, nn.Conv2d):
            layers.append(torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                          padding=m.padding, groups=m.groups,
                                          bias=m.bias is not None))
        elif isinstance(m, nn.BatchNorm2d):
            layers.append(torch.nn.BatchNorm2d(m.num_features))
        else:
            layers.append(getattr(torch.nn, type(m).__name__)())
    tseq = torch.nn.Sequential(*layers)
    tseq.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in seq.state_dict().items()})
    return tseq


def _unfused(fn, monkeypatch):
    with monkeypatch.context() as mp:
        mp.setattr(container, "_fusion", None)
        return fn()


@pytest.mark.parametrize("act", ["relu", "relu6", "hardswish", "silu", None])
@pytest.mark.parametrize("groups", [1, 8])
def test_sequential_matches_unfused_and_torch(act, groups, monkeypatch):
    seq = _block(act, groups)
    x = nt.from_numpy(_rand(np.random.default_rng(2), 2, 8, 6, 5))
    with nt.no_grad():
        fused = seq(x)
        ref = _unfused(lambda: seq(x), monkeypatch)
    assert fused.shape == ref.shape and fused.is_contiguous()
    atol = float32_atol(float(ref.abs().max()) + 1, 2 * 72)
    np.testing.assert_allclose(fused.numpy(), ref.numpy(), rtol=0, atol=atol)

    tseq = _torch_block(seq)
    with torch.no_grad():
        tref = tseq.eval()(torch.from_numpy(x.numpy().copy())).numpy()
    np.testing.assert_allclose(fused.numpy(), tref, rtol=0, atol=atol)


def test_folded_weights_follow_changes(monkeypatch):
    seq = _block()
    x = nt.from_numpy(_rand(np.random.default_rng(3), 2, 8, 5, 5))
    with nt.no_grad():
        seq(x)
        seq[1].running_mean.add_(0.5)              # buffer changed in place
        seq[0].weight.mul_(1.5)                    # parameter changed in place
        seq[4].bias = nn.Parameter(nt.ones(6))     # parameter replaced
        fused = seq(x)
        ref = _unfused(lambda: seq(x), monkeypatch)
    np.testing.assert_allclose(fused.numpy(), ref.numpy(), rtol=0,
                               atol=float32_atol(float(ref.abs().max()) + 1, 144))


def test_mobilenet_v2_features_match_unfused(monkeypatch):
    from nanotorch.models import mobilenet_v2
    model = mobilenet_v2(width_mult=0.25).eval()
    _randomise_bn(model)
    x = nt.from_numpy(_rand(np.random.default_rng(4), 2, 3, 32, 32))
    with nt.no_grad():
        fused = model(x)
        ref = _unfused(lambda: model(x), monkeypatch)
    from tests.helpers import network_terms
    atol = float32_atol(float(ref.abs().max()) + 1, network_terms(model, passes=1))
    np.testing.assert_allclose(fused.numpy(), ref.numpy(), rtol=0, atol=atol)


def test_not_taken_when_a_gradient_is_needed(monkeypatch):
    calls = []
    monkeypatch.setattr(_fusion, "_run", lambda *a, **k: calls.append(1))
    seq = _block()
    x = nt.from_numpy(_rand(np.random.default_rng(5), 2, 8, 5, 5))
    y = seq(x)                                     # grad mode, parameters trainable
    assert y.requires_grad and not calls
    y.sum().backward()
    assert seq[0].weight.grad is not None
    seq.train()
    with nt.no_grad():                             # batch statistics: not foldable
        seq(x)
    assert not calls
    seq.eval()
    seq[0].register_forward_hook(lambda *a: None)  # a hook must see its module run
    with nt.no_grad():
        seq[:3](x)
    assert not calls


def test_taken_for_frozen_modules_in_grad_mode():
    seq = _block()
    for p in seq.parameters():
        p.requires_grad_(False)
    x = nt.from_numpy(_rand(np.random.default_rng(6), 2, 8, 5, 5))
    seen = []
    orig = _fusion._run

    def spy(*a, **k):
        seen.append(1)
        return orig(*a, **k)
    _fusion._run, saved = spy, _fusion._run
    try:
        y = seq(x)
    finally:
        _fusion._run = saved
    assert seen and not y.requires_grad


@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (2, 2, 0), (3, 1, 1)])
def test_max_pool_channels_last_matches_torch(k, s, p):
    x = _rand(np.random.default_rng(7), 2, 5, 9, 8)
    x[0, 1, 2, 3] = np.nan
    cl = nt.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
    with nt.no_grad():
        y = _fusion.max_pool(cl, nn.MaxPool2d(k, s, p))
    ref = tF.max_pool2d(torch.from_numpy(x), k, s, p).numpy()
    assert y.is_contiguous()
    np.testing.assert_array_equal(y.numpy(), ref)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnet_matches_unfused_and_torch(name, monkeypatch):
    from benchmarks._torch_models import build
    from nanotorch import models
    from tests.helpers import network_terms
    model = getattr(models, name)().eval()
    _randomise_bn(model)
    tmodel = build(name, torch).eval()
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in model.state_dict().items()})
    x = _rand(np.random.default_rng(8), 2, 3, 40, 40)
    with nt.no_grad():
        fused = model(nt.from_numpy(x))
        with monkeypatch.context() as mp:
            mp.setattr(_fusion, "_fusable", lambda *a: False)
            ref = model(nt.from_numpy(x))
    with torch.no_grad():
        tref = tmodel(torch.from_numpy(x)).numpy()
    atol = float32_atol(np.abs(tref).max() + 1, network_terms(model, passes=1))
    np.testing.assert_allclose(fused.numpy(), ref.numpy(), rtol=0, atol=atol)
    np.testing.assert_allclose(fused.numpy(), tref, rtol=0, atol=atol)
