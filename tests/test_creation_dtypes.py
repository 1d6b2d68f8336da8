"""Creation functions, dtype inference and conversions against PyTorch; random factories
by shape, dtype, range and seeding."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nanotorch as nt  # noqa: E402

DETERMINISTIC = [
    "tensor([1, 2])", "tensor([1., 2])", "tensor([True, False])", "tensor([1, 2.5])",
    "tensor([True, 2])", "tensor([])", "tensor(3)", "tensor(3.5)", "tensor(True)",
    "tensor([[1, 2], [3, 4]], dtype=T.float64)", "tensor([1.5], dtype=T.int32)",
    "tensor([-1.7, 2.7], dtype=T.int64)", "tensor([0, 3], dtype=T.bool)",
    "tensor([300, -1], dtype=T.int64).to(T.uint8)", "tensor([[1, 2]], dtype=T.uint8)",
    "tensor(np.array([1., 2.]))", "tensor(np.array([1, 2], dtype=np.int32))",
    "tensor(np.float64(1.5))", "tensor(np.int32(3))", "tensor(np.array(2.5))",
    "tensor([np.float32(1.5)])", "tensor([T.tensor(1.5), T.tensor(2.)])",
    "tensor([[T.tensor(1), 2]])", "as_tensor([1, 2])", "as_tensor(np.arange(3))",
    "from_numpy(np.arange(4.0).reshape(2, 2))",
    "zeros(2, 3)", "zeros((2, 3))", "zeros([2, 3])", "zeros(())", "zeros(0)", "zeros(2, 0)",
    "ones(2, dtype=T.int32)", "ones(2, 1, dtype=T.bool)", "ones((3,), dtype=T.uint8)",
    "full((2, 2), 7)", "full((2, 2), 1.5)", "full((2,), True)", "full([2], 3, dtype=T.float64)",
    "full((), 2)", "full((2, 3), -0.5, dtype=T.int32)",
    "zeros_like(T.tensor([1, 2]))", "ones_like(T.tensor([1., 2]), dtype=T.float64)",
    "full_like(T.tensor([1, 2]), 2.7)", "full_like(T.tensor([1., 2]), 7)",
    "zeros_like(T.ones(2, 3, dtype=T.bool))", "ones_like(T.zeros(2, dtype=T.uint8))",
    "arange(5)", "arange(1, 4)", "arange(0, 1, 0.1)", "arange(5.0)", "arange(5, dtype=T.float64)",
    "arange(1, 10, 3)", "arange(10, 0, -3)", "arange(0, 1, 0.3)", "arange(-1.5, 1.5, 0.5)",
    "arange(0, 5, 2, dtype=T.float32)", "arange(0.5, 3, dtype=T.int64)", "arange(T.tensor(3))",
    "arange(1, 2.5, 0.5)", "arange(0)", "arange(3, 3)", "arange(-3, 0.5, 0.7, dtype=T.float64)",
    "linspace(0, 1, 5)", "linspace(-1, 1, 1)", "linspace(0, 1, 0)",
    "linspace(0, 10, 5, dtype=T.int64)", "linspace(0, 1, 3, dtype=T.float64)", "linspace(2, -2, 7)",
    "eye(3)", "eye(2, 4)", "eye(3, dtype=T.int64)", "eye(2, 1)", "eye(0)", "eye(3, dtype=T.bool)",
]


def _describe(x):
    if isinstance(x, (torch.Tensor, nt.Tensor)):
        return str(x.dtype), tuple(x.shape), x.tolist()
    return x


@pytest.mark.parametrize("expr", DETERMINISTIC)
def test_creation_matches_torch(expr):
    env = {"np": np}
    want = eval("T." + expr, dict(env, T=torch))
    got = eval("T." + expr, dict(env, T=nt))
    dt, shape, vals = _describe(want)
    gdt, gshape, gvals = _describe(got)
    assert (gdt, gshape) == (dt, shape)
    np.testing.assert_allclose(np.asarray(gvals, dtype=float), np.asarray(vals, dtype=float),
                               rtol=1e-6, atol=1e-6)
    assert not got.requires_grad


@pytest.mark.parametrize("expr", [
    "arange(0, -1)", "arange(5, 1)", "arange(0, 1, 0)", "zeros(-1)", "linspace(0, 1, -1)",
    "tensor([[1, 2], [3]])", "randint(3, 3, (2,))", "tensor([1, 2], requires_grad=True)",
    "ones(2, dtype=T.int64, requires_grad=True)",
])
def test_creation_errors_like_torch(expr):
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        eval("T." + expr, {"T": torch, "np": np})
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        eval("T." + expr, {"T": nt, "np": np})


def test_creation_requires_grad_and_copy_semantics():
    x = nt.zeros(2, 3, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    a = np.arange(3.0)
    t = nt.tensor(a)
    a[0] = 9.0
    assert t[0].item() == 0.0  # tensor() copies
    f = nt.from_numpy(a)
    a[1] = 7.0
    assert f[1].item() == 7.0  # from_numpy shares
    assert nt.as_tensor(t) is t


def test_default_dtype_governs_float_inference():
    old = nt.get_default_dtype()
    try:
        nt.set_default_dtype(nt.float64)
        assert nt.tensor([1.5]).dtype is nt.float64
        assert nt.zeros(2).dtype is nt.float64
        assert nt.arange(0.0, 1.0, 0.5).dtype is nt.float64
        assert (nt.tensor([1, 2]) * 0.5).dtype is nt.float64
        assert nt.tensor([1, 2]).dtype is nt.int64
    finally:
        nt.set_default_dtype(old)
    assert nt.tensor([1.5]).dtype is nt.float32


# random -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [None, "float32", "float64"])
def test_rand_randn_shapes_dtypes(dtype):
    kw = {} if dtype is None else {"dtype": getattr(nt, dtype)}
    want = nt.float32 if dtype is None else getattr(nt, dtype)
    for fn in (nt.rand, nt.randn):
        for shape_args in ((2, 3), ((2, 3),), ([4],), ((),), (0,)):
            t = fn(*shape_args, **kw)
            expect = torch.empty(*shape_args).shape
            assert tuple(t.shape) == tuple(expect) and t.dtype is want
    u = nt.rand(20000, **kw).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.02
    z = nt.randn(20000, **kw).numpy()
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05


def test_randint_randperm():
    r = nt.randint(-3, 4, (50, 40))
    assert r.dtype is nt.int64 and tuple(r.shape) == (50, 40)
    assert r.min().item() == -3 and r.max().item() == 3  # both ends reached, high excluded
    assert nt.randint(5, (3, 4)).shape == (3, 4)
    assert nt.randint(0, 5, (3,), dtype=nt.int32).dtype is nt.int32
    assert nt.randint(0, 2, (3,), dtype=nt.float32).dtype is nt.float32
    p = nt.randperm(10)
    assert p.dtype is nt.int64 and sorted(p.tolist()) == list(range(10))
    assert nt.randperm(0).shape == (0,)
    assert nt.randperm(5, dtype=nt.int32).dtype is nt.int32


def test_like_random():
    x = nt.zeros(3, 2, dtype=nt.float64)
    assert nt.rand_like(x).dtype is nt.float64 and nt.randn_like(x).shape == (3, 2)
    r = nt.randint_like(nt.zeros(4, dtype=nt.int32), 0, 3)
    assert r.dtype is nt.int32 and 0 <= r.min().item() and r.max().item() < 3


def test_manual_seed_reproducible():
    def draw():
        return (nt.rand(3).tolist(), nt.randn(2, 2).tolist(), nt.randint(0, 100, (5,)).tolist(),
                nt.randperm(6).tolist())
    nt.manual_seed(123)
    a = draw()
    b = draw()
    nt.manual_seed(123)
    c = draw()
    assert a == c and a != b
    g1 = nt.Generator().manual_seed(7)
    g2 = nt.Generator().manual_seed(7)
    assert nt.rand(4, generator=g1).tolist() == nt.rand(4, generator=g2).tolist()
    state = nt.get_rng_state()
    x = nt.randn(3).tolist()
    nt.set_rng_state(state)
    assert nt.randn(3).tolist() == x


# conversions --------------------------------------------------------------------------------
@pytest.mark.parametrize("vals, dtype", [([[1.5, 2.0]], "float32"), ([[1, 2]], "int64"),
                                          ([True, False], "bool"), (3.25, "float64"),
                                          ([[1, 2]], "uint8"), ([7], "int32"), (5, "int64")])
def test_numpy_item_tolist(vals, dtype):
    a = nt.tensor(vals, dtype=getattr(nt, dtype))
    b = torch.tensor(vals, dtype=getattr(torch, dtype))
    assert a.tolist() == b.tolist() and type(a.tolist()) is type(b.tolist())
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.numpy().dtype == b.numpy().dtype
    if a.numel() == 1:
        assert a.item() == b.item() and type(a.item()) is type(b.item())


def test_numpy_shares_memory_and_guards():
    x = nt.zeros(3)
    x.numpy()[1] = 4.0
    assert x[1].item() == 4.0
    with pytest.raises(RuntimeError, match="requires grad"):
        nt.ones(2, requires_grad=True).numpy()
    assert nt.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        nt.ones(2).item()
    assert nt.ones(1, 1).item() == 1.0


@pytest.mark.parametrize("src", ["float32", "float64", "int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("dst", ["float32", "float64", "int64", "int32", "uint8", "bool"])
def test_to_dtype(src, dst):
    vals = [0.0, 1.0, 2.7, -1.7, 200.0]
    t_src = torch.tensor(vals).to(getattr(torch, src))
    want = t_src.to(getattr(torch, dst))
    if src in ("float32", "float64") and dst == "uint8":
        pytest.skip("negative float -> uint8 is undefined behaviour in C")
    got = nt.tensor(t_src.numpy()).to(getattr(nt, dst))
    assert str(got.dtype) == str(want.dtype)
    assert got.tolist() == want.tolist()
