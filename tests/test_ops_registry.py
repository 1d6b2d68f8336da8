"""Every differentiable op is defined once, in ``nanotorch/ops/``; the registration makes
each ``nanotorch.<name>`` a Tensor method (and in-place method) without a wrapper; and
``erf``, the worked example of the README's "Contributing" section, matches PyTorch."""
import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import gradcheck

import nanotorch as nt
import nanotorch.functions as functions
import nanotorch.nn.functional as F
from nanotorch.autograd.function import Op
from nanotorch.ops import registry


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_op_class_lives_in_ops():
    ours = [c for c in _all_subclasses(Op) if c.__module__.startswith("nanotorch")]
    assert len(ours) > 80  # the walk sees the whole package
    outside = sorted(f"{c.__module__}.{c.__name__}" for c in ours
                     if not c.__module__.startswith("nanotorch.ops."))
    assert outside == []


# the extra arguments of each op exposed both as nanotorch.<name> and F.<name>
_SHARED_OPS = {"log_softmax": (1,), "relu": (), "sigmoid": (), "softmax": (1,), "tanh": ()}


def test_ops_exposed_in_torch_and_in_functional_share_one_implementation():
    shared = set(F.__all__) & set(functions.__all__)
    assert shared == set(_SHARED_OPS), "a new op in both places: add it to _SHARED_OPS"
    assert F.sigmoid is nt.sigmoid and F.tanh is nt.tanh
    x = nt.randn(3, 4, requires_grad=True)
    # the others differ in signature (inplace=, the implicit-dim warning) but not in op
    for name, args in _SHARED_OPS.items():
        a, b = getattr(F, name), getattr(nt, name)
        assert type(a(x, *args).grad_fn) is type(b(x, *args).grad_fn), name


def test_registered_functions_are_the_tensor_methods_themselves():
    assert len(registry.ENTRIES) > 100
    for name, entry in registry.ENTRIES.items():
        assert getattr(nt.Tensor, name) is entry.fn, name   # no wrapper on the hot path
        assert getattr(functions, name) is entry.fn, name
        assert name in functions.__all__, name
        for alias in entry.aliases:
            assert getattr(nt.Tensor, alias) is entry.fn, alias
        inplace = getattr(nt.Tensor, name + "_", None)
        assert (inplace is not None) == (entry.inplace is not None), name
    assert set(registry.GENERATED) <= set(registry.ENTRIES)


def test_star_import_gives_the_public_functions():
    namespace = {}
    exec("from nanotorch.functions import *", namespace)
    names = {n for n in namespace if not n.startswith("__")}
    assert names == set(functions.__all__)
    assert len(functions.__all__) == len(set(functions.__all__))
    assert not [n for n in functions.__all__ if n.startswith("_")]
    # nanotorch.<name> is the function itself, or its out= wrapper (nanotorch/_out.py)
    assert all(inspect.unwrap(getattr(nt, n)) is getattr(functions, n) for n in functions.__all__)


def test_register_refuses_a_name_twice_and_a_bad_inplace_kind():
    with pytest.raises(RuntimeError, match="'exp' is registered twice"):
        registry.register(lambda input: input, name="exp")
    with pytest.raises(ValueError, match="inplace must be"):
        registry.register(lambda input: input, name="not_registered", inplace="yes")


# erf: the README's worked example -------------------------------------------------------
def _erf_points():
    return np.array([-3.5, -1.2, -0.3, 0.0, 0.4, 1.1, 2.7], dtype=np.float32)


def test_erf_matches_pytorch_values_and_gradient():
    torch = pytest.importorskip("torch")
    x = _erf_points()
    a = nt.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = nt.erf(a), torch.erf(b)
    assert ya.dtype is nt.float32
    assert type(ya.grad_fn).__name__ == type(yb.grad_fn).__name__ == "ErfBackward0"
    # erf is bounded by 1 and its derivative by 2/sqrt(pi): a few float32 ulps each
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=0, atol=4 * eps)
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=0,
                               atol=8 * eps * 2 / math.sqrt(math.pi))


def test_erf_double_backward_by_finite_differences():
    x = nt.tensor(_erf_points().astype(np.float64), requires_grad=True)
    gradcheck(lambda t: t.erf(), [x])
    gradcheck(lambda t: nt.autograd.grad(t.erf().sum(), t, create_graph=True)[0], [x])


def test_erf_method_inplace_and_integer_promotion():
    x = nt.tensor(_erf_points())
    expected = nt.erf(x)
    assert nt.equal(x.erf(), expected)
    y = x.clone()
    assert y.erf_() is y and nt.equal(y, expected)
    ints = nt.erf(nt.tensor([0, 1, -2]))
    assert ints.dtype is nt.get_default_dtype()
    np.testing.assert_allclose(ints.numpy(), [0.0, math.erf(1), math.erf(-2)], rtol=1e-6)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        nt.ones(2, requires_grad=True).erf_()


def test_readme_contributing_example_is_the_real_code():
    root = Path(__file__).resolve().parents[1]
    section = (root / "README.md").read_text().split("## Contributing", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert example in (root / "nanotorch" / "ops" / "activation.py").read_text()
