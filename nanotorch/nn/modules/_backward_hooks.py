"""Module full backward hooks (``register_full_backward_hook`` / ``_pre_hook``) with
PyTorch's semantics: identity nodes around the module's positional tensor inputs and its
outputs catch grad_output (pre-hooks may replace it) and grad_input (hooks may replace it).
When no input requires grad the hooks still run, with grad_input all None, once
grad_output is known; when no output requires grad they do not run."""
from __future__ import annotations

import warnings
from collections import OrderedDict

from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...tensor import Tensor


class _Call:
    """One forward call's state, shared by its input and output identity nodes."""

    def __init__(self, module, n_args):
        self.module = module
        self.n_args = n_args
        self.input_index = []   # positions of the args that went through _InputsIdentity
        self.grad_outputs = None

    def run_pre_hooks(self, grads):
        for hook in list(self.module._backward_pre_hooks.values()):
            out = hook(self.module, grads)
            if out is None:
                continue
            out = out if isinstance(out, tuple) else (out,)
            if len(out) != len(grads):
                raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                   f"grad_output, got {len(out)}, but expected {len(grads)}")
            grads = out
        return grads

    def run_hooks(self, grad_inputs):
        for hook in list(self.module._backward_hooks.values()):
            out = hook(self.module, grad_inputs, self.grad_outputs)
            if out is None:
                continue
            out = out if isinstance(out, tuple) else (out,)
            if not self.input_index:
                if any(g is not None for g in out):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
                continue
            if len(out) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(out)}, but expected {len(grad_inputs)}")
            grad_inputs = out
        return grad_inputs


class _Identity(Function):
    """Passes ``tensors`` through; the backward of each subclass runs the hooks."""

    @staticmethod
    def forward(ctx, call, *tensors):
        ctx.call = call
        return tensors


class _InputsIdentity(_Identity):
    @staticmethod
    def backward(ctx, *grads):
        call = ctx.call
        full = [None] * call.n_args
        for i, g in zip(call.input_index, grads):
            full[i] = g
        full = call.run_hooks(tuple(full))
        return (None,) + tuple(full[i] for i in call.input_index)


class _OutputsIdentity(_Identity):
    @staticmethod
    def backward(ctx, *grads):
        call = ctx.call
        grads = call.run_pre_hooks(grads)
        call.grad_outputs = grads
        if not call.input_index and call.module._backward_hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients.", stacklevel=2)
            call.run_hooks((None,) * call.n_args)
        return (None,) + tuple(grads)


def wants_hooks(module):
    d = module.__dict__
    return bool(d.get("_backward_hooks") or d.get("_backward_pre_hooks")) and is_grad_enabled()


def wrap_inputs(module, args):
    """(call state, args with the tensors needing grad routed through an identity node)."""
    for kind in ("_backward_hooks", "_backward_pre_hooks"):
        module.__dict__.setdefault(kind, OrderedDict())
    call = _Call(module, len(args))
    call.input_index = [i for i, a in enumerate(args)
                        if isinstance(a, Tensor) and a.requires_grad]
    if not call.input_index:
        return call, args
    wrapped = _InputsIdentity.apply(call, *[args[i] for i in call.input_index])
    args = list(args)
    for i, t in zip(call.input_index, wrapped):
        args[i] = t
    return call, tuple(args)


def wrap_outputs(call, out):
    """``out`` (a tensor or a tuple/list of them) with its tensors routed through an
    identity node that catches grad_output; unchanged if no output requires grad."""
    single = isinstance(out, Tensor)
    items = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
    if items is None:
        return out
    index = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.requires_grad]
    if not index:
        return out
    wrapped = _OutputsIdentity.apply(call, *[items[i] for i in index])
    for i, t in zip(index, wrapped):
        items[i] = t
    return items[0] if single else type(out)(items)
