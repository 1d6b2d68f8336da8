"""Finite-difference gradient checks (float64) for every differentiable core op, and
second derivatives (``create_graph=True``) for a set of them. No PyTorch needed."""
import numpy as np
import pytest
from helpers import gradcheck, gradgradcheck

import nanotorch as nt


def leaf(*shape, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    arr = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
    return nt.tensor(arr, dtype=nt.float64, requires_grad=True)


def away_from(x, points, gap=0.05):
    """Move entries of ``x`` within ``gap`` of a kink in ``points`` (finite differences
    across a kink are meaningless)."""
    arr = x.detach().numpy()
    for p in points:
        near = np.abs(arr - p) < gap
        arr[near] = p + np.where(arr[near] >= p, gap, -gap)
    return x


def pos(*shape, seed=0):
    return leaf(*shape, seed=seed, low=0.5, high=2.0)


def distinct(*shape, seed=0):
    """Values at least 0.1 apart (no ties for max/min/sort-like ops)."""
    n = int(np.prod(shape)) if shape else 1
    vals = np.random.default_rng(seed).permutation(n) * 0.1 - 0.05 * n
    return nt.tensor(vals.reshape(shape), dtype=nt.float64, requires_grad=True)


MASK = nt.tensor([[True, False, True, False], [False, False, True, True],
                  [True, True, False, False]])
IDX = nt.tensor([2, 0, 2, 2])

CASES = {
    # arithmetic, with broadcasting
    "add": (lambda a, b: a + b, lambda: (leaf(3, 1, 4), leaf(2, 4, seed=1))),
    "add_alpha": (lambda a, b: nt.add(a, b, alpha=-2.0), lambda: (leaf(3, 4), leaf(4, seed=1))),
    "sub": (lambda a, b: a - b, lambda: (leaf(), leaf(3, seed=1))),
    "rsub": (lambda a: 2.0 - a, lambda: (leaf(3),)),
    "mul": (lambda a, b: a * b, lambda: (leaf(3, 1, 4), leaf(2, 4, seed=1))),
    "div": (lambda a, b: a / b, lambda: (leaf(3, 4), pos(3, 1, seed=1))),
    "rdiv": (lambda a: 2.0 / a, lambda: (pos(4),)),
    "pow_tensor": (lambda a, b: a ** b, lambda: (pos(3, 1), leaf(4, seed=1))),
    "pow_scalar": (lambda a: a ** 3, lambda: (leaf(5),)),
    "pow_frac": (lambda a: a ** -1.5, lambda: (pos(5),)),
    "pow_half": (lambda a: a ** 0.5, lambda: (pos(5),)),
    "pow_sq": (lambda a: a ** 2, lambda: (leaf(5),)),
    "rpow": (lambda a: 1.7 ** a, lambda: (leaf(5),)),
    "square": (lambda a: a.square(), lambda: (leaf(5),)),
    # unary
    "neg": (lambda a: -a, lambda: (leaf(4),)),
    "abs": (lambda a: a.abs(), lambda: (away_from(leaf(6), [0.0]),)),
    "exp": (lambda a: a.exp(), lambda: (leaf(2, 3),)),
    "log": (lambda a: a.log(), lambda: (pos(2, 3),)),
    "log1p": (lambda a: a.log1p(), lambda: (pos(4),)),
    "log2": (lambda a: a.log2(), lambda: (pos(4),)),
    "expm1": (lambda a: a.expm1(), lambda: (leaf(4),)),
    "sqrt": (lambda a: a.sqrt(), lambda: (pos(2, 3),)),
    "rsqrt": (lambda a: a.rsqrt(), lambda: (pos(2, 3),)),
    "reciprocal": (lambda a: a.reciprocal(), lambda: (pos(4),)),
    "sin": (lambda a: a.sin(), lambda: (leaf(5),)),
    "cos": (lambda a: a.cos(), lambda: (leaf(5),)),
    "tanh": (lambda a: a.tanh(), lambda: (leaf(5),)),
    "sigmoid": (lambda a: a.sigmoid(), lambda: (leaf(5),)),
    "relu": (lambda a: a.relu(), lambda: (away_from(leaf(6), [0.0]),)),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), lambda: (away_from(leaf(8), [-0.5, 0.5]),)),
    "clamp_min": (lambda a: a.clamp_min(0.2), lambda: (away_from(leaf(8), [0.2]),)),
    "clamp_tensor": (lambda a, lo, hi: a.clamp(lo, hi),
                     lambda: (leaf(3, 4), leaf(4, seed=1) - 0.5, leaf(3, 1, seed=2) + 0.5)),
    "maximum": (lambda a, b: nt.maximum(a, b), lambda: (leaf(3, 4), leaf(4, seed=1))),
    "minimum": (lambda a, b: nt.minimum(a, b), lambda: (leaf(3, 1), leaf(4, seed=1))),
    "where": (lambda a, b: nt.where(MASK, a, b), lambda: (leaf(3, 4), leaf(4, seed=1))),
    "where_scalar": (lambda a: nt.where(MASK, a, 0.5), lambda: (leaf(3, 4),)),
    "masked_fill": (lambda a: a.masked_fill(MASK, 2.0), lambda: (leaf(3, 4),)),
    "masked_fill_tensor": (lambda a, v: a.masked_fill(MASK, v), lambda: (leaf(3, 4), leaf(seed=1))),
    # matmul
    "dot": (lambda a, b: a @ b, lambda: (leaf(3), leaf(3, seed=1))),
    "mv": (lambda a, b: a @ b, lambda: (leaf(2, 3), leaf(3, seed=1))),
    "vm": (lambda a, b: a @ b, lambda: (leaf(3), leaf(3, 4, seed=1))),
    "mm": (lambda a, b: a.mm(b), lambda: (leaf(2, 3), leaf(3, 4, seed=1))),
    "bmm": (lambda a, b: nt.bmm(a, b), lambda: (leaf(2, 2, 3), leaf(2, 3, 2, seed=1))),
    "matmul_bcast": (lambda a, b: a @ b, lambda: (leaf(2, 1, 2, 3), leaf(3, 3, 2, seed=1))),
    "matmul_vec_batch": (lambda a, b: a @ b, lambda: (leaf(3), leaf(2, 3, 2, seed=1))),
    "matmul_batch_vec": (lambda a, b: a @ b, lambda: (leaf(2, 2, 3), leaf(3, seed=1))),
    # reductions
    "sum": (lambda a: a.sum(), lambda: (leaf(2, 3),)),
    "sum_dims": (lambda a: a.sum((0, 2), keepdim=True), lambda: (leaf(2, 3, 2),)),
    "mean": (lambda a: a.mean(-1), lambda: (leaf(2, 3),)),
    "mean_all_keep": (lambda a: a.mean(None, keepdim=True), lambda: (leaf(2, 3),)),
    "var": (lambda a: a.var(1), lambda: (leaf(3, 4),)),
    "var_all_empty_dims": (lambda a: a.var(()), lambda: (leaf(3, 4),)),
    "var_biased": (lambda a: a.var((0, 1), unbiased=False, keepdim=True), lambda: (leaf(3, 4),)),
    "std": (lambda a: a.std(0), lambda: (leaf(3, 4),)),
    "std_all": (lambda a: a.std(), lambda: (leaf(3, 4),)),
    "std_empty_dims": (lambda a: a.std((), keepdim=True), lambda: (leaf(3, 4),)),
    "amax": (lambda a: a.amax(1), lambda: (distinct(3, 4),)),
    "amin_tuple": (lambda a: a.amin((0, 1)), lambda: (distinct(3, 4),)),
    "max_all": (lambda a: a.max(), lambda: (distinct(3, 4),)),
    "max_dim": (lambda a: a.max(1).values, lambda: (distinct(3, 4),)),
    "min_dim_keep": (lambda a: a.min(0, keepdim=True)[0], lambda: (distinct(3, 4),)),
    "logsumexp": (lambda a: a.logsumexp(1), lambda: (leaf(3, 4),)),
    "logsumexp_tuple": (lambda a: nt.logsumexp(a, (0, 1), keepdim=True), lambda: (leaf(3, 4),)),
    "softmax": (lambda a: a.softmax(-1), lambda: (leaf(3, 4),)),
    "softmax_0": (lambda a: nt.softmax(a, 0), lambda: (leaf(3, 4),)),
    "log_softmax": (lambda a: a.log_softmax(1), lambda: (leaf(3, 4),)),
    # shapes
    "reshape": (lambda a: a.reshape(4, 3), lambda: (leaf(2, 6),)),
    "view": (lambda a: a.view(-1), lambda: (leaf(2, 6),)),
    "reshape_copy": (lambda a: a.t().reshape(-1), lambda: (leaf(2, 6),)),
    "flatten": (lambda a: a.flatten(1), lambda: (leaf(2, 3, 2),)),
    "squeeze": (lambda a: a.squeeze(1), lambda: (leaf(2, 1, 3),)),
    "unsqueeze": (lambda a: a.unsqueeze(-1), lambda: (leaf(2, 3),)),
    "permute": (lambda a: a.permute(2, 0, 1) * nt.arange(12.0).reshape(2, 2, 3).double(),
                lambda: (leaf(2, 3, 2),)),
    "transpose": (lambda a: a.transpose(0, 1), lambda: (leaf(2, 3),)),
    "T": (lambda a: a.T, lambda: (leaf(2, 3),)),
    "expand": (lambda a: a.expand(2, 3, 4), lambda: (leaf(3, 1),)),
    "repeat": (lambda a: a.repeat(2, 1, 3), lambda: (leaf(2, 2),)),
    "contiguous": (lambda a: a.t().contiguous(), lambda: (leaf(2, 3),)),
    "flip": (lambda a: a.flip(1), lambda: (leaf(2, 3),)),
    "cat": (lambda a, b: nt.cat([a, b, a], 1), lambda: (leaf(2, 3), leaf(2, 1, seed=1))),
    "stack": (lambda a, b: nt.stack([a, b], -1), lambda: (leaf(2, 3), leaf(2, 3, seed=1))),
    "split": (lambda a: a.split([1, 2], 1), lambda: (leaf(2, 3),)),
    "chunk": (lambda a: a.chunk(2, 0), lambda: (leaf(3, 2),)),
    # indexing
    "getitem_basic": (lambda a: a[1:, None, ..., -1], lambda: (leaf(3, 2, 4),)),
    "getitem_step": (lambda a: a[::2, 1], lambda: (leaf(5, 3),)),
    "getitem_adv_repeat": (lambda a: a[IDX], lambda: (leaf(3, 2),)),
    "getitem_mixed": (lambda a: a[1:, IDX], lambda: (leaf(3, 4),)),
    "getitem_two_idx": (lambda a: a[IDX, nt.tensor([0, 1, 1, 0])], lambda: (leaf(3, 2),)),
    "getitem_mask": (lambda a: a[MASK], lambda: (leaf(3, 4),)),
    "gather": (lambda a: a.gather(1, nt.tensor([[0, 0], [3, 1], [2, 2]])), lambda: (leaf(3, 4),)),
    "index_select": (lambda a: a.index_select(0, IDX), lambda: (leaf(3, 2),)),
}


