"""Split a model into a frozen prefix and a trainable rest, so that the prefix's output can
be computed once (feature caching) and only the rest trained on it.

A split exists for models whose ``forward`` runs their top-level children one after the
other (ResNet, VGG, MobileNet, EfficientNet, ConvNeXt, RegNet, ShuffleNet, SqueezeNet,
DenseNet, any ``Sequential``), with the functional glue a few families put between them
(flatten, global pooling). ``split_model`` checks the split against the model's own forward
on an example input and refuses one that differs."""
from __future__ import annotations

from typing import NamedTuple

from .. import nn
from ..autograd.grad_mode import no_grad
from ..functions import flatten


class Apply(nn.Module):
    """A module that applies a function (the functional steps of a model's forward)."""

    def __init__(self, fn, description: str):
        super().__init__()
        self.fn, self.description = fn, description

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return self.description


def _flatten():
    return Apply(lambda x: flatten(x, 1), "flatten(x, 1)")


def _global_mean():
    return Apply(lambda x: x.mean((2, 3)), "x.mean((2, 3))")


def _relu_pool_flatten():
    return [Apply(lambda x: nn.functional.relu(x), "relu"),
            nn.AdaptiveAvgPool2d((1, 1)), _flatten()]


# functional steps that a family's forward runs before a child (or at the end: None)
_GLUE = {
    "MobileNetV2": {"classifier": lambda: [nn.AdaptiveAvgPool2d((1, 1)), _flatten()]},
    "DenseNet": {"classifier": _relu_pool_flatten},
    "ShuffleNetV2": {"fc": lambda: [_global_mean()]},
    "SqueezeNet": {None: lambda: [_flatten()]},
}


class ModelSplit(NamedTuple):
    prefix: nn.Sequential   # the model up to and including the split point
    rest: nn.Sequential     # everything after it (the same module objects as the model's)


def forward_stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's forward as a list of (name, module): its children in order, with the
    family's functional glue (named ``<glue>``) and a flatten before the first stage that
    holds a Linear layer when the model has no Flatten module of its own."""
    if isinstance(model, nn.Sequential):
        return list(model.named_children())
    glue = _GLUE.get(type(model).__name__, {})
    stages: list[tuple[str, nn.Module]] = []
    flattened = any(isinstance(m, (nn.Flatten, Apply)) for m in model.modules())
    for name, child in model.named_children():
        for step in glue.get(name, list)():
            stages.append(("<glue>", step))
            flattened = True
        if not flattened and any(isinstance(m, nn.Linear) for m in child.modules()):
            stages.append(("<glue>", _flatten()))
            flattened = True
        stages.append((name, child))
    stages += [("<glue>", step) for step in glue.get(None, list)()]
    return stages


def split_model(model: nn.Module, point: str, example=None) -> ModelSplit:
    """Split ``model`` after its submodule ``point`` (e.g. ``layer3``, ``features.10``).

    ``point`` inside a ``Sequential`` stage splits that stage between its children. When
    ``example`` (an input batch) is given, the split's output is compared with the model's
    (eval mode, no grad). ValueError, saying why, when no split exists or they differ."""
    stages = forward_stages(model)
    while True:
        names = [name for name, _ in stages]
        if point in names:
            break
        outer = next((i for i, name in enumerate(names)
                      if name != "<glue>" and point.startswith(name + ".")), None)
        if outer is None:
            raise ValueError(f"cannot split {type(model).__name__} after '{point}': it is not "
                             "one of the stages its forward runs in order")
        name, stage = stages[outer]
        if not isinstance(stage, nn.Sequential):
            raise ValueError(f"cannot split {type(model).__name__} after '{point}': it lies "
                             f"inside '{name}' ({type(stage).__name__}), whose forward is "
                             "not a plain sequence")
        stages[outer:outer + 1] = [(f"{name}.{child}", m) for child, m in stage.named_children()]
    cut = names.index(point) + 1
    split = ModelSplit(nn.Sequential(*[m for _, m in stages[:cut]]),
                       nn.Sequential(*[m for _, m in stages[cut:]]))
    if example is not None:
        verify_split(model, split, example)
    return split


def verify_split(model, split: ModelSplit, example) -> None:
    """ValueError unless ``split.rest(split.prefix(example))`` reproduces ``model(example)``
    (eval mode, no grad; the modules' modes are restored)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            expected = model(example)
            got = split.rest(split.prefix(example))
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        raise ValueError(f"cannot split {type(model).__name__}: running the parts in order "
                         f"fails ({e})") from None
    finally:
        for m, training in modes:
            m.training = training
    if tuple(got.shape) != tuple(expected.shape):
        raise ValueError(f"cannot split {type(model).__name__}: the parts give shape "
                         f"{tuple(got.shape)}, the model {tuple(expected.shape)}")
    # the same operations in the same order (a Sequential may fuse conv + batch norm in
    # eval mode: rounding differs); a different forward differs by far more
    scale = float(expected.abs().max()) or 1.0
    if float((got - expected).abs().max()) > 1e-4 * scale:
        raise ValueError(f"cannot split {type(model).__name__}: running its children in order "
                         "does not reproduce its forward")
