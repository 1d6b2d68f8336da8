"""Property tests: random shapes, broadcast pairs, dims and dtypes; values and gradients of
the core ops match PyTorch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nanotorch as nt  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None)
DTYPES = st.sampled_from([np.float32, np.float64])
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)
nonempty_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
seeds = st.integers(0, 2**31 - 1)


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


@st.composite
def broadcast_pair(draw):
    a = draw(shapes)
    b = [1 if draw(st.booleans()) else n for n in a]
    b = tuple(b[draw(st.integers(0, len(b))):])  # drop some leading dims
    return (a, b) if draw(st.booleans()) else (b, a)


def _inputs(rng, dtype, *shps, positive=()):
    arrs = []
    for i, s in enumerate(shps):
        a = rng.standard_normal(s).astype(dtype)
        if i in positive:  # keep denominators away from zero
            a = ((np.abs(a) + 0.5) * rng.choice([-1, 1], size=s)).astype(dtype)
        arrs.append(np.asarray(a))
    return arrs


def _check(fn_nt, fn_t, arrs, dtype, rng, tol=None):
    """Run both frameworks, compare forward values and gradients of every input."""
    tol = tol or _tol(dtype)
    xs = [nt.tensor(a.copy(), requires_grad=True) for a in arrs]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrs]
    y, yt = fn_nt(*xs), fn_t(*ts)
    assert tuple(y.shape) == tuple(yt.shape)
    assert y.detach().numpy().dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
    g = np.asarray(rng.standard_normal(tuple(yt.shape))).astype(dtype)
    y.backward(nt.tensor(g))
    yt.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        assert x.grad is not None and tuple(x.grad.shape) == tuple(t.shape)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol)


@SETTINGS
@given(broadcast_pair(), DTYPES, seeds, st.sampled_from(["add", "mul", "div"]))
def test_binary_broadcast(pair, dtype, seed, op):
    rng = np.random.default_rng(seed)
    arrs = _inputs(rng, dtype, *pair, positive=(1,) if op == "div" else ())
    f = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[op]
    _check(f, f, arrs, dtype, rng)


@st.composite
def shape_and_dims(draw):
    s = draw(nonempty_shapes)
    dims = draw(st.lists(st.integers(-len(s), len(s) - 1), min_size=1, max_size=len(s),
                         unique_by=lambda d: d % len(s)))
    return s, tuple(dims)


@SETTINGS
@given(shape_and_dims(), st.booleans(), DTYPES, seeds, st.sampled_from(["sum", "mean", "amax"]))
def test_reductions(sd, keepdim, dtype, seed, op):
    shape, dims = sd
    rng = np.random.default_rng(seed)
    arrs = _inputs(rng, dtype, shape)
    _check(lambda x: getattr(nt, op)(x, dim=dims, keepdim=keepdim),
           lambda x: getattr(torch, op)(x, dim=dims, keepdim=keepdim), arrs, dtype, rng)


@SETTINGS
@given(shapes, DTYPES, seeds, st.sampled_from(["sum", "mean"]))
def test_full_reductions(shape, dtype, seed, op):
    rng = np.random.default_rng(seed)
    _check(lambda x: getattr(x, op)(), lambda x: getattr(x, op)(),
           _inputs(rng, dtype, shape), dtype, rng)


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 5)) for _ in range(3))
    kind = draw(st.sampled_from(["vv", "mv", "vm", "mm", "batched"]))
    if kind == "vv":
        return (k,), (k,)
    if kind == "mv":
        return (n, k), (k,)
    if kind == "vm":
        return (k,), (k, m)
    if kind == "mm":
        return (n, k), (k, m)
    batch_a, batch_b = draw(broadcast_pair())
    return batch_a[-2:] + (n, k), batch_b[-2:] + (k, m)


@SETTINGS
@given(matmul_shapes(), DTYPES, seeds)
def test_matmul(shps, dtype, seed):
    rng = np.random.default_rng(seed)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else None
    _check(lambda a, b: a @ b, lambda a, b: a @ b, _inputs(rng, dtype, *shps), dtype, rng, tol)


@st.composite
def shape_and_dim(draw):
    s = draw(nonempty_shapes)
    return s, draw(st.integers(-len(s), len(s) - 1))


@SETTINGS
@given(shape_and_dim(), DTYPES, seeds, st.sampled_from(["softmax", "log_softmax"]),
       st.floats(0.1, 30))
def test_softmax_family(sd, dtype, seed, op, scale):
    shape, dim = sd
    rng = np.random.default_rng(seed)
    arrs = [a * dtype(scale) for a in _inputs(rng, dtype, shape)]
    _check(lambda x: getattr(nt, op)(x, dim=dim), lambda x: getattr(torch, op)(x, dim=dim),
           arrs, dtype, rng)


@SETTINGS
@given(shapes, DTYPES, seeds, st.sampled_from(["exp", "tanh"]))
def test_unary(shape, dtype, seed, op):
    rng = np.random.default_rng(seed)
    _check(getattr(nt, op), getattr(torch, op), _inputs(rng, dtype, shape), dtype, rng)


@SETTINGS
@given(broadcast_pair(), shapes, DTYPES, seeds)
def test_where(pair, cond_shape_seed, dtype, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = pair
    cond_shape = cond_shape_seed[-len(a_shape):] if a_shape else ()
    cond_shape = tuple(1 if c != n else n for c, n in zip(cond_shape, a_shape[-len(cond_shape):]
                                                          if cond_shape else ()))
    cond = rng.random(cond_shape) > 0.5
    a, b = _inputs(rng, dtype, a_shape, b_shape)
    _check(lambda x, y: nt.where(nt.tensor(cond), x, y),
           lambda x, y: torch.where(torch.tensor(cond), x, y), [a, b], dtype, rng)
