"""Core tensor ops against PyTorch: values, dtypes, shapes, grad_fn names and gradients.

Each case is a function ``fn(T, *inputs)`` run once with ``T = nanotorch`` and once with
``T = torch`` on the same random inputs; every floating input requires grad and gets
compared after a backward pass with the same random upstream gradient."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nanotorch as nt  # noqa: E402

F32, F64 = np.float32, np.float64
TOL = {np.dtype(F32): (2e-5, 1e-5), np.dtype(F64): (1e-10, 1e-9)}


class Const:
    """Marks an input array that must not require grad."""

    def __init__(self, arr):
        self.arr = np.asarray(arr)


def _make(arg, lib, grad):
    if isinstance(arg, Const):
        return lib.tensor(arg.arr.copy()) if lib is nt else torch.from_numpy(arg.arr.copy())
    if isinstance(arg, np.ndarray):
        t = nt.tensor(arg.copy()) if lib is nt else torch.from_numpy(arg.copy())
        if grad and arg.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return arg


def _flat_tensors(out, lib_tensor):
    if isinstance(out, lib_tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat_tensors(o, lib_tensor)]
    return []


def assert_same(a, b, tol=None, what="output"):
    """``a`` (nanotorch) equals ``b`` (torch): type, dtype, shape, values, requires_grad.
    Float tolerances default to the (atol, rtol) of torch's dtype in ``TOL``."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, nt.Tensor), f"{what}: expected a Tensor, got {type(a).__name__}"
        assert str(a.dtype) == str(b.dtype), f"{what}: dtype {a.dtype} != {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"{what}: shape {tuple(a.shape)} != {b.shape}"
        assert a.requires_grad == b.requires_grad, f"{what}: requires_grad differs"
        x, y = a.detach().numpy(), b.detach().numpy()
        if b.dtype.is_floating_point:
            atol, rtol = tol or TOL[np.dtype(y.dtype)]
            np.testing.assert_allclose(x, y, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(x, y, err_msg=what)
    elif isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b), f"{what}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, tol, f"{what}[{i}]")
    else:
        assert a == b, f"{what}: {a!r} != {b!r}"


def check(fn, *args, grad=True, name=True, tol=None, seed=0):
    """Run ``fn`` in both libraries; compare outputs, grad_fn names and input gradients."""
    xs_nt = [_make(a, nt, grad) for a in args]
    xs_th = [_make(a, torch, grad) for a in args]
    out_th = fn(torch, *xs_th)
    out_nt = fn(nt, *xs_nt)
    assert_same(out_nt, out_th, tol)
    outs_th = _flat_tensors(out_th, torch.Tensor)
    outs_nt = _flat_tensors(out_nt, nt.Tensor)
    if name:
        for a, b in zip(outs_nt, outs_th):
            na = None if a.grad_fn is None else type(a.grad_fn).__name__
            nb = None if b.grad_fn is None else type(b.grad_fn).__name__
            assert na == nb, f"grad_fn {na} != torch's {nb}"
    pairs = [(a, b) for a, b in zip(outs_nt, outs_th) if b.requires_grad]
    if not pairs:
        return out_nt
    rng = np.random.default_rng(seed + 1)
    ups = [rng.standard_normal(b.shape).astype(str(b.dtype).split(".")[1]) for _, b in pairs]
    torch.autograd.backward([b for _, b in pairs], [torch.from_numpy(u.copy()) for u in ups])
    nt.autograd.backward([a for a, _ in pairs], [nt.tensor(u.copy()) for u in ups])
    for i, (a, b) in enumerate(zip(xs_nt, xs_th)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            if b.grad is None:
                assert a.grad is None, f"input {i}: torch has no grad but nanotorch has one"
            else:
                assert a.grad is not None, f"input {i}: nanotorch computed no grad"
                assert_same(a.grad, b.grad, tol, f"grad of input {i}")
    return out_nt


def rnd(*shape, dtype=F64, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed + 17 * len(shape) + sum(shape))
    if low is not None:
        return rng.uniform(low, high, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def pos(*shape, dtype=F64, seed=0):
    return rnd(*shape, dtype=dtype, seed=seed, low=0.5, high=2.0)


DTYPES = [F32, F64]
SHAPE_PAIRS = [((3, 1, 4), (2, 4)), ((), (3,)), ((3,), ()), ((2, 3), (2, 3)), ((2, 1), (1, 3)),
               ((4, 1, 3), (1, 5, 1)), ((), ())]


# Arithmetic ------------------------------------------------------------------------------
BINARY = {
    "add": lambda T, a, b: a + b,
    "add_fn_alpha": lambda T, a, b: T.add(a, b, alpha=2.5),
    "sub": lambda T, a, b: a - b,
    "sub_alpha": lambda T, a, b: a.sub(b, alpha=-0.5),
    "mul": lambda T, a, b: a * b,
    "div": lambda T, a, b: a / b,
    "pow": lambda T, a, b: a ** b,
    "maximum": lambda T, a, b: T.maximum(a, b),
    "minimum": lambda T, a, b: T.minimum(a, b),
    "where": lambda T, a, b: T.where(a > b, a, b),
}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_binary_broadcast(op, shapes, dtype):
    sa, sb = shapes
    a = pos(*sa, dtype=dtype, seed=1) if op == "pow" else rnd(*sa, dtype=dtype, seed=1)
    b = rnd(*sb, dtype=dtype, seed=2)
    if op == "div":
        b = np.where(np.abs(b) < 0.3, 0.7, b).astype(dtype)
    check(BINARY[op], a, b)


def test_binary_mixed_float_dtypes():
    check(lambda T, a, b: a * b + a / b, rnd(3, 4, dtype=F32), pos(4))
    check(lambda T, a, b: a - b, rnd(dtype=F64), rnd(3, dtype=F32))  # 0-dim f64 vs f32


def test_int_tensor_with_float_tensor_gradients():
    ints = np.array([[1, -2, 3], [4, 5, -6]])
    check(lambda T, i, x: i * x + x / i - i ** x.abs(), ints, rnd(2, 3))
    check(lambda T, i, x: T.where(i > 0, x, i) * 2, ints, rnd(3))
    check(lambda T, i, x: (i.double() @ x).sum(), ints, rnd(3, 2))


def test_binary_size_mismatch_raises():
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match .* \(4\)"):
        nt.ones(2, 3) + nt.ones(2, 4)


SCALAR_OPS = {
    "t+2": lambda T, x: x + 2, "2+t": lambda T, x: 2 + x, "t-1.5": lambda T, x: x - 1.5,
    "t*3": lambda T, x: x * 3, "3*t": lambda T, x: 3 * x, "t*True": lambda T, x: x * True,
    "t/2": lambda T, x: x / 2, "t/0.25": lambda T, x: x / 0.25,
    "t**2": lambda T, x: x ** 2, "t**3": lambda T, x: x ** 3, "t**0.5": lambda T, x: x ** 0.5,
    "t**-1.5": lambda T, x: x ** -1.5, "t**0": lambda T, x: x ** 0, "t**1": lambda T, x: x ** 1,
    "pow(t,2.5)": lambda T, x: T.pow(x, 2.5), "t.pow(-1)": lambda T, x: x.pow(-1),
}
SCALAR_OPS_NONAME = {  # torch records these as other nodes (RsubBackward1, MulBackward0, ...)
    "1.5-t": lambda T, x: 1.5 - x, "2/t": lambda T, x: 2 / x, "2**t": lambda T, x: 2 ** x,
    "0.5**t": lambda T, x: 0.5 ** x,
}


@pytest.mark.parametrize("op", list(SCALAR_OPS) + list(SCALAR_OPS_NONAME))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_scalar_operands(op, dtype):
    fn = SCALAR_OPS.get(op) or SCALAR_OPS_NONAME[op]
    check(fn, pos(3, 4, dtype=dtype), name=op in SCALAR_OPS)
    check(fn, pos(dtype=dtype), name=op in SCALAR_OPS)  # 0-dim


def test_scalar_tensor_pow_name():
    check(lambda T, x: 2 ** x, rnd(3))
    check(lambda T, x: 1.5 - x, rnd(3))


def test_pow_tensor_exponent_with_zero_base():
    base = np.array([0.0, 0.0, 1.5, 2.0])
    exp = np.array([2.0, 0.0, 0.0, -1.0])
    check(lambda T, a, b: a ** b, base, exp)


def test_pow_int_tensor_negative_exponent_raises():
    with pytest.raises(RuntimeError, match="negative integer powers"):
        nt.tensor([1, 2]) ** -1


UNARY = {
    "neg": (lambda T, x: -x, rnd), "neg_fn": (lambda T, x: T.neg(x), rnd),
    "abs": (lambda T, x: x.abs(), rnd), "abs_op": (lambda T, x: abs(x), rnd),
    "exp": (lambda T, x: T.exp(x), rnd), "log": (lambda T, x: x.log(), pos),
    "sqrt": (lambda T, x: x.sqrt(), pos), "rsqrt": (lambda T, x: T.rsqrt(x), pos),
    "sin": (lambda T, x: x.sin(), rnd), "cos": (lambda T, x: T.cos(x), rnd),
    "tanh": (lambda T, x: x.tanh(), rnd), "sigmoid": (lambda T, x: T.sigmoid(x), rnd),
    "sigmoid_m": (lambda T, x: x.sigmoid(), rnd), "relu": (lambda T, x: T.relu(x), rnd),
    "relu_m": (lambda T, x: x.relu(), rnd), "log1p": (lambda T, x: x.log1p(), pos),
    "reciprocal": (lambda T, x: x.reciprocal(), pos), "square": (lambda T, x: x.square(), rnd),
    "clone": (lambda T, x: x.clone(), rnd),
}
UNARY_NONAME = {  # composites in nanotorch: values and grads only
    "log2": (lambda T, x: x.log2(), pos), "log10": (lambda T, x: T.log10(x), pos),
    "expm1": (lambda T, x: x.expm1(), rnd),
}


@pytest.mark.parametrize("op", list(UNARY) + list(UNARY_NONAME))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", [(3, 4), ()], ids=str)
def test_unary(op, dtype, shape):
    fn, gen = UNARY.get(op) or UNARY_NONAME[op]
    check(fn, gen(*shape, dtype=dtype), name=op in UNARY)


def test_sigmoid_tanh_exp_extremes():
    x = np.array([-800.0, -50.0, -1e-8, 0.0, 1e-8, 50.0, 800.0])
    for fn in (lambda T, x: x.sigmoid(), lambda T, x: x.tanh(), lambda T, x: x.relu()):
        check(fn, x)
    check(lambda T, x: x.sigmoid(), x.astype(F32))


@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "rsqrt"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_], ids=str)
def test_unary_float_ops_on_int_tensors(op, dtype):
    x = np.array([[1, 2], [3, 0]]).astype(dtype)
    check(lambda T, a: getattr(T, op)(a), x)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8], ids=str)