def _setitem(a, v):
    y = a * 1.0
    y[1:, IDX[:2]] = v
    return y * y


CASES["setitem"] = (_setitem, lambda: (leaf(3, 4), leaf(2, 1, seed=1)))


def _setitem_into_plain(v):
    y = nt.zeros(3, 4, dtype=nt.float64)
    y[MASK] = v.sum()
    y[0] = v[:4]
    return y


CASES["setitem_into_plain"] = (_setitem_into_plain, lambda: (leaf(6),))


# layers A (issue 11): convolutions, unfold/fold, group/instance norm, interpolate, pooling
F = nt.nn.functional
CASES.update({
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2),
               lambda: (leaf(2, 4, 7), leaf(4, 2, 3, seed=1), leaf(4, seed=2))),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                            output_padding=1, dilation=(1, 2)),
                         lambda: (leaf(1, 2, 3, 3), leaf(2, 3, 2, 2, seed=1), leaf(3, seed=2))),
    "conv_transpose2d_groups": (lambda x, w: F.conv_transpose2d(x, w, groups=2, stride=(1, 2)),
                                lambda: (leaf(1, 4, 3, 2), leaf(4, 1, 2, 3, seed=1))),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=3, output_padding=1),
                         lambda: (leaf(2, 2, 3), leaf(2, 2, 2, seed=1))),
    "unfold": (lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
               lambda: (leaf(1, 2, 4, 5),)),
    "fold": (lambda c: F.fold(c, (4, 5), 2, padding=1, stride=2), lambda: (leaf(1, 8, 9),)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b),
                   lambda: (leaf(2, 4, 3), leaf(4, seed=1), leaf(4, seed=2))),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                      lambda: (leaf(2, 2, 2, 3), leaf(2, seed=1), leaf(2, seed=2))),
    "interpolate_nearest": (lambda x: F.interpolate(x, size=(5, 3)), lambda: (leaf(1, 2, 3, 4),)),
    "interpolate_nearest_exact": (lambda x: F.interpolate(x, scale_factor=1.5,
                                                          mode="nearest-exact"),
                                  lambda: (leaf(1, 1, 3, 4),)),
    "interpolate_linear": (lambda x: F.interpolate(x, size=7, mode="linear"),
                           lambda: (leaf(2, 2, 4),)),
    "interpolate_bilinear": (lambda x: F.interpolate(x, scale_factor=(1.5, 0.7),
                                                     mode="bilinear", align_corners=True),
                             lambda: (leaf(1, 2, 4, 5),)),
    "interpolate_bicubic": (lambda x: F.interpolate(x, size=(5, 3), mode="bicubic"),
                            lambda: (leaf(1, 1, 4, 4),)),
    "interpolate_area": (lambda x: F.interpolate(x, size=(2, 3), mode="area"),
                         lambda: (leaf(1, 2, 5, 5),)),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)),
                            lambda: (distinct(1, 2, 5, 4),)),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, 2, padding=1), lambda: (distinct(2, 2, 7),)),
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 3, 2, padding=1, count_include_pad=False),
                   lambda: (leaf(2, 2, 7),)),
})


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    fn, make = CASES[name]
    assert gradcheck(fn, make())


