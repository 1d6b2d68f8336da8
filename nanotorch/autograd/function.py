"""Differentiable operations.

``Op`` is the internal base: ``forward`` works on NumPy arrays, ``backward`` on Tensors
(so the same formula serves first- and higher-order gradients). ``Function`` is the
public ``nanotorch.autograd.Function`` for user-defined ops, with PyTorch's ctx API."""
from __future__ import annotations

import traceback

from . import anomaly
from .grad_mode import is_grad_enabled, no_grad
from .node import Node, SavedTensor


def _wrap(arr):
    global _wrap
    from ..tensor import Tensor
    _wrap = Tensor._wrap
    return _wrap(arr)


def _edge(t):
    if t is None or not t._requires_grad:
        return (None, 0)
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t._accumulator(), 0)


class Op(Node):
    """An op defined once: ``forward(self, *arrays, **params) -> array`` and
    ``backward(self, grad) -> grad or tuple of grads`` (one per tensor input).

    ``type(grad_fn).__name__`` is PyTorch's node name: the class name + ``Backward0``
    unless a subclass passes ``backward_name=``."""

    def __init_subclass__(cls, backward_name: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        name = backward_name or cls.__name__ + "Backward0"
        cls.__name__ = cls.__qualname__ = name

    _inputs = None
    _save_output = False
    _recording = False

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on ``inputs`` (Tensors or None) and link the result into the graph."""
        record = False
        if is_grad_enabled():
            for t in inputs:
                if t is not None and t._requires_grad:
                    record = True
                    break
        ctx = cls.__new__(cls)
        if not record:
            return _wrap(ctx.forward(*[None if t is None else t._array for t in inputs],
                                     **params))
        Node.__init__(ctx)
        ctx._recording = True
        ctx._inputs = inputs
        out = ctx.forward(*[None if t is None else t._array for t in inputs], **params)
        ctx._inputs = None
        ctx.needs_input_grad = tuple(t is not None and t._requires_grad for t in inputs)
        ctx.next_functions = tuple(_edge(t) for t in inputs)
        ctx._input_meta = tuple(None if t is None else (t._array.shape, t._array.dtype)
                                for t in inputs)
        result = _wrap(out)
        if result._array.dtype.kind == "f":
            result._requires_grad = True
            result.grad_fn = ctx
        if ctx._save_output:
            ctx._saved.append(SavedTensor(result, is_output=True))
        if anomaly.is_enabled():
            ctx.metadata = {"traceback_": traceback.format_stack()[:-1]}
        return result

    # Used inside forward ---------------------------------------------------------
    def save_inputs(self, *indices):
        """Keep the input tensors at these positions for backward."""
        if self._recording:
            self._saved = (self._saved or []) + [
                None if self._inputs[i] is None else SavedTensor(self._inputs[i]) for i in indices]

    def save_output(self):
        """Keep the op's output for backward (after any saved inputs)."""
        if self._recording:
            if self._saved is None:
                self._saved = []
            self._save_output = True

    def _run_backward(self, grads):
        out = self.backward(*grads)
        return out if isinstance(out, tuple) else (out,)

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError


class FunctionCtx(Node):
    """The ``ctx`` of a custom Function; also its node in the graph."""

    _function = None

    def __init__(self):
        super().__init__()
        self._to_save = ()
        self._non_diff = set()
        self._dirty = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = bool(value)

    def _run_backward(self, grads):
        missing = len(self._output_meta) - len(grads)
        if missing > 0:  # outputs after the last one in the graph (non-differentiable ones)
            grads = tuple(grads) + (None,) * missing
        if self.materialize_grads:
            from ..creation import zeros
            grads = tuple(zeros(m[0], dtype=m[1]) if g is None and m is not None else g
                          for g, m in zip(grads, self._output_meta))
        out = self._function.backward(self, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        if len(out) != len(self._arg_is_tensor):
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {len(self._arg_is_tensor)}, got {len(out)})")
        return tuple(g for g, is_t in zip(out, self._arg_is_tensor) if is_t)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (FunctionCtx,), {"_function": cls})


class Function(metaclass=_FunctionMeta):
    """Base class for custom differentiable operations::

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp(); ctx.save_for_backward(y); return y
            @staticmethod
            def backward(ctx, grad):
                y, = ctx.saved_tensors; return grad * y
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a custom Function must implement forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a custom Function must implement backward to be differentiated")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor

        ctx = cls._backward_cls()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx._arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        record = is_grad_enabled() and any(t.requires_grad for t in tensor_args)
        if not record:
            return outputs
        ctx.next_functions = tuple(_edge(t) for t in tensor_args)
        ctx._input_meta = tuple((t._array.shape, t._array.dtype) for t in tensor_args)
        linked = []
        for nr, o in enumerate(outs):
            if not isinstance(o, Tensor):
                linked.append(o)
                continue
            if any(o is t for t in tensor_args) and not any(o is d for d in ctx._dirty):
                o = o.view_as(o)  # an input returned as is becomes a new node output
                o = Tensor._wrap(o._array, o._version_box)
            if id(o) not in ctx._non_diff and o.dtype.is_floating_point:
                o.requires_grad = True
                o.grad_fn = ctx
                o._output_nr = nr
            linked.append(o)
        ctx._output_meta = tuple((o.shape, o.dtype) if isinstance(o, Tensor) else None
                                 for o in linked)
        saved = []
        for t in ctx._to_save:
            if t is None:
                saved.append(None)
            else:
                saved.append(SavedTensor(t, is_output=any(t is o for o in linked)))
        ctx._saved = saved
        ctx._to_save = ()
        return linked[0] if single else tuple(linked)


def once_differentiable(backward):
    """Decorator kept for API compatibility: the wrapped backward runs without grad."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    return wrapper
