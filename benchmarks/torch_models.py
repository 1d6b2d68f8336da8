"""The nanotorch model definitions instantiated with real PyTorch (torchvision is not
installed here): the model source is executed with ``torch.nn`` in place of
``nanotorch.nn``, giving a torch network with the same module tree and state_dict keys.
Used by the benchmarks and the parity tests."""
from __future__ import annotations

import types
from pathlib import Path

_MODELS = Path(__file__).resolve().parent.parent / "nanotorch" / "models"


def _load(filename, namespace_extra, torch):
    source = (_MODELS / filename).read_text()
    source = source.replace("from .. import nn", "from torch import nn")
    source = source.replace("from ..functions import flatten", "from torch import flatten")
    source = source.replace("from ._weights import Weights, load_pretrained", "")
    source = source.replace("from ._conv_norm_act import Conv2dNormActivation", "")
    source = source.replace("from ._registry import register_model", "")
    source = source.replace("from ._weights import WeightInfo, load_pretrained, weights_enum", "")
    module = types.ModuleType(f"torch_ref_{filename[:-3]}")
    module.__dict__.update(namespace_extra)
    module.__dict__["Weights"] = __import__("enum").Enum
    module.__dict__["load_pretrained"] = lambda *a, **k: None
    # weight sets and the registry play no part in the torch network
    module.__dict__["WeightInfo"] = module.__dict__["weights_enum"] = lambda *a, **k: None
    module.__dict__["register_model"] = lambda weights_cls: (lambda fn: fn)
    exec(compile(source, str(_MODELS / filename), "exec"), module.__dict__)
    return module


def build(name: str, torch, **kwargs):
    """``build("resnet18", torch)`` -> a torch.nn.Module with torchvision's layout."""
    cna = _load("_conv_norm_act.py", {}, torch)
    extra = {"Conv2dNormActivation": cna.Conv2dNormActivation}
    for filename in ("resnet.py", "vgg.py", "mobilenetv2.py"):
        module = _load(filename, extra, torch)
        if hasattr(module, name):
            return getattr(module, name)(**kwargs)
    raise ValueError(f"unknown model {name}")


def resnet18(torch, **kwargs):
    return build("resnet18", torch, **kwargs)