def test_int_unary_keeps_dtype(dtype):
    x = np.array([[1, 2], [3, 0]]).astype(dtype)
    check(lambda T, a: a.relu(), x)
    if dtype != np.uint8:
        check(lambda T, a: -a, x)
        check(lambda T, a: a.abs(), -x)


# clamp ---------------------------------------------------------------------------------
CLAMP = {
    "min": lambda T, x: x.clamp(min=-0.3), "max": lambda T, x: T.clamp(x, max=0.4),
    "both": lambda T, x: x.clamp(-0.3, 0.4), "pos_min": lambda T, x: x.clamp(0.1),
    "clip": lambda T, x: x.clip(-0.2, 0.2), "min_gt_max": lambda T, x: x.clamp(0.5, -0.5),
    "clamp_min": lambda T, x: x.clamp_min(0.0), "clamp_max": lambda T, x: x.clamp_max(0.0),
}


@pytest.mark.parametrize("op", list(CLAMP))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_clamp_scalar(op, dtype):
    check(CLAMP[op], rnd(4, 5, dtype=dtype))


@pytest.mark.parametrize("which", ["min", "max", "both", "crossed"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_clamp_tensor_bounds(which, dtype):
    x = rnd(3, 4, dtype=dtype, seed=1)
    lo, hi = rnd(4, dtype=dtype, seed=2) - 0.5, rnd(3, 1, dtype=dtype, seed=3) + 0.5
    fns = {"min": lambda T, x, lo, hi: T.clamp(x, min=lo),
           "max": lambda T, x, lo, hi: x.clamp(max=hi),
           "both": lambda T, x, lo, hi: x.clamp(lo, hi),
           "crossed": lambda T, x, lo, hi: x.clamp(hi, lo)}
    check(fns[which], x, lo, hi)


def test_clamp_int_tensor_with_float_bound():
    x = np.array([-3, 0, 5])
    check(lambda T, x: x.clamp(0.5, 2), x)
    check(lambda T, x: x.clamp(-1, 2), x)


def test_clamp_without_bounds_raises():
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        nt.ones(2).clamp()


# maximum / minimum / where -------------------------------------------------------------------
def test_maximum_minimum_ties_split_gradient():
    a = np.array([1.0, 2.0, 3.0, 2.0])
    b = np.array([1.0, 3.0, 1.0, 2.0])
    check(lambda T, a, b: T.maximum(a, b), a, b)
    check(lambda T, a, b: T.minimum(a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_where_forms(dtype):
    x, y = rnd(3, 4, dtype=dtype), rnd(4, dtype=dtype, seed=3)
    cond = Const(rnd(3, 1, seed=5) > 0)
    check(lambda T, c, x, y: T.where(c, x, y), cond, x, y)
    check(lambda T, c, x, y: T.where(c, x, 0.0), cond, x, y)
    check(lambda T, c, x, y: T.where(c, 1.5, y), cond, x, y)
    check(lambda T, c, x, y: x.where(c, y), cond, x, y)


def test_where_int_and_float_mix():
    cond = Const(np.array([True, False, True]))
    check(lambda T, c, x: T.where(c, x, 2), cond, np.array([1, 2, 3]))
    check(lambda T, c, x: T.where(c, x, 2.5), cond, np.array([1, 2, 3]))
    check(lambda T, c, x, y: T.where(c, x, y), cond, np.array([1, 2, 3]), rnd(3))


# comparisons --------------------------------------------------------------------------------
CMP = ["eq", "ne", "lt", "le", "gt", "ge"]
CMP_OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
           "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


@pytest.mark.parametrize("op", CMP)
def test_comparisons(op):
    a = np.round(rnd(3, 1, 4, seed=1))
    b = np.round(rnd(2, 4, seed=2))
    check(lambda T, a, b: CMP_OPS[op](a, b), a, b)
    check(lambda T, a, b: getattr(T, op)(a, b), a.astype(F32), b.astype(np.int64))
    check(lambda T, a, b: getattr(a, op)(0.0), a, b)
    check(lambda T, a, b: CMP_OPS[op](a, 1), a.astype(np.int32), b)
    check(lambda T, a, b: CMP_OPS[op](a, 0.5), a.astype(np.int64), b)
    check(lambda T, a, b: CMP_OPS[op](a > 0, b > 0), a, b)


# matmul -------------------------------------------------------------------------------------
MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
                 ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((2, 1, 2, 3), (5, 3, 4)),
                 ((1, 2, 3), (4, 3, 2))]


MATMUL_CLONE_NAMED = [((2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2))]  # torch: CloneBackward0


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_matmul(shapes, dtype):
    a, b = rnd(*shapes[0], dtype=dtype, seed=1), rnd(*shapes[1], dtype=dtype, seed=2)
    check(lambda T, a, b: a @ b, a, b, name=shapes not in MATMUL_CLONE_NAMED)
    check(lambda T, a, b: T.matmul(a, b), a, b, grad=False)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_mm_bmm(dtype):
    check(lambda T, a, b: T.mm(a, b), rnd(2, 3, dtype=dtype), rnd(3, 4, dtype=dtype))
    check(lambda T, a, b: a.mm(b.t()), rnd(2, 3, dtype=dtype), rnd(4, 3, dtype=dtype))
    check(lambda T, a, b: T.bmm(a, b), rnd(5, 2, 3, dtype=dtype), rnd(5, 3, 4, dtype=dtype))
    check(lambda T, a, b: a.bmm(b.transpose(1, 2)), rnd(5, 2, 3, dtype=dtype),
          rnd(5, 4, 3, dtype=dtype))


def test_matmul_errors():
    with pytest.raises(RuntimeError, match=r"2x3 and 4x5"):
        nt.ones(2, 3) @ nt.ones(4, 5)
    with pytest.raises(RuntimeError, match="1D"):
        nt.ones(()) @ nt.ones(3)
    with pytest.raises(RuntimeError, match="mm"):
        nt.mm(nt.ones(2, 3, 4), nt.ones(4, 3))
    with pytest.raises(RuntimeError, match="bmm"):
        nt.bmm(nt.ones(2, 3), nt.ones(3, 3))


def test_matmul_int():
    check(lambda T, a, b: a @ b, np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4))


# reductions ---------------------------------------------------------------------------------
DIMS = [None, 0, -1, 1, (0, 2), (-1, 0), (2,), ()]
REDUCE = {
    "sum": lambda T, x, d, k: x.sum() if d is None else x.sum(d, keepdim=k),
    "mean": lambda T, x, d, k: T.mean(x) if d is None else T.mean(x, dim=d, keepdim=k),
    "var": lambda T, x, d, k: x.var() if d is None else x.var(d, keepdim=k),
    "var_biased": lambda T, x, d, k: x.var(dim=d, unbiased=False, keepdim=k),
    "var_corr": lambda T, x, d, k: T.var(x, dim=d, correction=0, keepdim=k),
    "std": lambda T, x, d, k: x.std(dim=d, keepdim=k),
    "std_biased": lambda T, x, d, k: T.std(x, d, unbiased=False, keepdim=k),
    "amax": lambda T, x, d, k: x.amax() if d is None else x.amax(d, keepdim=k),
    "amin": lambda T, x, d, k: T.amin(x) if d is None else T.amin(x, d, keepdim=k),
    "logsumexp": lambda T, x, d, k: T.logsumexp(x, dim=d, keepdim=k),
}


@pytest.mark.parametrize("op", list(REDUCE))
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True], ids=["", "keepdim"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_reductions(op, dim, keepdim, dtype):
    if op == "logsumexp" and dim in (None, ()):
        pytest.skip("logsumexp needs dims")
    if dim is None and keepdim and op in ("amax", "amin"):
        pytest.skip("the lambda takes dim=None as no argument")
    # torch's var/std backward for dim=() is wrong (it divides by 1 - correction, as if
    # nothing were reduced): values only here, test_gradcheck covers the gradient
    grad = not (dim == () and op.startswith(("var", "std")))
    check(REDUCE[op], rnd(3, 4, 5, dtype=dtype), dim, keepdim, grad=grad)


@pytest.mark.parametrize("op", ["sum", "mean", "var_biased", "std", "amax", "logsumexp"])
def test_reductions_0d(op):
    check(REDUCE[op], rnd(), 0, False)
    check(REDUCE[op], rnd(), -1, True)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_], ids=str)
