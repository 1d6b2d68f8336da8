"""Hook handles: one ``RemovableHandle`` for module, tensor, graph-node and optimizer hooks,
and ``register_forward_hook(always_call=True)`` compared with PyTorch."""
import warnings

import pytest

torch = pytest.importorskip("torch")

import nanotorch as nt  # noqa: E402
from nanotorch.utils.hooks import RemovableHandle  # noqa: E402


class _Raises:
    """A module class (for either library) whose forward raises ValueError."""

    @staticmethod
    def make(nn):
        class Failing(nn.Module):
            def forward(self, x):
                raise ValueError("forward failed")
        return Failing()


def _record_always_call(lib, module, x):
    """Run ``module(x)`` with an always_call hook, an ordinary one and a failing
    always_call one; return (error message, hook log, warning messages)."""
    log = []
    module.register_forward_hook(lambda m, a, out: log.append(("always", out)), always_call=True)
    module.register_forward_hook(lambda m, a, out: log.append(("plain", out)))

    def broken(m, a, out):
        log.append(("broken", out))
        raise KeyError("hook failed")
    module.register_forward_hook(broken, always_call=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as err:
            module(x)
    return str(err.value), log, [str(w.message) for w in caught]


def test_always_call_hook_runs_when_forward_raises_as_in_torch():
    got = _record_always_call(nt, _Raises.make(nt.nn), nt.ones(2))
    expected = _record_always_call(torch, _Raises.make(torch.nn), torch.ones(2))
    assert got[0] == expected[0]
    assert got[1] == expected[1] == [("always", None), ("broken", None)]
    assert len(got[2]) == len(expected[2]) == 1
    assert "hook failed" in got[2][0]


def _always_call_then_failing_hook(lib):
    m = lib.nn.Identity()
    log = []
    m.register_forward_hook(lambda mod, a, out: log.append("always"), always_call=True)

    def failing(mod, a, out):
        raise RuntimeError("late hook failed")
    m.register_forward_hook(failing)
    with pytest.raises(RuntimeError, match="late hook failed"):
        m(lib.ones(1))
    return log


def test_always_call_hook_runs_once_when_a_later_hook_raises():
    assert _always_call_then_failing_hook(nt) == _always_call_then_failing_hook(torch) == [
        "always"]


def test_removed_always_call_hook_is_forgotten():
    m = _Raises.make(nt.nn)
    log = []
    h = m.register_forward_hook(lambda mod, a, out: log.append(out), always_call=True)
    h.remove()
    assert h.id not in m._forward_hooks_always_called
    with pytest.raises(ValueError):
        m(nt.ones(1))
    assert log == []


def test_every_register_hook_returns_the_shared_handle():
    lin = nt.nn.Linear(2, 2)
    x = nt.ones(2, requires_grad=True)
    y = x * 2
    opt = nt.optim.SGD(lin.parameters(), lr=0.1)
    handles = [
        lin.register_forward_hook(lambda *a: None),
        lin.register_forward_pre_hook(lambda *a: None),
        x.register_hook(lambda g: None),
        x.register_post_accumulate_grad_hook(lambda t: None),
        y.register_hook(lambda g: None),
        opt.register_step_pre_hook(lambda *a: None),
        opt.register_step_post_hook(lambda *a: None),
    ]
    assert all(type(h) is RemovableHandle for h in handles)
    assert len({h.id for h in handles}) == len(handles)


def test_tensor_hook_handle_removes_and_works_as_context_manager():
    x = nt.ones(3, requires_grad=True)
    seen = []
    with x.register_hook(lambda g: seen.append(g.clone())):
        (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert len(seen) == 1
    y = x * 1.0
    h = y.register_hook(lambda g: g * 10)
    h.remove()
    h.remove()  # a second remove is a no-op, as in PyTorch
    x.grad = None
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0]


def test_post_accumulate_hook_removal():
    x = nt.ones(2, requires_grad=True)
    calls = []
    h = x.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    x.sum().backward()
    h.remove()
    x.sum().backward()
    assert calls == [[1.0, 1.0]]
