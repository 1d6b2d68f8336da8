"""The nanotorch model definitions instantiated with real PyTorch (torchvision is not
installed here): a model file's source is executed with its package-relative imports
bound to torch (``nn`` -> ``torch.nn``, ``functions``/``creation`` -> ``torch``, sibling
model files loaded the same way), giving a torch network with the same module tree and
state_dict keys. Weight sets and the model registry are replaced by inert stand-ins.
Used by the benchmarks and the parity tests."""
from __future__ import annotations

import ast
import types
from pathlib import Path

_MODELS = Path(__file__).resolve().parent.parent / "nanotorch" / "models"
_FAMILIES = ("resnet.py", "vgg.py", "mobilenetv2.py", "mobilenetv3.py", "efficientnet.py",
             "convnext.py", "vision_transformer.py", "regnet.py", "densenet.py",
             "shufflenetv2.py", "squeezenet.py", "swin_transformer.py")


class _InertMeta(type):
    def __call__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], types.FunctionType):
            return args[0]
        return cls

    def __getattr__(cls, name):
        return cls


class _Inert(metaclass=_InertMeta):
    """Stands for a weights enum (a class, for isinstance), a registry decorator or
    load_pretrained: calls and attributes give it back, except that decorating a
    function returns the function."""


def _fusion_shim():
    """Plain-PyTorch equivalents of nanotorch's inference-fusion helpers."""
    import contextlib

    def conv_bn_act(x, conv, bn=None, act=None, residual=None):
        y = conv(x)
        if bn is not None:
            y = bn(y)
        if residual is not None:
            y = y + residual
        return y if act is None else act(y)
    return types.SimpleNamespace(conv_bn_act=conv_bn_act, region=contextlib.nullcontext,
                                 max_pool=lambda x, pool: pool(x))


def _package_name(torch, module, name):
    """The torch object for ``from ..<module> import <name>`` in nanotorch/models."""
    if module is None:
        return {"nn": torch.nn}.get(name, torch)  # creation, functions: torch's namespace
    if module in ("nn", "nn.functional"):
        return getattr(torch.nn, name) if module == "nn" else getattr(torch.nn.functional, name)
    if module.startswith("nn.modules._fusion") or module.startswith("nn._fusion"):
        return getattr(_fusion_shim(), name)
    return getattr(torch, name)  # functions, creation


def _load(filename, torch, cache):
    if filename in cache:
        return cache[filename]
    path = _MODELS / filename
    tree = ast.parse(path.read_text(), str(path))
    namespace = {"__name__": f"torch_ref_{filename[:-3]}", "__builtins__": __builtins__}
    body = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            for alias in node.names:
                namespace[alias.asname or alias.name] = _resolve(node, alias.name, torch, cache)
        else:
            body.append(node)
    tree.body = body
    module = types.ModuleType(namespace["__name__"])
    module.__dict__.update(namespace)
    exec(compile(tree, str(path), "exec"), module.__dict__)
    cache[filename] = module
    return module


def _resolve(node, name, torch, cache):
    if node.level == 2:
        return _package_name(torch, node.module, name)
    if node.module in ("_weights", "_registry"):
        return _Inert
    return getattr(_load(node.module + ".py", torch, cache), name)


def build(name: str, torch, **kwargs):
    """``build("resnet18", torch)`` -> a torch.nn.Module with torchvision's layout."""
    cache: dict = {}
    for filename in _FAMILIES:
        if not (_MODELS / filename).exists():
            continue
        module = _load(filename, torch, cache)
        fn = module.__dict__.get(name)
        if isinstance(fn, types.FunctionType):
            return fn(**kwargs)
    raise ValueError(f"unknown model {name}")


def resnet18(torch, **kwargs):
    return build("resnet18", torch, **kwargs)
