"""Autograd semantics: leaves, accumulation, retain_graph, versions, grad mode, hooks,
higher order, custom Functions, deep graphs."""
import gc
import threading
import weakref

import numpy as np
import pytest

import nanotorch as torch
from nanotorch import autograd


def test_leaf_and_requires_grad_rules():
    x = torch.ones(3, requires_grad=True)
    assert x.is_leaf and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.requires_grad
    assert type(y.grad_fn).__name__ == "MulBackward0"
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        torch.ones(3, dtype=torch.int64).requires_grad_()
    z = torch.zeros(2)
    assert z.requires_grad_() is z and z.requires_grad
    d = y.detach()
    assert d.is_leaf and not d.requires_grad


def test_tutorial_example_prints_like_pytorch():
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    z = x * x * y + y * 5 + 2
    assert repr(z) == "tensor(29., grad_fn=<AddBackward0>)"
    z.backward()
    assert x.grad.item() == 12.0 and y.grad.item() == 9.0
    assert repr(x) == "tensor(2., requires_grad=True)"


def test_grad_accumulates_and_zero():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 9.0])
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_grad_not_shared_between_leaves():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1])


def test_nonscalar_backward_needs_gradient():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(gradient=torch.tensor([1.0, 0.5, 0.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.ones(2).sum().backward()


def test_second_backward_needs_retain_graph():
    x = torch.ones(3, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.e * np.ones(3), rtol=1e-6)


def test_saved_tensors_are_released_after_backward():
    x = torch.randn(1000, requires_grad=True)
    y = x.exp()
    ref = weakref.ref(y.grad_fn._saved[0].array)
    loss = y.sum()
    del y
    loss.backward()
    gc.collect()
    assert ref() is None


def test_no_graph_under_no_grad():
    x = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert torch.is_grad_enabled()


def test_grad_mode_decorators_and_set_grad_enabled():
    x = torch.ones(2, requires_grad=True)

    @torch.no_grad()
    def f():
        return x * 2

    @torch.no_grad
    def g():
        return x * 2

    assert not f().requires_grad and not g().requires_grad
    with torch.no_grad():
        with torch.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad

    @torch.enable_grad()
    def h():
        return x * 2

    with torch.no_grad():
        assert h().requires_grad
    torch.set_grad_enabled(False)
    assert not torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled()

    @torch.set_grad_enabled(False)
    def k():
        return torch.is_grad_enabled()

    assert torch.is_grad_enabled() and k() is False and torch.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}

    def worker():
        seen["other"] = torch.is_grad_enabled()

    with torch.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        seen["main"] = torch.is_grad_enabled()
    assert seen == {"other": True, "main": False}


def test_autograd_grad_of_intermediate_and_unused():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    (gh, gx) = autograd.grad(y, (h, x), retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gx.numpy(), [18.0, 36.0])
    assert x.grad is None
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        autograd.grad(y, (x, w), retain_graph=True)
    gx, gw = autograd.grad(y, (x, w), allow_unused=True)
    assert gw is None


def test_higher_order_gradients():
    x = torch.tensor(1.5, requires_grad=True)
    y = x ** 3
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (gg,) = autograd.grad(g, x, create_graph=True)
    (ggg,) = autograd.grad(gg, x)
    assert g.item() == pytest.approx(3 * 1.5 ** 2)
    assert gg.item() == pytest.approx(6 * 1.5)
    assert ggg.item() == pytest.approx(6.0)
    # gradient penalty style: backward through a gradient into .grad
    w = torch.tensor([0.5, -1.0], requires_grad=True)
    out = (w.tanh() * 2).sum()
    (gw,) = autograd.grad(out, w, create_graph=True)
    (gw ** 2).sum().backward()
    t = np.tanh(np.array([0.5, -1.0]))
    expected = 2 * (2 * (1 - t ** 2)) * 2 * (-2 * t * (1 - t ** 2))
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-5)


def test_retain_grad_and_hooks():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    calls = []
    handle = h.register_hook(lambda g: calls.append(g.clone()) or g * 10)
    x.register_hook(lambda g: g + 1)
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [40.0, 80.0])  # retain_grad sees hooked grad
    np.testing.assert_allclose(calls[0].numpy(), [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [81.0, 161.0])
    handle.remove()
    x.grad = None
    (x * 2 * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torch.ones(2).register_hook(lambda g: g)


def test_version_counter_catches_inplace_change_of_saved_tensor():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    z = y.exp()          # saves its output
    z.add_(1)
    with pytest.raises(RuntimeError,
                       match="modified by an inplace operation.*version 1; expected version 0"):
        z.sum().backward()
    a = torch.ones(3, requires_grad=True)
    b = a * 1
    c = b * b            # saves b
    b.mul_(2)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        c.sum().backward()


def test_inplace_on_nonleaf_is_differentiated():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y._version == 1 and type(y.grad_fn).__name__ == "AddBackward0"
    y.mul_(torch.tensor([3.0, -3.0, 7.0]))
    y.relu_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, -6.0, 14.0])


