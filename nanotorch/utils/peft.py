"""Parameter-efficient fine-tuning with LoRA: put adapters on chosen layers of a model,
save and load only the adapters, merge them into the base weights.

    freeze(model, "backbone")                      # base frozen, head trainable
    names = apply_lora(model, r=8, alpha=16, target_modules=["fc1", "fc2"])
    ...train...
    nanotorch.save(lora_state_dict(model, extra=["fc"]), "adapters.safetensors")
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from .. import nn
from ..nn.lora import LoRAConv2d, LoRALayer, LoRALinear
from .finetune import _set_submodule

ADAPTER_KEYS = (".lora_A.", ".lora_B.")


def _matches(name: str, targets) -> bool:
    """peft's rule: a string is a regular expression matched against the whole dotted
    name; a list names modules by their full name or its last components."""
    if isinstance(targets, str):
        return re.fullmatch(targets, name) is not None
    return any(name == t or name.endswith("." + t) for t in targets)


def apply_lora(model: nn.Module, r: int = 8, alpha: float = 8, dropout: float = 0.0,
               target_modules: str | Iterable[str] | None = None,
               exclude: Iterable[str] = ()) -> list[str]:
    """Replace the targeted ``Linear``/``Conv2d`` layers of ``model`` by LoRA layers (base
    weights frozen, adapters trainable); return their names.

    ``target_modules``: a regular expression for the whole dotted name, or a list of names
    (a name matches a module called so or ending in ``.name``); None targets every
    ``Linear`` and non-grouped ``Conv2d``. Modules named in ``exclude`` (and inside them) are
    left alone, e.g. the new classifier head that trains in full. Other parameters keep
    their ``requires_grad``: freeze the model first (``utils.freeze(model, "backbone")``)."""
    targets = None if target_modules is None else (
        target_modules if isinstance(target_modules, str) else list(target_modules))
    skip = tuple(exclude)
    chosen = []
    for name, module in model.named_modules():
        if not name or any(name == e or name.startswith(e + ".") for e in skip):
            continue
        if isinstance(module, LoRALayer) or any(name.startswith(c + ".") for c in chosen):
            continue
        if targets is None:
            if isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d)
                                                 and module.groups == 1):
                chosen.append(name)
        elif _matches(name, targets):
            if not isinstance(module, (nn.Linear, nn.Conv2d)):
                raise ValueError(f"apply_lora: target '{name}' is a {type(module).__name__}; "
                                 "LoRA adapts Linear and Conv2d layers")
            chosen.append(name)
    if not chosen:
        raise ValueError(f"apply_lora: no Linear or Conv2d layer of {type(model).__name__} "
                         f"matches target_modules={target_modules!r}")
    for name in chosen:
        base = model.get_submodule(name)
        wrap = LoRALinear if isinstance(base, nn.Linear) else LoRAConv2d
        _set_submodule(model, name, wrap(base, r=r, alpha=alpha, dropout=dropout))
    return chosen


def lora_layers(model: nn.Module) -> list[tuple[str, LoRALayer]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, LoRALayer)]


def lora_state_dict(model: nn.Module, extra: Iterable[str] = ()) -> dict:
    """The adapter weights only (``...lora_A.weight``, ``...lora_B.weight``), plus the
    entries of the modules named in ``extra`` (e.g. a new head)."""
    if any(m.merged for _, m in lora_layers(model)):
        raise RuntimeError("lora_state_dict: unmerge the adapters first (merged weights "
                           "would be saved as the base's)")
    prefixes = tuple(e + "." for e in extra)
    return {k: v for k, v in model.state_dict().items()
            if any(s in "." + k for s in ADAPTER_KEYS) or k.startswith(prefixes)}


def load_lora_state_dict(model: nn.Module, state_dict: dict) -> None:
    """Load adapters (and any extra entries) saved by ``lora_state_dict`` into a model that
    has the same adapters applied; every adapter must be present."""
    own = model.state_dict()
    unexpected = sorted(k for k in state_dict if k not in own)
    missing = sorted(k for k in own if any(s in "." + k for s in ADAPTER_KEYS)
                     and k not in state_dict)
    if unexpected or missing:
        raise RuntimeError(f"load_lora_state_dict: unexpected keys {unexpected[:5]}, missing "
                           f"adapter keys {missing[:5]} (apply_lora with the same targets "
                           "first)")
    model.load_state_dict(state_dict, strict=False)


def merge_lora(model: nn.Module) -> None:
    """Merge every adapter into its base weight."""
    for _, m in lora_layers(model):
        m.merge()


def unmerge_lora(model: nn.Module) -> None:
    """Take every merged adapter back out of its base weight."""
    for _, m in lora_layers(model):
        m.unmerge()