def test_sum_int_bool_is_int64(dtype):
    x = np.array([[1, 0, 1], [1, 1, 0]]).astype(dtype)
    check(lambda T, x: x.sum(), x)
    check(lambda T, x: T.sum(x, 1, keepdim=True), x)
    check(lambda T, x: x.sum(dim=0, dtype=T.float64), x)


def test_mean_of_int_raises():
    with pytest.raises(RuntimeError, match="mean"):
        nt.tensor([1, 2]).mean()


def test_reduction_dim_errors():
    x = nt.ones(2, 3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(2)
    with pytest.raises(RuntimeError, match="multiple times"):
        x.sum((0, -2))


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1], ids=str)
@pytest.mark.parametrize("keepdim", [False, True], ids=["", "keepdim"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_max_min_with_dim(op, dim, keepdim, dtype):
    x = rnd(3, 4, 5, dtype=dtype)
    out = check(lambda T, x: getattr(x, op)(dim, keepdim=keepdim), x)
    assert type(out).__name__ == op
    assert out.values is out[0] and out.indices is out[1]
    check(lambda T, x: getattr(T, op)(x, dim=dim, keepdim=keepdim).values, x)
    check(lambda T, x: getattr(x, "arg" + op)(dim, keepdim=keepdim), x)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_max_min_all_and_ties(op):
    x = np.array([[1.0, 3.0, 3.0], [0.0, 3.0, -1.0]])
    check(lambda T, x: getattr(x, op)(), x)
    check(lambda T, x: getattr(T, op)(-x), x)
    if op in ("amax", "amin"):
        check(lambda T, x: getattr(x, op)(1), x)
        check(lambda T, x: getattr(x, op)((0, 1), keepdim=True), x)


def test_max_dim_ties_grad_to_first_index():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
    check(lambda T, x: x.max(1).values, x)
    check(lambda T, x: x.min(0), -x)


def test_max_with_other_tensor_is_maximum():
    check(lambda T, a, b: T.max(a, b), rnd(3, 4, seed=1), rnd(4, seed=2))
    check(lambda T, a, b: a.min(b), rnd(3, 4, seed=1), rnd(4, seed=2))


def test_argmax_argmin_all():
    x = rnd(3, 4, 5)
    check(lambda T, x: x.argmax(), x)
    check(lambda T, x: T.argmin(x), x)
    check(lambda T, x: x.argmax(keepdim=True), x)
    check(lambda T, x: x.argmax(1), np.array([[1, 5, 5], [7, 2, 7]]))


def test_max_int_tensor():
    x = np.array([[1, 5, 3], [7, 2, 7]])
    check(lambda T, x: x.max(), x)
    check(lambda T, x: x.max(1), x)
    check(lambda T, x: x.amin(0), x)


def test_reductions_of_empty_raise():
    with pytest.raises(RuntimeError, match="numel"):
        nt.ones(0).max()


# softmax ------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1, 2], ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_softmax(op, dim, dtype):
    check(lambda T, x: getattr(T, op)(x, dim), rnd(3, 4, 5, dtype=dtype))
    check(lambda T, x: getattr(x, op)(dim=dim), rnd(3, 4, 5, dtype=dtype) * 50)


def test_softmax_extremes_and_dtype_arg():
    x = np.array([[-1e4, 0.0, 1e4], [-np.inf, 0.0, 1.0], [3.0, 3.0, 3.0]])
    check(lambda T, x: x.softmax(-1), x)
    check(lambda T, x: x.log_softmax(-1), x[1:])
    check(lambda T, x: T.softmax(x, 1, dtype=T.float64), rnd(2, 3, dtype=F32))
    check(lambda T, x: T.log_softmax(x, 0), rnd())


# shape ops ----------------------------------------------------------------------------------
SHAPE_OPS = {
    "reshape": lambda T, x: x.reshape(4, 6), "reshape_-1": lambda T, x: x.reshape(-1, 3),
    "reshape_tuple": lambda T, x: T.reshape(x, (2, -1)), "view": lambda T, x: x.view(2, 12),
    "view_size": lambda T, x: x.view(x.shape[1:] + x.shape[:1]),
    "reshape_noncontig": lambda T, x: x.transpose(0, 2).reshape(-1),
    "flatten": lambda T, x: x.flatten(), "flatten_1": lambda T, x: T.flatten(x, 1),
    "flatten_0_1": lambda T, x: x.flatten(0, 1), "flatten_neg": lambda T, x: x.flatten(-2, -1),
    "squeeze": lambda T, x: x.reshape(2, 1, 3, 1, 4).squeeze(),
    "squeeze_dim": lambda T, x: x.reshape(2, 1, 3, 1, 4).squeeze(1),
    "squeeze_neg": lambda T, x: x.reshape(2, 1, 3, 4, 1).squeeze(-1),
    "squeeze_noop": lambda T, x: x.squeeze(0),
    "squeeze_tuple": lambda T, x: x.reshape(2, 1, 3, 1, 4).squeeze((1, 3)),
    "unsqueeze": lambda T, x: x.unsqueeze(0), "unsqueeze_neg": lambda T, x: x.unsqueeze(-1),
    "unsqueeze_mid": lambda T, x: T.unsqueeze(x, -3),
    "permute": lambda T, x: x.permute(2, 0, 1), "permute_tuple": lambda T, x: x.permute((1, 2, 0)),
    "permute_neg": lambda T, x: T.permute(x, (-1, 0, 1)),
    "transpose": lambda T, x: x.transpose(0, 2),
    "transpose_neg": lambda T, x: T.transpose(x, -1, -2),
    "T": lambda T, x: x[0].T, "t": lambda T, x: x[0].t(), "mT": lambda T, x: x.mT,
    "expand": lambda T, x: x[:, :1].expand(2, 5, 4),
    "expand_-1": lambda T, x: x[:, :1].expand(-1, 3, -1),
    "expand_new": lambda T, x: x[0].expand(3, 3, 4), "expand_as": lambda T, x: x[:1].expand_as(x),
    "broadcast_to": lambda T, x: T.broadcast_to(x[:1, :1], (2, 3, 4)),
    "repeat": lambda T, x: x.repeat(2, 1, 3), "repeat_new": lambda T, x: x[0].repeat(2, 1, 2),
    "contiguous": lambda T, x: x.transpose(0, 1).contiguous(),
    "contiguous_noop": lambda T, x: (x * 1).contiguous(),
    "flip": lambda T, x: x.flip(0), "flip_dims": lambda T, x: x.flip((0, 2)),
    "narrow": lambda T, x: x.narrow(1, 1, 2), "select": lambda T, x: x.select(-1, 2),
    "view_as": lambda T, x: x.reshape(24).view_as(x),
}
@pytest.mark.parametrize("op", list(SHAPE_OPS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_shape_ops(op, dtype):
    out = check(SHAPE_OPS[op], rnd(2, 3, 4, dtype=dtype))
    assert out.is_contiguous() == SHAPE_OPS[op](torch, torch.zeros(2, 3, 4)).is_contiguous()


def test_shape_ops_int():
    x = np.arange(24).reshape(2, 3, 4)
    for op in ("reshape", "permute", "expand", "repeat", "flatten_1", "squeeze"):
        check(SHAPE_OPS[op], x)


def test_views_share_memory():
    x = nt.zeros(2, 3)
    v = x.view(6)
    v[1] = 5.0
    assert x[0, 1].item() == 5.0
    assert x.t()._array.base is not None


def test_shape_errors():
    x = nt.ones(2, 3)
    with pytest.raises(RuntimeError, match="invalid for input of size 6"):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError, match="view"):
        x.t().view(6)
    with pytest.raises(RuntimeError, match="expanded size"):
        x.expand(3, 3)
    with pytest.raises(RuntimeError, match="only one dimension"):
        x.reshape(-1, -1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.unsqueeze(3)


@pytest.mark.parametrize("dim", [0, 1, -1, 2], ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_cat_stack(dim, dtype):
    a, b, c = (rnd(2, 3, 4, dtype=dtype, seed=k) for k in (1, 2, 3))
    check(lambda T, a, b, c: T.cat([a, b, c], dim), a, b, c)
    check(lambda T, a, b, c: T.stack((a, b, c), dim=dim), a, b, c)
    check(lambda T, a, b, c: T.cat([a, b.detach()], dim), a, b, c)


def test_cat_uneven_mixed_dtypes_and_empty():
    check(lambda T, a, b: T.cat([a, b], 1), rnd(2, 3, seed=1), rnd(2, 5, seed=2))
    check(lambda T, a, b: T.cat([a, b]), rnd(2, 3, seed=1), np.arange(3).reshape(1, 3))
    check(lambda T, a, b: T.cat([a, b]), rnd(2, 3, dtype=F32), rnd(1, 3))
    check(lambda T, a, b: T.cat([a, b]), rnd(2, 3), np.zeros(0))
    check(lambda T, a, b: T.stack([a, b], -1), np.arange(3), np.arange(3) * 2)


def test_cat_stack_errors():
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        nt.cat([nt.ones(2, 3), nt.ones(2, 4)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        nt.stack([nt.ones(2, 3), nt.ones(3, 2)])
    with pytest.raises(RuntimeError, match="non-empty"):
        nt.cat([])


SPLIT = {
    "split_int": lambda T, x: x.split(2), "split_int_dim": lambda T, x: T.split(x, 3, dim=1),
    "split_sizes": lambda T, x: x.split([1, 3, 1], 0), "split_neg": lambda T, x: x.split(2, -1),
    "chunk": lambda T, x: x.chunk(2), "chunk_uneven": lambda T, x: T.chunk(x, 3, 1),
    "chunk_more": lambda T, x: x.chunk(10, -1), "unbind": lambda T, x: x.unbind(1),
}


@pytest.mark.parametrize("op", list(SPLIT))
def test_split_chunk(op):
    out = check(SPLIT[op], rnd(5, 4, 3), name=False)
    assert isinstance(out, tuple)


# indexing -----------------------------------------------------------------------------------
def _idx(T, *v):
    return T.tensor(list(v))


GETITEM = {
    "int": lambda T, x: x[1], "neg_int": lambda T, x: x[-1], "int_int": lambda T, x: x[1, -2],
    "slice": lambda T, x: x[1:3],
    "slice_step": lambda T, x: x[::2],
    "slice_neg": lambda T, x: x[-3:-1],
    "slice2": lambda T, x: x[:, 1:3],
    "int_slice": lambda T, x: x[1, 1:3],
    "slice_int": lambda T, x: x[1:3, 1],
    "none": lambda T, x: x[None],
    "none_mid": lambda T, x: x[:, None],
    "none_int": lambda T, x: x[None, 1],
    "int_none": lambda T, x: x[1, None],
    "ellipsis": lambda T, x: x[..., 1],
    "ellipsis_none": lambda T, x: x[..., None, 1:],
    "ellipsis_mid": lambda T, x: x[1, ..., -1], "full": lambda T, x: x[:],
    "idx_tensor": lambda T, x: x[_idx(T, 0, 2)], "idx_repeat": lambda T, x: x[_idx(T, 3, 0, 3, 3)],
    "idx_list": lambda T, x: x[[1, 1, 0]], "idx_neg": lambda T, x: x[_idx(T, -1, 0, -1)],
    "slice_idx": lambda T, x: x[1:3, _idx(T, 0, 0, 2)],
    "idx_idx": lambda T, x: x[_idx(T, 0, 1, 1), _idx(T, 2, 2, 0)],
    "idx_slice_idx": lambda T, x: x[_idx(T, 0, 1), :, _idx(T, 1, 1)],
    "idx_2d": lambda T, x: x[T.tensor([[0, 1], [1, 1]])],
    "mask": lambda T, x: x[x > 0], "mask_rows": lambda T, x: x[_idx(T, True, False, True, True)],
    "int_mask": lambda T, x: x[1, _idx(T, True, False, True, True, False)],
    "mask_2d": lambda T, x: x[x.sum(-1) > 0],
    "idx_int": lambda T, x: x[_idx(T, 2, 2), 1], "ellipsis_idx": lambda T, x: x[..., _idx(T, 1, 1)],
    "idx_0d": lambda T, x: x[T.tensor(2)],
    "idx_int32": lambda T, x: x[T.tensor([1, 1], dtype=T.int32)],
}
# x[:] is SliceBackward0 in torch but x[:, :] AliasBackward0 (nanotorch: Alias for both)
GETITEM_NONAME = {"full"}


@pytest.mark.parametrize("key", list(GETITEM))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_getitem(key, dtype):
    check(GETITEM[key], rnd(4, 5, 3, dtype=dtype), name=key not in GETITEM_NONAME)


def test_getitem_int_tensor():
    x = np.arange(60).reshape(4, 5, 3)
    for key in ("int", "slice_idx", "mask", "none_int", "idx_repeat"):
        check(GETITEM[key], x)


def test_getitem_errors():
    x = nt.ones(2, 3)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x[0, 5]
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x[nt.tensor([0, 2])]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError):
        x[nt.tensor([0.5])]


def _setitem_case(key_fn, value_fn):
    def fn(T, x, v):
        y = x * 1.0  # a non-leaf copy we may write into
        y[key_fn(T)] = value_fn(T, v)
        return y
    return fn


SETITEM = {
    "slice_tensor": (lambda T: slice(1, 3), lambda T, v: v, (2, 5, 3)),
    "int_tensor": (lambda T: 0, lambda T, v: v, (5, 3)),
    "broadcast": (lambda T: (slice(None), 1), lambda T, v: v, (3,)),
    "scalar": (lambda T: (1, slice(0, 2)), lambda T, v: 7.5, (1,)),
    "idx_tensor": (lambda T: T.tensor([0, 3]), lambda T, v: v, (2, 5, 3)),
    "idx_broadcast": (lambda T: T.tensor([3, 1]), lambda T, v: v, (3,)),
    "mask_scalar": (lambda T: T.tensor([True, False, True, False]), lambda T, v: -1.0, (1,)),
    "mask_tensor": (lambda T: T.tensor([True, False, True, False]), lambda T, v: v, (5, 3)),
    "ellipsis": (lambda T: (Ellipsis, 0), lambda T, v: v * 2, (4, 5)),
    "zero_dim_value": (lambda T: (2, 2, 2), lambda T, v: v.sum(), (2,)),
}


@pytest.mark.parametrize("case", list(SETITEM))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_setitem_gradients(case, dtype):
    key_fn, value_fn, vshape = SETITEM[case]
    check(_setitem_case(key_fn, value_fn), rnd(4, 5, 3, dtype=dtype),
          rnd(*vshape, dtype=dtype, seed=4),
          name=False)


def test_setitem_grad_fn_name():
    out = check(_setitem_case(lambda T: slice(1, 3), lambda T, v: v), rnd(4, 3), rnd(3, seed=2))
    assert type(out.grad_fn).__name__ == "CopySlices"


def test_setitem_no_grad_and_dtypes():
    def fn(T, x):
        y = x.clone()
        y[0] = 2.7  # float into int tensor truncates
        y[1, 1:] = T.tensor([-3.9, 9.9])
        y[y > 50] = 0
        return y
    check(fn, np.arange(9).reshape(3, 3) * 20)
    check(fn, (np.arange(9).reshape(3, 3) * 20).astype(np.int32))

    def fn_bool(T, x):
        y = x.clone()
        y[0] = 1
        return y
    check(fn_bool, np.zeros((2, 2), dtype=bool))

    def fn_float(T, x):
        y = x.clone()
        y[:, 0] = T.tensor([1, 2])
        y[1] = True
        return y
    check(fn_float, rnd(2, 3), grad=False)


SETITEM_NAMES = {
    "IndexPutBackward0": [lambda T: T.tensor([0, 2]), lambda T: (slice(None), T.tensor([1])),
                          lambda T: T.tensor([True, False, True, False])],
    "CopySlices": [lambda T: (slice(1, None), T.tensor([0, 2])), lambda T: (1, T.tensor([0])),
                   lambda T: 1, lambda T: (Ellipsis, slice(0, 2))],
}


@pytest.mark.parametrize("name", list(SETITEM_NAMES))
def test_setitem_grad_fn_names(name):
    for key in SETITEM_NAMES[name]:
        out = check(_setitem_case(key, lambda T, v: v), rnd(4, 3), rnd(seed=2))
        assert type(out.grad_fn).__name__ == name


def test_setitem_value_with_grad_into_plain_tensor():
    def fn(T, v):
        y = T.zeros(3, 4, dtype=T.float64)
        y[1] = v
        y[:, 0] = v[:3] * 2
        return y
    check(fn, rnd(4))


def test_setitem_leaf_requires_grad_raises():
    x = nt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 2.0
    with nt.no_grad():
        x[0] = 2.0
    assert x.tolist() == [2.0, 1.0, 1.0]


def test_setitem_bumps_version_and_errors_on_saved():
    x = nt.ones(3, requires_grad=True)
    y = x * 1.0
    z = y * y
    y[0] = 3.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# in-place ops -----------------------------------------------------------------------------
def _twice(op):
    def fn(T, x, y):
        z = x * 1
        op(z, y)
        op(z, y)
        return z
    return fn


INPLACE = {
    "add_": lambda T, x, y: (x * 1).add_(y), "add_alpha": lambda T, x, y: (x * 1).add_(y, alpha=2),
    "iadd_imul": _twice(lambda z, y: z.__iadd__(y).__imul__(y)),
    "mul_": lambda T, x, y: (x * 1).mul_(y), "div_": lambda T, x, y: (x * 1).div_(y.abs() + 1),
    "pow_": lambda T, x, y: (x.abs() + 1).pow_(2), "sub_scalar": lambda T, x, y: (x * 1).sub_(1.5),
    "relu_": lambda T, x, y: (x * 1).relu_(), "sigmoid_": lambda T, x, y: (x * 2).sigmoid_(),
    "tanh_": lambda T, x, y: (x * 2).tanh_(), "exp_": lambda T, x, y: (x * 2).exp_(),
    "clamp_": lambda T, x, y: (x * 1).clamp_(-0.5, 0.5), "neg_": lambda T, x, y: (x * 1).neg_(),
    "masked_fill_": lambda T, x, y: (x * 1).masked_fill_(x > 0, 0.0),
    "fill_": lambda T, x, y: (x * 1).fill_(2.0) * x, "zero_": lambda T, x, y: (x * 1).zero_() + x,
    "fill_tensor": lambda T, x, y: (x * 1).fill_(y.sum()) * x,
    "copy_": lambda T, x, y: (x * 1).copy_(y),
    "setitem_mask_imul": _twice(lambda z, y: z.__setitem__(z > 0, z[z > 0] * 2)),
    "chain": lambda T, x, y: (x * 1).mul_(2).add_(y).exp_(),
}


@pytest.mark.parametrize("op", list(INPLACE))
def test_inplace_ops(op):
    check(INPLACE[op], rnd(4, 3), rnd(3, seed=2))


def test_fill_and_copy_into_plain_tensors():
    check(lambda T, v: T.zeros(2, 3, dtype=T.float64).fill_(v), rnd(seed=3))
    # float32 upstream, float64 src: the grad is summed in float32 here, in float64 by torch
    check(lambda T, v: T.zeros(2, 3, dtype=T.float32).copy_(v), rnd(3, seed=3), tol=(1e-6, 1e-6))
    check(lambda T, v: T.zeros(2, 3, dtype=T.int64).copy_(v), rnd(3, seed=3) * 5, grad=False)
    check(lambda T, v: T.zeros(2, 3, dtype=T.int32).fill_(2.7), rnd(3), grad=False)


def test_inplace_on_view_of_graph_tensor():
    def fn(T, x, v):
        y = x * 1
        y[1:3] += v
        return y
    check(fn, rnd(4, 3), rnd(3, seed=2))


@pytest.mark.parametrize("case", ["row_mul", "transpose_relu", "nested_views", "setitem_view",
                                  "view_then_base_used"])
def test_inplace_on_views_gradients(case):
    def fn(T, x, v):
        y = x * 1
        if case == "row_mul":
            y[0].mul_(v)
        elif case == "transpose_relu":
            y.t()[1:].relu_()
        elif case == "nested_views":
            y.view(12)[2:8].view(2, 3).add_(v * 2)
        elif case == "setitem_view":
            y[1][0:2] = v[:2] * 3
        else:
            z = y[2]
            z.sub_(v)
            return y * z.sum()
        return y * 2
    check(fn, rnd(4, 3), rnd(3, seed=2))


def test_inplace_on_view_of_leaf_raises():
    x = nt.ones(3, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0].add_(1)


@pytest.mark.parametrize("expr", ["x.add_(1)", "x.mul_(1.5)", "x.add_(T.tensor([1.5, 2.5, 3.5]))",
                                  "x.div_(2)", "x.clamp_(0, 2)", "x.__iadd__(True)",
                                  "x.fill_(2.7)"])
def test_inplace_int_dtype_rules(expr):
    res = []
    for T in (torch, nt):
        x = T.tensor([1, 2, 3])
        try:
            eval(expr)
            res.append((str(x.dtype), x.tolist()))
        except RuntimeError:
            res.append("RuntimeError")
    assert res[0] == res[1]


# masked_fill / gather ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_masked_fill(dtype):
    x = rnd(3, 4, dtype=dtype)
    mask = Const(rnd(3, 4, seed=9) > 0)
    check(lambda T, x, m: x.masked_fill(m, -1.5), x, mask)
    keep_one = Const(mask.arr & ~np.eye(3, 4, dtype=bool))  # no all -inf rows
    check(lambda T, x, m: T.masked_fill(x, m, float("-inf")).softmax(-1), x, keep_one)
    check(lambda T, x, m: x.masked_fill(m, 0), x, Const(mask.arr[:1]))
    check(lambda T, x, v, m: x.masked_fill(m, v), x, rnd(dtype=dtype, seed=3), mask)
    check(lambda T, x, v, m: x.masked_fill(m, v.sum()), x, rnd(2, dtype=dtype, seed=3), mask)


def test_masked_fill_int_and_errors():
    check(lambda T, x, m: x.masked_fill(m, 7), np.arange(6).reshape(2, 3),
          Const(np.array([True, False, True])))
    with pytest.raises(RuntimeError, match="boolean masks"):
        nt.ones(3).masked_fill(nt.tensor([1, 0, 1]), 0.0)


@pytest.mark.parametrize("dim", [0, 1, -1], ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_gather(dim, dtype):
    x = rnd(3, 4, dtype=dtype)
    rng = np.random.default_rng(dim + 5)
    size = x.shape[dim]
    index = Const(rng.integers(0, size, (2, 3) if dim == 0 else (3, 6)))
    check(lambda T, x, i: T.gather(x, dim, i), x, index)
    check(lambda T, x, i: x.gather(dim, i), x, index)


def test_gather_errors():
    with pytest.raises(RuntimeError, match="int64"):
        nt.ones(2, 2).gather(0, nt.tensor([[0, 1]], dtype=nt.int32))
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 2"):
        nt.ones(2, 2).gather(1, nt.tensor([[0, 5]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        nt.ones(2, 2).gather(1, nt.tensor([[0, -1]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        nt.ones(2, 2).gather(1, nt.tensor([0]))
    with pytest.raises(RuntimeError, match="Size does not match at dimension 0"):
        nt.ones(2, 2).gather(1, nt.tensor([[0], [1], [1]]))


@pytest.mark.parametrize("dtype", ["float64", "int64", "uint8", "bool"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(dtype, descending):
    x = np.array([[3, 1, 2, 1], [0, 2, 2, 5]]).astype(dtype)
    check(lambda T, x: x.sort(-1, descending=descending), x, name=False)
    check(lambda T, x: T.sort(x, dim=0, descending=descending, stable=True), x, name=False)


def test_bad_operands_raise():
    x = nt.ones(2)
    for bad in ("a", [1, 2], None, object()):
        with pytest.raises(TypeError, match="unsupported operand type"):
            x + bad
        with pytest.raises(TypeError, match="unsupported operand type"):
            x < bad if bad is not None else x < None
    assert (x == None) is False and (x != None) is True  # noqa: E711
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\]"):
        x[0:2] = nt.ones(3)
    y = nt.ones(2, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="shape mismatch"):
        y[nt.tensor([0, 1])] = nt.ones(3)


def test_numpy_array_operand_is_a_tensor():
    check(lambda T, x: x * np.array([2.0, 3.0]), rnd(2), grad=False)
    y = nt.ones(2, dtype=nt.float64, requires_grad=True) * np.array([2.0, 3.0])
    y.sum().backward()  # the array is a constant operand


# dtype promotion ---------------------------------------------------------------------------
TENSOR_DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool"]


def _tensor(T, name, zero_dim):
    vals = [[1, 0, 2], [3, 1, 1]] if name != "bool" else [[True, False, True], [False, True, True]]
    t = T.tensor(vals, dtype=getattr(T, name))
    return t[0, 0] if zero_dim else t


PROMOTE_OPS = {"add": lambda T, a, b: a + b, "mul": lambda T, a, b: a * b,
               "div": lambda T, a, b: a / b, "sub": lambda T, a, b: a - b,
               "lt": lambda T, a, b: a < b, "eq": lambda T, a, b: a == b,
               "maximum": lambda T, a, b: T.maximum(a, b)}
SCALARS = {"int": 2, "float": 2.5, "bool_scalar": True}


def _promotion_cases():
    for da in TENSOR_DTYPES:
        for db in TENSOR_DTYPES + list(SCALARS):
            for zero_dim_b in ([False, True] if db in TENSOR_DTYPES else [False]):
                yield pytest.param(da, db, zero_dim_b,
                                   id=f"{da}-{db}{'-0d' if zero_dim_b else ''}")


@pytest.mark.parametrize("da, db, zero_dim_b", list(_promotion_cases()))
def test_type_promotion(da, db, zero_dim_b):
    """Every op both ways round, dtype and values as torch (or the same error)."""
    def operands(T):
        a = _tensor(T, da, False)
        b = SCALARS[db] if db in SCALARS else _tensor(T, db, zero_dim_b)
        return a, b

    for name, fn in PROMOTE_OPS.items():
        for swap in (False, True):
            if name == "maximum" and db in SCALARS:
                continue

            def case(T):
                a, b = operands(T)
                return fn(T, b, a) if swap else fn(T, a, b)
            try:
                with np.errstate(all="ignore"):
                    case(torch)
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    case(nt)
                continue
            with np.errstate(all="ignore"):
                check(lambda T: case(T), grad=False)


def test_promotion_int_tensor_times_float32_tensor():
    assert (nt.tensor([1, 2]) * nt.tensor([1.0, 2.0])).dtype is nt.float32


def test_promotion_examples_from_issue():
    i64, i32, f32 = nt.tensor([1, 2]), nt.tensor([1, 2], dtype=nt.int32), nt.tensor([1.0, 2.0])
    assert (i64 * 1.5).dtype is nt.float32
    assert (i32 + 3).dtype is nt.int32
    assert (i32 + nt.tensor(3)).dtype is nt.int32       # 0-dim int64 does not win
    assert (i32 + nt.tensor(3.0)).dtype is nt.float32   # ... unless of a higher category
    assert (f32 + nt.tensor(3.0, dtype=nt.float64)).dtype is nt.float32
    assert (i64 < 2).dtype is nt.bool
    assert (i64 / i64).dtype is nt.float32
    assert i64.sum().dtype is nt.int64 and nt.tensor([True, True]).sum().item() == 2
    assert (nt.tensor([True]) + nt.tensor([True])).dtype is nt.bool


def test_bool_sub_and_neg_raise():
    b = nt.tensor([True, False])
    with pytest.raises(RuntimeError, match="Subtraction"):
        b - b
    with pytest.raises(RuntimeError, match="Negation"):
        -b


def test_int_division_and_floor_ops():
    a, b = np.array([7, -7, 5, 0]), np.array([2, 2, -3, 3])
    for fn in (lambda T, a, b: a / b, lambda T, a, b: a // b, lambda T, a, b: a % b,
               lambda T, a, b: T.div(a, b, rounding_mode="trunc"),
               lambda T, a, b: T.div(a, b, rounding_mode="floor"), lambda T, a, b: a / 2,
               lambda T, a, b: a // 2, lambda T, a, b: -a % 3):
        check(fn, a, b)


# grad_fn names ------------------------------------------------------------------------------
NAMES = {
    "AddBackward0": lambda T, x: x + x, "SubBackward0": lambda T, x: x - 1,
    "MulBackward0": lambda T, x: x * 2, "DivBackward0": lambda T, x: x / x,
    "PowBackward0": lambda T, x: x ** 2, "PowBackward1": lambda T, x: x ** x,
    "NegBackward0": lambda T, x: -x, "ExpBackward0": lambda T, x: x.exp(),
    "TanhBackward0": lambda T, x: x.tanh(), "SigmoidBackward0": lambda T, x: x.sigmoid(),
    "ReluBackward0": lambda T, x: x.relu(), "SumBackward0": lambda T, x: x.sum(),
    "SumBackward1": lambda T, x: x.sum(0), "MeanBackward0": lambda T, x: x.mean(),
    "MeanBackward1": lambda T, x: x.mean((0, 1)), "MmBackward0": lambda T, x: x @ x.t(),
    "BmmBackward0": lambda T, x: T.bmm(x[None], x.t()[None]),
    "DotBackward0": lambda T, x: x[0] @ x[1], "MvBackward0": lambda T, x: x @ x[0],
    "ViewBackward0": lambda T, x: x.view(-1), "PermuteBackward0": lambda T, x: x.permute(1, 0),
    "TransposeBackward0": lambda T, x: x.transpose(0, 1), "TBackward0": lambda T, x: x.t(),
    "ExpandBackward0": lambda T, x: x.expand(2, 3, 4),
    "IndexBackward0": lambda T, x: x[T.tensor([0, 0])],
    "SliceBackward0": lambda T, x: x[1:], "SelectBackward0": lambda T, x: x[1],
    "UnsqueezeBackward0": lambda T, x: x[None], "CatBackward0": lambda T, x: T.cat([x, x]),
    "StackBackward0": lambda T, x: T.stack([x, x]), "SoftmaxBackward0": lambda T, x: x.softmax(0),
    "LogSoftmaxBackward0": lambda T, x: x.log_softmax(1), "MaxBackward0": lambda T, x: x.max(0)[0],
    "MaxBackward1": lambda T, x: x.max(), "MinBackward0": lambda T, x: x.min(1).values,
    "MinBackward1": lambda T, x: x.min(), "AmaxBackward0": lambda T, x: x.amax(0),
    "ClampBackward1": lambda T, x: x.clamp(0, 1), "ClampBackward0": lambda T, x: x.clamp(x, x + 1),
    "WhereBackward0": lambda T, x: T.where(x > 0, x, 0.0),
    "MaskedFillBackward0": lambda T, x: x.masked_fill(x > 0, 1.0),
    "GatherBackward0": lambda T, x: x.gather(0, T.tensor([[0, 1, 2, 0]])),
    "RepeatBackward0": lambda T, x: x.repeat(2, 1),
    "CloneBackward0": lambda T, x: x.t().contiguous(),
    "SqueezeBackward1": lambda T, x: x[None].squeeze(0), "VarBackward0": lambda T, x: x.var(0),
    "StdBackward0": lambda T, x: x.std(), "LogsumexpBackward0": lambda T, x: x.logsumexp(1),
    "AbsBackward0": lambda T, x: x.abs(), "LogBackward0": lambda T, x: x.log(),
    "SqrtBackward0": lambda T, x: x.sqrt(), "RsqrtBackward0": lambda T, x: x.rsqrt(),
    "SinBackward0": lambda T, x: x.sin(), "CosBackward0": lambda T, x: x.cos(),
    "MaximumBackward0": lambda T, x: T.maximum(x, x * 2),
    "ToCopyBackward0": lambda T, x: x.double(),
    "UnsafeViewBackward0": lambda T, x: x.t().reshape(-1), "FlipBackward0": lambda T, x: x.flip(0),
    "IndexSelectBackward0": lambda T, x: x.index_select(1, T.tensor([0, 0])),
}


@pytest.mark.parametrize("name", list(NAMES))
def test_grad_fn_names(name):
    x_t = torch.rand(3, 4, dtype=torch.float32, requires_grad=True)
    assert type(NAMES[name](torch, x_t).grad_fn).__name__ == name  # keeps the table honest
    x = nt.rand(3, 4, requires_grad=True)
    assert type(NAMES[name](nt, x).grad_fn).__name__ == name


def test_no_grad_outputs():
    x = nt.ones(3, requires_grad=True)
    assert not (x > 0).requires_grad and (x > 0).grad_fn is None
    assert x.argmax().grad_fn is None
    with nt.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).detach().grad_fn is None


@pytest.mark.parametrize("inplace", [False, True])
def test_relu_nan_inf_and_in_place_parity(inplace):
    vals = [float("nan"), -1.0, -0.0, 0.0, 2.0, float("inf"), -float("inf")]
    results = []
    for lib in (nt, torch):
        x = lib.tensor(vals, requires_grad=True)
        h = x * 1.0
        y = h.relu_() if inplace else lib.relu(h)
        y.backward(lib.tensor([1.0, 2.0, float("inf"), 4.0, 5.0, 6.0, 7.0]))
        results.append((y.detach().numpy().copy(), x.grad.numpy().copy(), type(y.grad_fn).__name__))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][2] == results[1][2]
