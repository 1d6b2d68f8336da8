"""``nn.Module``: registration of parameters, buffers and submodules, state dicts, hooks."""
from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict, namedtuple

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ...utils.hooks import RemovableHandle
from ..parameter import Buffer, Parameter
from . import _backward_hooks


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of all layers and models (PyTorch's ``nn.Module`` semantics)."""

    _version = 1
    training: bool

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_forward_hooks_always_called"] = set()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    # Calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if not self._forward_pre_hooks and not self._forward_hooks \
                and not _backward_hooks.wants_hooks(self):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        out = None
        called = set()  # forward hooks that ran (an always_call hook runs at most once)
        try:
            for hid, hook in list(self._forward_pre_hooks.items()):
                if hid in self._forward_pre_hooks_with_kwargs:
                    r = hook(self, args, kwargs)
                    if r is not None:
                        args, kwargs = r
                else:
                    r = hook(self, args)
                    if r is not None:
                        args = r if isinstance(r, tuple) else (r,)
            backward_call = None
            if _backward_hooks.wants_hooks(self):
                backward_call, args = _backward_hooks.wrap_inputs(self, args)
            out = self.forward(*args, **kwargs)
            for hid, hook in list(self._forward_hooks.items()):
                called.add(hid)
                r = self._run_forward_hook(hid, hook, args, kwargs, out)
                if r is not None:
                    out = r
            if backward_call is not None:
                out = _backward_hooks.wrap_outputs(backward_call, out)
            return out
        except Exception:
            # forward (or a hook) raised: still run the always_call forward hooks, with the
            # output so far (None if forward raised); their own errors become warnings
            for hid, hook in list(self._forward_hooks.items()):
                if hid in self._forward_hooks_always_called and hid not in called:
                    try:
                        r = self._run_forward_hook(hid, hook, args, kwargs, out)
                        if r is not None:
                            out = r
                    except Exception as e:
                        warnings.warn("module forward hook with ``always_call=True`` raised an "
                                      f"exception that was silenced as another error was raised "
                                      f"in forward: {e}", stacklevel=2)
            raise

    def _run_forward_hook(self, hid, hook, args, kwargs, out):
        if hid in self._forward_hooks_with_kwargs:
            return hook(self, args, kwargs, out)
        return hook(self, args, out)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs,
        output)``) after each forward; a returned value replaces the output. With
        ``always_call`` it also runs when forward raises (the error is re-raised)."""
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if always_call:
            self._forward_hooks_always_called.add(handle.id)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` once the gradients with respect to the
        module's positional inputs are computed (None where an input needs none); a
        returned tuple replaces grad_input."""
        return self._add_backward_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` before the module's gradients are computed; a
        returned tuple replaces grad_output."""
        return self._add_backward_hook("_backward_pre_hooks", hook, prepend)

    def _add_backward_hook(self, kind, hook, prepend):
        hooks = self.__dict__.setdefault(kind, OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # Registration ----------------------------------------------------------------------
    def _check_init(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign before Module.__init__() call")

    def register_parameter(self, name: str, param) -> None:
        self._check_init()
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f'parameter name can\'t contain "." and can\'t be empty: "{name}"')
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (nanotorch.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        self._check_init()
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f'buffer name can\'t contain "." and can\'t be empty: "{name}"')
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module) -> None:
        self._check_init()
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, self._buffers, self._modules)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nanotorch.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, params, self._buffers)
            self._modules[name] = value
        elif "_modules" in d and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (nanotorch.nn.Module or None expected)")
            self._modules[name] = None
        elif isinstance(value, Buffer) or ("_buffers" in d and name in self._buffers):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            persistent = getattr(value, "persistent", name not in self._non_persistent_buffers_set)
            if isinstance(value, Buffer):
                value = Tensor._wrap(value._array, value._version_box)
            self._remove_from(name, d, params, self._modules)
            self.register_buffer(name, value, persistent)
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, d, *dicts):
        for store in dicts:
            if store is not None and name in store:
                del store[name]
        d.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(
            self._modules)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # Traversal -------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for mod_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + k, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if item not in mod._modules or mod._modules[item] is None:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}`")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers:
            raise AttributeError(f"{type(mod).__name__} has no buffer `{name}`")
        return mod._buffers[name]

    # Modes and bulk changes ------------------------------------------------------------------
    def train(self, mode: bool = True):
        """Set training mode here and (through their own ``train``) in every child. A module
        marked by ``utils.freeze`` (``_frozen_eval``) stays in eval mode; its children still
        get ``mode`` and decide for themselves (``utils.unfreeze`` clears the mark)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode and not self.__dict__.get("_frozen_eval", False)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad = p.grad.detach()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply(self, fn):
        """Replace every parameter and buffer by ``fn(tensor)`` (keeping Parameter identity)."""
        for m in self.children():
            m._apply(fn)
        for p in self._parameters.values():
            if p is None:
                continue
            with no_grad():
                new = fn(p)
            if new is not p:
                p._array = new._array
                p._version_box[0] += 1
            if p.grad is not None:
                with no_grad():
                    g = fn(p.grad)
                if g is not p.grad:
                    p._grad = g
        for name, b in self._buffers.items():
            if b is not None:
                self._buffers[name] = fn(b)
        return self

    def to(self, *args, **kwargs):
        """``to(dtype)`` / ``to(device)``: floating-point parameters and buffers are cast."""
        from ... import _dtype
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, _dtype.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            elif a is not None:
                from ...tensor import _require_cpu
                _require_cpu(a)
        if "device" in kwargs and kwargs["device"] is not None:
            from ...tensor import _require_cpu
            _require_cpu(kwargs["device"])
        if dtype is None:
            return self
        if not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired "
                            f"dtype={dtype}")
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self):
        from ... import _dtype
        return self.to(_dtype.float32)

    def double(self):
        from ... import _dtype
        return self.to(_dtype.float64)

    def half(self):
        from ... import _dtype
        return self.to(_dtype.float16)

    def cpu(self):
        return self

    def cuda(self, device=None):
        from ...tensor import _require_cpu
        _require_cpu("cuda" if device is None else device)

    def type(self, dst_type):
        return self.to(dst_type)

    def share_memory(self):
        return self

    # State dicts -------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name (detached, sharing storage)."""
        if args:
            destination = args[0] if len(args) > 0 else destination
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Copy this module's own entries of ``state_dict`` (no recursion); problems go to
        ``missing_keys`` / ``error_msgs``."""
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param, value in self._matched_entries(state_dict, prefix, missing_keys,
                                                        error_msgs):
            with no_grad():
                if not assign:
                    param.copy_(value)
                elif name in self._parameters:
                    new = Parameter(Tensor._wrap(value._array, value._version_box),
                                    requires_grad=param.requires_grad)
                    self._parameters[name] = new
                else:
                    self._buffers[name] = value

    def _matched_entries(self, state_dict, prefix, missing_keys=None, error_msgs=None):
        """(name, current tensor, checkpoint tensor) for every local parameter and
        persistent buffer whose key is present and compatible."""
        from ...creation import as_tensor
        local = [(k, v) for k, v in self._parameters.items() if v is not None]
        local += [(k, v) for k, v in self._buffers.items()
                  if v is not None and k not in self._non_persistent_buffers_set]
        out = []
        for name, param in local:
            key = prefix + name
            if key not in state_dict:
                if missing_keys is not None:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                try:
                    value = as_tensor(value)
                except (TypeError, ValueError):
                    if error_msgs is not None:
                        error_msgs.append(f'While copying the parameter named "{key}", expected '
                                          f"a Tensor or array, got {type(value).__name__}.")
                    continue
            if value.shape != param.shape:
                if error_msgs is not None:
                    error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                      f"{value.shape} from checkpoint, the shape in current "
                                      f"model is {param.shape}.")
                continue
            if value.is_floating_point() != param.is_floating_point():
                if error_msgs is not None:
                    error_msgs.append(f'While copying the parameter named "{key}", whose '
                                      f"dtype is {param.dtype}, the checkpoint has dtype "
                                      f"{value.dtype}.")
                continue
            out.append((name, param, value))
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy ``state_dict`` into this module's parameters and persistent buffers.

        Returns ``(missing_keys, unexpected_keys)``. Raises RuntimeError listing every
        problem on a shape/dtype mismatch, or with ``strict`` on missing/unexpected keys;
        a load that raises leaves the module unchanged. ``assign=True`` makes the
        module use the checkpoint's tensors instead of copying into its own."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        plan = []

        def visit(module, prefix):
            plan.append((module, prefix))
            for name, child in module._modules.items():
                if child is not None:
                    visit(child, prefix + name + ".")

        visit(self, "")
        custom = any(m._load_state_dict_pre_hooks or type(m)._load_from_state_dict
                     is not Module._load_from_state_dict for m, _ in plan)
        missing, errors = [], []
        if not custom:  # validate everything before the first copy
            for module, prefix in plan:
                module._matched_entries(state_dict, prefix, missing, errors)
        unexpected = [k for k in state_dict if not _key_owned(self, k)]
        self._raise_load_errors(strict, missing, unexpected, errors)

        # Modules with their own loading logic can only be checked by running it:
        # keep a copy of everything to roll back to.
        snapshot = ({id(t): (t, t._array.copy()) for m, _ in plan
                     for t in itertools.chain(m._parameters.values(), m._buffers.values())
                     if t is not None} if custom else None)
        slots = ([(m, dict(m._parameters), dict(m._buffers)) for m, _ in plan]
                 if custom and assign else None)
        missing, errors = [], []
        meta = {"assign_to_params_buffers": assign}
        for module, prefix in plan:
            for hook in module._load_state_dict_pre_hooks.values():
                hook(state_dict, prefix, meta, strict, missing, unexpected, errors)
            module._load_from_state_dict(state_dict, prefix, meta, strict, missing,
                                         unexpected, errors)
        try:
            self._raise_load_errors(strict, missing, unexpected, errors)
        except RuntimeError:
            if snapshot is not None:
                for t, arr in snapshot.values():
                    t._array[...] = arr
            if slots is not None:
                for m, params, bufs in slots:
                    m._parameters.clear()
                    m._parameters.update(params)
                    m._buffers.clear()
                    m._buffers.update(bufs)
            raise
        return _IncompatibleKeys(missing, unexpected)

    def _raise_load_errors(self, strict, missing, unexpected, errors):
        errors = list(errors)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))

    def register_load_state_dict_pre_hook(self, hook):
        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = hook
        return handle

    # Printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        children = []
        for key, module in self._modules.items():
            children.append(f"({key}): " + _addindent(repr(module), 2))
        body = lines + children
        main = self._get_name() + "("
        if body:
            if len(lines) == 1 and not children:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(body) + "\n"
        return main + ")"


def _key_owned(root: Module, key: str) -> bool:
    """Whether ``key`` names a parameter or persistent buffer of ``root``."""
    path, _, name = key.rpartition(".")
    try:
        mod = root.get_submodule(path)
    except AttributeError:
        return False
    if name in mod._parameters and mod._parameters[name] is not None:
        return True
    return (name in mod._buffers and mod._buffers[name] is not None
            and name not in mod._non_persistent_buffers_set)
