"""``Optimizer``: parameter groups, per-parameter state, zero_grad, state_dict, step hooks."""
from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle


class _RequiredParameter:
    """Marks a hyper-parameter with no default that every group must set."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj):
    return "torch.Tensor" if isinstance(obj, Tensor) else type(obj).__name__


def _hooked_step(step):
    """Wrap a subclass's ``step`` so pre/post hooks run and schedulers see it was called."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if getattr(self, "_in_step", False):  # super().step() from a subclass's step
            return step(self, *args, **kwargs)
        self._opt_called = True
        for hook in list(getattr(self, "_step_pre_hooks", {}).values()):
            res = hook(self, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {res}.")
                args, kwargs = res
        self._in_step = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            self._in_step = False
        for hook in list(getattr(self, "_step_post_hooks", {}).values()):
            hook(self, args, kwargs)
        return out

    wrapper._nt_hooked = True
    return wrapper


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
    groups, each with its own options); ``defaults`` fills the options a group leaves out.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_nt_hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._step_pre_hooks = OrderedDict()
        self._step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # Groups ------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with ``'params'`` and optional options)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{_typename(p)}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # Gradients -----------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (default) or, with ``set_to_none=False``, to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g._array[...] = 0
                    g._bump_version()

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss
        (the closure runs with grad enabled, the update without)."""
        loss = self._run_closure(closure)
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    step = _hooked_step(step)

    def _update_group(self, group):
        """Update the parameters of one group (what each optimizer implements)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def _run_closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_and_state(self, group):
        """``(param, state)`` for every floating parameter of ``group`` that has a gradient;
        a new state is filled by ``self._init_state(param, group, state)`` and every state's
        float32 ``step`` counter is advanced, as torch does before its update."""
        name = type(self).__name__
        for p in _params_with_grad(group):
            _check_dense_float(p, name)
            state = self.state[p]
            if len(state) == 0:
                self._init_state(p, group, state)
            step_t = state["step"]
            step_t._array += 1
            step_t._bump_version()
            yield p, state

    _state_buffers = ()  # names of the zero-filled per-parameter buffers, in torch's order

    def _init_state(self, param, group, state):
        """A float32 ``step`` counter and one zero buffer per name in ``_state_buffers``."""
        state["step"] = _step_tensor()
        for name in self._state_buffers:
            state[name] = _zeros_state(param)

    # Hooks -------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs before each ``step``."""
        handle = RemovableHandle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        handle = RemovableHandle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    # Save / restore ----------------------------------------------------------------
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``.

        Parameters are replaced by their position over all groups; the state tensors are
        the live ones (copy or save them before stepping on)."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` returned; tensors are copied and cast to each
        parameter's dtype ('step' keeps its own dtype)."""
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} vs {len(groups)})")
        for g, s in zip(groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group ({len(s['params'])} vs "
                                 f"{len(g['params'])} parameters)")
        id_map = {}
        for g, s in zip(groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = {key: _cast_state(p, key, val) for key, val in v.items()}
            else:
                state[k] = copy.deepcopy(v)
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.__setstate__({"state": state, "param_groups": new_groups})

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    # Options newer than some saved state dicts: filled in on load when a group lacks them.
    _load_defaults = ()

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_step_post_hooks", OrderedDict())
        for group in self.param_groups:
            for key, value in self._load_defaults:
                group.setdefault(key, value)
        for st in self.state.values():  # old state dicts stored 'step' as a number
            if isinstance(st, dict) and "step" in st and not isinstance(st["step"], Tensor):
                st["step"] = _step_tensor(float(st["step"]))

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _cast_state(param, key, value):
    if isinstance(value, Tensor):
        arr = value._array
        if key != "step" and param.is_floating_point():
            arr = arr.astype(param._array.dtype, copy=False)
        return Tensor._wrap(np.array(arr, copy=True, order="C"))
    return copy.deepcopy(value)


# Shared helpers for the update loops --------------------------------------------------

_KERNEL_DTYPES = (np.float32, np.float64)


def _work_array(arr):
    """``arr`` itself when a fused kernel can update it in place, else a contiguous
    float32/float64 copy (written back with ``_write_back``)."""
    if arr.dtype in _KERNEL_DTYPES and arr.flags.c_contiguous and arr.flags.writeable:
        return arr
    dt = arr.dtype if arr.dtype in _KERNEL_DTYPES else np.float32
    return np.ascontiguousarray(arr, dtype=dt)


def _write_back(dst, tmp):
    if tmp is not dst:
        np.copyto(dst, tmp, casting="unsafe")


def _params_with_grad(group):
    for p in group["params"]:
        if p.grad is not None:
            yield p


def _zeros_state(p, fill=0.0):
    """A state tensor shaped and typed like ``p``, filled with ``fill``."""
    return Tensor._wrap(np.full(p._array.shape, fill, dtype=p._array.dtype))


def _step_tensor(value=0.0):
    return Tensor._wrap(np.array(value, dtype=np.float32))


def _check_dense_float(p, name):
    if p._array.dtype.kind != "f":
        raise RuntimeError(f"{name} can only optimize floating point parameters, got a "
                           f"parameter of dtype {p.dtype} with shape {list(p.shape)}")


__all__ = ["Optimizer", "required"]


# Argument checks with torch's messages --------------------------------------------------

def _check_lr(lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_non_negative(*named_values):
    """``('epsilon', eps), ...`` -> ``ValueError('Invalid epsilon value: -1')`` on the first
    negative one; an entry ``(label, value, upper)`` must also be ``<= upper``."""
    for label, value, *upper in named_values:
        if not (0.0 <= value and (not upper or value <= upper[0])):
            raise ValueError(f"Invalid {label} value: {value}")


def _check_betas(betas):
    for i, beta in enumerate(betas[:2]):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def _reject_differentiable(differentiable):
    if differentiable:
        raise ValueError("differentiable=True is not supported by nanotorch optimizers")


def _check_args(lr, differentiable, *named_values):
    """torch's constructor checks in its order: lr, the named values, differentiable."""
    _check_lr(lr)
    _check_non_negative(*named_values)
    _reject_differentiable(differentiable)


def _check_adam_args(lr, eps, betas, weight_decay, differentiable, *more_non_negative):
    """The Adam family's checks in torch's order: lr, eps, betas, weight_decay, the rest."""
    _check_lr(lr)
    _check_non_negative(("epsilon", eps))
    _check_betas(betas)
    _check_non_negative(("weight_decay", weight_decay), *more_non_negative)
    _reject_differentiable(differentiable)


def _adam_moments_(exp_avg, exp_avg_sq, g, beta1, beta2):
    """Adam's running moments in place: ``exp_avg.lerp_(g, 1 - beta1)``,
    ``exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)``."""
    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    _addcmul_(exp_avg_sq, g, g, 1 - beta2)


# NumPy building blocks of the element-wise updates, in torch's order of operations -------

def _effective_grad(p, group, l2_decay=True):
    """The gradient the update uses: negated with ``maximize``, plus ``weight_decay * p``
    (L2) unless the optimizer decays the weights itself (``l2_decay=False``)."""
    arr = p._array
    g = p.grad._array.astype(arr.dtype, copy=False)
    if group.get("maximize", False):
        g = -g
    wd = float(group["weight_decay"])
    if l2_decay and wd != 0:
        g = g + wd * arr
    return g


def _decay_weights(p, group):
    """Decoupled weight decay: ``p *= 1 - lr * weight_decay``."""
    wd = float(group["weight_decay"])
    if wd != 0:
        p._array *= 1 - float(group["lr"]) * wd


def _decoupled_grad(p, group):
    """The gradient of an optimizer with a ``decoupled_weight_decay`` option: with it the
    weights decay first and the gradient has no L2 term, without it the reverse."""
    decoupled = bool(group["decoupled_weight_decay"])
    if decoupled:
        _decay_weights(p, group)
    return _effective_grad(p, group, l2_decay=not decoupled)


def _lerp_(arr, end, weight):
    """``arr.lerp_(end, weight)`` as torch computes it (the form depends on the weight)."""
    w = arr.dtype.type(weight)
    if abs(weight) < 0.5:
        arr += w * (end - arr)
    else:
        arr[...] = end - (end - arr) * (arr.dtype.type(1) - w)


def _addcmul_(arr, t1, t2, value=1.0):
    """``arr += value * t1 * t2``."""
    arr += value * t1 * t2


def _addcdiv_(arr, t1, t2, value=1.0):
    """``arr += value * t1 / t2``."""
    arr += value * t1 / t2
