"""Fine-tuning helpers: find and replace a classifier head, freeze a backbone, count
trainable parameters."""
from __future__ import annotations

from .. import nn


def head_name(model: nn.Module) -> str:
    """Dotted name of the final classifier layer: ``fc`` for ResNets,
    ``classifier.<last>`` for VGG/MobileNet, else the last Linear in the module tree."""
    if isinstance(getattr(model, "fc", None), nn.Linear):
        return "fc"
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Sequential) and len(classifier) and isinstance(
            classifier[-1], nn.Linear):
        return f"classifier.{len(classifier) - 1}"
    if isinstance(classifier, nn.Linear):
        return "classifier"
    if isinstance(classifier, nn.Sequential):  # SqueezeNet: a 1x1 conv to the classes
        convs = [i for i, m in enumerate(classifier) if isinstance(m, nn.Conv2d)]
        if convs:
            return f"classifier.{convs[-1]}"
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        raise ValueError(f"{type(model).__name__} has no Linear layer to use as the head")
    return last


def replace_head(model: nn.Module, num_classes: int) -> nn.Linear:
    """Swap the classifier head for a fresh ``Linear(in_features, num_classes)`` (a 1x1
    ``Conv2d`` for SqueezeNet's convolutional head)."""
    name = head_name(model)
    old = model.get_submodule(name)
    if isinstance(old, nn.Conv2d):
        new = nn.Conv2d(old.in_channels, num_classes, kernel_size=1, bias=old.bias is not None)
    else:
        new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    new.to(old.weight.dtype)
    _set_submodule(model, name, new)
    return new


