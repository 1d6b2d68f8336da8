"""``out=`` on the torch.* functions against the torch wheel."""
import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import _out

torch = pytest.importorskip("torch")


def _pair(rng, *shape, dtype=np.float32):
    a = rng.standard_normal(shape).astype(dtype)
    return nt.tensor(a), torch.tensor(a)


CASES = {
    "matmul": (lambda L, a, b: dict(args=(a, b.transpose(0, 1)))),
    "add": (lambda L, a, b: dict(args=(a, b), kwargs=dict(alpha=2))),
    "mul": (lambda L, a, b: dict(args=(a, b))),
    "sub": (lambda L, a, b: dict(args=(a, 1.5))),
    "div": (lambda L, a, b: dict(args=(a, b))),
    "cat": (lambda L, a, b: dict(args=([a, b], 1))),
    "stack": (lambda L, a, b: dict(args=([a, b],))),
    "sum": (lambda L, a, b: dict(args=(a, 1))),
    "mean": (lambda L, a, b: dict(args=(a,), kwargs=dict(dim=0, keepdim=True))),
    "exp": (lambda L, a, b: dict(args=(a,))),
    "clamp": (lambda L, a, b: dict(args=(a, -0.5, 0.5))),
    "where": (lambda L, a, b: dict(args=(a > 0, a, b))),
    "mm": (lambda L, a, b: dict(args=(a, b.t()))),
    "tril": (lambda L, a, b: dict(args=(a,))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_matches_torch_and_returns_out(name):
    rng = np.random.default_rng(0)
    (na, ta), (nb, tb) = _pair(rng, 3, 4), _pair(rng, 3, 4)
    got = {}
    for L, a, b in ((nt, na, nb), (torch, ta, tb)):
        spec = CASES[name](L, a, b)
        expect = getattr(L, name)(*spec["args"], **spec.get("kwargs", {}))
        out = L.empty(expect.shape, dtype=expect.dtype)
        res = getattr(L, name)(*spec["args"], out=out, **spec.get("kwargs", {}))
        assert res is out
        got[L] = out
    np.testing.assert_allclose(got[nt].numpy(), got[torch].numpy(), rtol=1e-6, atol=1e-6)


def test_out_tuple_for_max():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::-1].copy()
    res = {}
    for L in (nt, torch):
        v, i = L.empty(3), L.empty(3, dtype=L.int64)
        r = L.max(L.tensor(x), 1, out=(v, i))
        assert r[0] is v and r[1] is i
        res[L] = (v.numpy(), i.numpy())
    np.testing.assert_array_equal(res[nt][0], res[torch][0])
    np.testing.assert_array_equal(res[nt][1], res[torch][1])


def test_out_is_written_in_place_through_a_view():
    base = nt.zeros(2, 3)
    nt.add(nt.ones(3), 1, out=base[1])
    np.testing.assert_array_equal(base.numpy(), [[0, 0, 0], [2, 2, 2]])


def test_out_resizes_with_torchs_warning():
    for L in (nt, torch):
        empty = L.empty(0)
        assert L.mul(L.ones(2), 3, out=empty).shape == (2,)
        with pytest.warns(UserWarning, match="was resized since it had shape \\[5\\]"):
            assert L.mul(L.ones(2), 3, out=L.empty(5)).shape == (2,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nt.mul(nt.ones(2), 3, out=nt.empty(0))


@pytest.mark.parametrize("lib", ["nt", "torch"])
def test_out_errors_like_torch(lib):
    L = nt if lib == "nt" else torch
    with pytest.raises(RuntimeError, match="add\\(\\): functions with out=... arguments don't "
                                           "support automatic differentiation"):
        L.add(L.ones(2, requires_grad=True), 1, out=L.empty(2))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        L.add(L.ones(2), 1.5, out=L.empty(2, dtype=L.int64))
    with L.no_grad():  # no graph: out= is allowed
        assert L.add(L.ones(2, requires_grad=True), 1, out=L.empty(2)).tolist() == [2.0, 2.0]


def test_creation_out_takes_outs_dtype_and_the_same_random_stream():
    for L in (nt, torch):
        L.manual_seed(3)
    o_nt, o_t = nt.empty(4), torch.empty(4)
    nt.randn(4, out=o_nt)
    torch.randn(4, out=o_t)
    np.testing.assert_array_equal(o_nt.numpy(), o_t.numpy())
    for L in (nt, torch):
        o = L.empty(3, dtype=L.int64)
        L.arange(3, out=o)
        assert o.dtype == L.int64 and o.tolist() == [0, 1, 2]
        z = L.ones(2, dtype=L.float64)
        L.zeros(2, out=z)
        assert z.dtype == L.float64 and z.tolist() == [0.0, 0.0]


def test_every_out_name_takes_out_in_torch_and_methods_stay_bare():
    for name in _out.NAMES + _out.CREATION:
        assert getattr(nt, name)._takes_out, name
        assert hasattr(torch, name), name
    assert nt.Tensor.add is nt.functions.add  # the method pays no wrapper
    assert nt.add is not nt.functions.add