def test_inplace_on_leaf_requiring_grad_raises_but_not_under_no_grad():
    w = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 5.0
    with torch.no_grad():
        w.add_(1)
        w[0] = 5.0
    np.testing.assert_array_equal(w.detach().numpy(), [5.0, 2.0, 2.0])
    assert w._version == 2


def test_setitem_gradients():
    v = torch.tensor([10.0, 20.0], requires_grad=True)
    x = torch.zeros(4, requires_grad=True)
    y = x * 1
    y[1:3] = v * 2
    (y * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [4.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 0.0, 4.0])


def test_float_into_int_tensor_truncates():
    t = torch.zeros(3, dtype=torch.int64)
    t[0] = 2.7
    t[1] = -2.7
    assert t.tolist() == [2, -2, 0]
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.add_(1.5)


def test_deep_chain_is_iterative():
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_each_node_runs_once_in_topological_order():
    calls = []

    class Count(autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g

    x = torch.ones(2, requires_grad=True)
    h = Count.apply(x)
    y = (h * 2 + h * 3 + h).sum()  # h used three times
    y.backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_custom_function():
    class MyExp(autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            y = x.exp() * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y, None

    x = torch.tensor([0.0, 1.0], requires_grad=True)
    y = MyExp.apply(x, 2.0)
    assert type(y.grad_fn).__name__ == "MyExpBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([0.0, 1.0]), rtol=1e-6)


def test_backward_inputs_restricts_accumulation():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    (a * b * 3).sum().backward(inputs=[a])
    assert b.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


def test_detect_anomaly_names_the_op():
    x = torch.tensor([-1.0, 1.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        y = x.sqrt()  # nan for -1: grad becomes nan
        with pytest.raises(RuntimeError, match="SqrtBackward0"):
            y.sum().backward()


def test_dtype_mixes_return_grads_in_input_dtype():
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype is torch.float64 and b.grad.dtype is torch.float32


def test_broadcast_gradient_is_summed():
    a = torch.ones(3, 1, requires_grad=True)
    b = torch.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(4, 3.0))


def test_function_backward_gets_a_zero_grad_for_a_trailing_non_differentiable_output():
    class SortIdx(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            out, idx = torch.sort(v)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return out, idx

        @staticmethod
        def backward(ctx, grad_out, grad_idx):
            assert grad_idx.shape == grad_out.shape and not grad_idx.any()
            (idx,) = ctx.saved_tensors
            grad = torch.zeros_like(grad_out)
            grad[idx] = grad_out
            return grad

    v = torch.tensor([3.0, -1.0, 2.0], requires_grad=True)
    s, i = SortIdx.apply(v)
    assert not i.requires_grad
    (s * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert v.grad.tolist() == [3.0, 1.0, 2.0]