def _set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` in place of the submodule at dotted ``name`` (by index in a Sequential)."""
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name)
    if isinstance(parent, nn.Sequential) and attr.isdigit():
        parent[int(attr)] = new
    else:
        setattr(parent, attr, new)


def freeze(model: nn.Module, mode: str = "backbone") -> list[nn.Module]:
    """Set ``requires_grad=False`` on part of ``model`` and keep it in eval mode; return the
    frozen modules.

    ``mode``: ``"backbone"`` (everything but the classifier head), ``"none"``, ``"all"``,
    or a module name such as ``layer3`` / ``features.10``: that module and every module
    registered before it are frozen. Every module inside the frozen part is marked so that
    ``model.train()`` leaves it in eval mode (BatchNorm keeps its running statistics,
    Dropout and stochastic depth are off) until ``unfreeze``; modules added inside it later
    (LoRA adapters) are not marked and follow ``train()`` as usual."""
    unfreeze(model)
    if mode == "none":
        return []
    if mode == "all":
        frozen = [model]
    else:
        target = head_name(model) if mode == "backbone" else mode
        try:
            model.get_submodule(target)
        except AttributeError:
            tops = [n for n, _ in model.named_children()]
            raise ValueError(f"freeze: '{mode}' is not a module of {type(model).__name__}; its "
                             f"top-level modules are {tops}") from None
        frozen = []
        _collect(model, "", target, mode == "backbone", frozen)
        # parameters held directly by the modules around the target (ViT's class token and
        # position embedding) belong to the frozen input side
        parts = target.split(".")
        for i in range(len(parts)):
            _freeze_own(model.get_submodule(".".join(parts[:i])))
    for m in frozen:
        freeze_module(m)
    return frozen


def _freeze_own(module: nn.Module) -> None:
    for p in module.parameters(recurse=False):
        p.requires_grad_(False)


def freeze_module(module: nn.Module) -> nn.Module:
    """Freeze all of ``module``: no gradients, and eval mode that ``train()`` keeps."""
    module.requires_grad_(False)
    for m in module.modules():
        m._frozen_eval = True
        m.training = False
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Undo ``freeze`` on ``module`` and everything in it: parameters require gradients
    again and ``train()`` reaches every module (call ``model.train()`` afterwards to put
    the formerly frozen modules back in training mode)."""
    module.requires_grad_(True)
    for m in module.modules():
        m.__dict__.pop("_frozen_eval", None)
    return module


def warn_frozen_batchnorm(enabled: bool = True) -> None:
    """Warn (once per layer) when a BatchNorm whose parameters all have
    ``requires_grad=False`` updates its running statistics in training mode: a layer frozen
    by hand rather than by ``freeze``. Off by default, as in PyTorch (which never warns);
    the environment variable ``NANOTORCH_WARN_FROZEN_BN=1`` turns it on at start-up."""
    from ..nn.modules import batchnorm
    batchnorm.WARN_FROZEN_STATS[0] = bool(enabled)


def frozen_batchnorm_training(model: nn.Module) -> list[str]:
    """Names of BatchNorm layers in training mode whose parameters are all frozen: their
    running statistics would change although the layer counts as frozen."""
    from ..nn.modules.batchnorm import _BatchNorm
    names = []
    for name, m in model.named_modules():
        params = [p for p in m.parameters(recurse=False)]
        if (isinstance(m, _BatchNorm) and m.training and m.track_running_stats and params
                and not any(p.requires_grad for p in params)):
            names.append(name)
    return names


def is_frozen(module: nn.Module) -> bool:
    """Whether ``freeze`` marked ``module`` (kept in eval mode by ``train()``)."""
    return bool(module.__dict__.get("_frozen_eval", False))


def _collect(module, prefix, target, skip_target, frozen) -> bool:
    """Append to ``frozen`` the children of ``module`` that come before ``target`` (and
    ``target`` itself unless ``skip_target``, and everything after it when it is skipped).
    Returns whether ``target`` was reached."""
    reached = False
    for name, child in module.named_children():
        full = prefix + name
        if reached:
            if skip_target:
                frozen.append(child)  # backbone mode: all but the head
            continue
        if full == target:
            reached = True
            if not skip_target:
                frozen.append(child)
        elif target.startswith(full + "."):
            reached = _collect(child, full + ".", target, skip_target, frozen)
        else:
            frozen.append(child)
    return reached


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


SUBSETS = ("bias", "norm", "head")


def is_norm_layer(module: nn.Module) -> bool:
    """BatchNorm (and SyncBatchNorm, InstanceNorm), LayerNorm (LayerNorm2d) or GroupNorm."""
    from ..nn.modules.batchnorm import _BatchNorm  # nn is still loading at import time
    return isinstance(module, (_BatchNorm, nn.LayerNorm, nn.GroupNorm))


def trainable_subset(model: nn.Module, subset: str = "bias", *, head: bool = True,
                     freeze_stats: bool = True) -> list[str]:
    """Make only one kind of parameter trainable; return the trainable names.

    ``subset``: ``"bias"`` (BitFit: every bias), ``"norm"`` (the weights and biases of
    normalisation layers: BatchNorm, LayerNorm, ...) or ``"head"`` (none besides the head).
    ``head=True`` also trains the classifier head (``head_name``), which a new task needs.
    ``freeze_stats``: BatchNorm layers keep their running statistics (eval mode through
    ``train()``, as ``freeze`` does) while their affine parameters train; False lets
    them re-estimate the statistics on the new data (unstable on small batches and
    feature maps: on the bundled data it cost MobileNetV2 20 points of accuracy)."""
    if subset not in SUBSETS:
        raise ValueError(f"trainable_subset: unknown subset {subset!r}; expected one of "
                         f"{list(SUBSETS)}")
    unfreeze(model)
    head_prefix = head_name(model) + "." if head else None
    norm_params = {id(p) for m in model.modules() if is_norm_layer(m)
                   for p in m.parameters(recurse=False)}
    names = []
    for name, p in model.named_parameters():
        keep = ((subset == "bias" and name.rsplit(".", 1)[-1] == "bias")
                or (subset == "norm" and id(p) in norm_params)
                or (head_prefix is not None and name.startswith(head_prefix)))
        p.requires_grad_(keep)
        if keep:
            names.append(name)
    if freeze_stats:
        from ..nn.modules.batchnorm import _BatchNorm
        for name, m in model.named_modules():
            if isinstance(m, _BatchNorm) and not (head_prefix and name.startswith(head_prefix)):
                m._frozen_eval = True
                m.training = False
    return names
