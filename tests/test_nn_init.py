"""nn.init: gains and fans against PyTorch, bounds and moments of every random init, the
deterministic inits against PyTorch exactly, and the layers' default initialisation."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nanotorch as nt  # noqa: E402
import nanotorch.nn as nn  # noqa: E402
from nanotorch.nn import init  # noqa: E402


def arr(t):
    return t.detach().numpy()


def test_calculate_gain_matches_torch():
    cases = [("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None),
             ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
             ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0), ("selu", None)]
    for name, param in cases:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param), rel=1e-12)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 3), (6, 2, 7), (1, 1)])
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(nt.empty(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert ours == theirs


def test_fan_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(nt.empty(5))
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init.kaiming_uniform_(nt.empty(3, 3), mode="fan_avg")


def _kaiming_bound(shape, a, mode, nonlinearity):
    fan = torch.nn.init._calculate_correct_fan(torch.empty(*shape), mode)
    return torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)


@pytest.mark.parametrize("a,mode,nl", [(0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in",
                                                                      "leaky_relu"),
                                       (0, "fan_out", "relu"), (0.1, "fan_in", "leaky_relu"),
                                       (0, "fan_in", "tanh")])
def test_kaiming_uniform_and_normal(a, mode, nl):
    shape = (256, 64, 3, 3)
    std = _kaiming_bound(shape, a, mode, nl)
    bound = math.sqrt(3.0) * std
    nt.manual_seed(0)
    w = init.kaiming_uniform_(nt.empty(*shape), a=a, mode=mode, nonlinearity=nl)
    x = arr(w)
    assert x.min() >= -bound and x.max() <= bound
    assert x.min() < -0.999 * bound and x.max() > 0.999 * bound  # fills the whole range
    assert abs(x.mean()) < 0.01 * bound
    assert x.std() == pytest.approx(std, rel=0.01)
    n = init.kaiming_normal_(nt.empty(*shape), a=a, mode=mode, nonlinearity=nl)
    assert arr(n).std() == pytest.approx(std, rel=0.01)
    assert abs(arr(n).mean()) < 0.01 * std


def test_xavier():
    shape = (300, 200)
    bound = math.sqrt(6.0 / 500)
    x = arr(init.xavier_uniform_(nt.empty(*shape), gain=2.0))
    assert np.abs(x).max() <= 2 * bound and np.abs(x).max() > 0.999 * 2 * bound
    assert x.std() == pytest.approx(2 * bound / math.sqrt(3), rel=0.01)
    y = arr(init.xavier_normal_(nt.empty(*shape), gain=0.5))
    assert y.std() == pytest.approx(0.5 * math.sqrt(2.0 / 500), rel=0.01)


def test_uniform_normal_constant_and_dtype():
    u = arr(init.uniform_(nt.empty(100000), -2.0, 3.0))
    assert u.min() >= -2 and u.max() <= 3 and u.mean() == pytest.approx(0.5, abs=0.02)
    n = arr(init.normal_(nt.empty(100000, dtype=nt.float64), 1.0, 0.5))
    assert n.dtype == np.float64
    assert n.mean() == pytest.approx(1.0, abs=0.01) and n.std() == pytest.approx(0.5, rel=0.01)
    assert (arr(init.constant_(nt.empty(3, 2), 0.25)) == 0.25).all()
    assert (arr(init.ones_(nt.empty(4))) == 1).all()
    assert (arr(init.zeros_(nt.empty(4))) == 0).all()


def _truncnorm_moments(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    def pdf(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) if math.isfinite(z) else 0.0
    def cdf(z):
        return 0.5 * math.erfc(-z / math.sqrt(2))
    zmass = cdf(beta) - cdf(alpha) if beta < 0 else cdf(-alpha) - cdf(-beta)
    m = mean + std * (pdf(alpha) - pdf(beta)) / zmass
    ta = alpha * pdf(alpha) if math.isfinite(alpha) else 0.0
    tb = beta * pdf(beta) if math.isfinite(beta) else 0.0
    var = std ** 2 * (1 + (ta - tb) / zmass - ((pdf(alpha) - pdf(beta)) / zmass) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -2.0, 2.0),
                                          (1.0, 2.0, 0.0, 1.5), (0.0, 1.0, 2.0, 3.0),
                                          (0.0, 1.0, -9.0, -8.5), (0.0, 1.0, 4.0, 6.0),
                                          (0.0, 1.0, -0.01, 0.01), (5.0, 1.0, -1.0, 0.0)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    nt.manual_seed(1)
    t = init.trunc_normal_(nt.empty(200, 500), mean, std, a, b)
    x = arr(t).astype(np.float64)
    assert x.min() >= a and x.max() <= b
    m, s = _truncnorm_moments(mean, std, a, b)
    se = s / math.sqrt(x.size)
    assert abs(x.mean() - m) < 6 * se + 1e-7
    assert x.std() == pytest.approx(s, rel=0.02)
    with pytest.raises(ValueError):
        init.trunc_normal_(nt.empty(3), a=1.0, b=0.0)
    with pytest.raises(RuntimeError, match="out of bounds"):   # as torch 2.13's sampler
        init.trunc_normal_(nt.empty(3), a=4.0, b=math.inf)


def test_deterministic_inits_match_torch():
    np.testing.assert_array_equal(arr(init.eye_(nt.empty(3, 5))),
                                  torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 4, 3, 3, 3), 1),
                          ((4, 2, 5), 2)]:
        np.testing.assert_array_equal(arr(init.dirac_(nt.empty(*shape), groups)),
                                      torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(nt.empty(2, 2, 2))
    with pytest.raises(ValueError, match="3, 4, or 5"):
        init.dirac_(nt.empty(2, 2))


@pytest.mark.parametrize("shape", [(6, 6), (4, 10), (10, 4), (8, 2, 3, 3)])
def test_orthogonal(shape):
    w = arr(init.orthogonal_(nt.empty(*shape), gain=2.0)).reshape(shape[0], -1).astype(
        np.float64)
    r, c = w.shape
    gram = w @ w.T if r <= c else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(r, c)), atol=1e-5)


def test_sparse_init():
    w = arr(init.sparse_(nt.empty(10, 50), sparsity=0.3, std=0.5))
    assert ((w == 0).sum(0) >= 3).all()
    with pytest.raises(ValueError):
        init.sparse_(nt.empty(3), 0.1)


def test_inits_run_without_grad_on_parameters():
    p = nn.Parameter(nt.empty(20, 10))
    v = p._version
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_,
               init.xavier_normal_, init.uniform_, init.normal_, init.trunc_normal_,
               init.zeros_, init.ones_, init.eye_, init.orthogonal_):
        out = fn(p)
        assert out is p and p.grad_fn is None and p.requires_grad and p.is_leaf
    init.constant_(p, 0.3)
    assert p._version > v
    assert np.allclose(arr(p), 0.3)
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(nt.empty(0, 3))


def test_seeding_and_generator():
    nt.manual_seed(123)
    a = arr(init.kaiming_uniform_(nt.empty(4, 4))).copy()
    nt.manual_seed(123)
    b = arr(init.kaiming_uniform_(nt.empty(4, 4))).copy()
    assert np.array_equal(a, b)
    g1, g2 = nt.Generator().manual_seed(7), nt.Generator().manual_seed(7)
    c = arr(init.normal_(nt.empty(5), generator=g1)).copy()
    d = arr(init.normal_(nt.empty(5), generator=g2)).copy()
    assert np.array_equal(c, d)
    e = arr(init.trunc_normal_(nt.empty(5), generator=nt.Generator().manual_seed(7))).copy()
    f = arr(init.trunc_normal_(nt.empty(5), generator=nt.Generator().manual_seed(7))).copy()
    assert np.array_equal(e, f)


def test_linear_default_init():
    nt.manual_seed(0)
    m = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = arr(m.weight).copy(), arr(m.bias)
    for x in (w, b):
        assert np.abs(x).max() <= bound and np.abs(x).max() > 0.97 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert abs(w.mean()) < 0.01 * bound
    # the same bound PyTorch's layer has
    tw = torch.nn.Linear(400, 300).weight.detach().numpy()
    assert np.abs(tw).max() <= bound and np.abs(tw).max() > 0.99 * bound
    # reset_parameters draws again
    m.reset_parameters()
    assert not np.array_equal(arr(m.weight), w)


def test_prelu_and_embedding_default_init():
    assert np.allclose(arr(nn.PReLU(3, init=0.1).weight), 0.1)
    e = nn.Embedding(2000, 50)
    x = arr(e.weight)
    assert abs(x.mean()) < 0.01 and x.std() == pytest.approx(1.0, rel=0.01)