SECOND_ORDER = ["mul", "div", "exp", "log", "tanh", "sigmoid", "sin", "pow_tensor", "pow_scalar",
                "pow_frac", "rpow", "mm", "mv", "bmm", "matmul_bcast", "matmul_vec_batch",
                "softmax", "log_softmax", "logsumexp", "sum_dims", "mean", "var", "std",
                "where", "getitem_adv_repeat", "getitem_basic", "gather", "cat", "expand",
                "repeat", "max_dim", "amax", "sqrt", "rsqrt", "reciprocal", "setitem", "relu",
                "clamp", "maximum", "masked_fill_tensor", "stack"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_gradgradcheck(name):
    fn, make = CASES[name]
    assert gradgradcheck(fn, make())


def _square(derivative):
    """An autograd Function computing ``x * x`` whose backward is ``g * derivative(x)``."""
    class Square(nt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * derivative(x)
    return Square


def test_gradcheck_catches_a_wrong_gradient():
    bad_square = _square(lambda x: x)  # should be 2 * x
    with pytest.raises(AssertionError, match="mismatches"):
        gradcheck(bad_square.apply, (leaf(3),))


def test_second_derivative_values():
    x = nt.tensor([0.3, -1.2, 2.0], dtype=nt.float64, requires_grad=True)
    y = (x ** 3).sum()
    (g,) = nt.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (gg,) = nt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy())


def test_gradgradcheck_catches_a_non_differentiable_backward():
    detached_square = _square(lambda x: 2.0 * x.detach())  # right first derivative only
    assert gradcheck(detached_square.apply, (leaf(3),))
    with pytest.raises(AssertionError, match="mismatches"):
        gradgradcheck(detached_square.apply, (leaf(3),))
