"""Discriminative learning rates per layer group, and fastai-style gradual unfreezing.

    groups = param_groups(model, base_lr=0.01, decay=0.5)   # head 0.01, the group before
    opt = nanotorch.optim.SGD(groups, lr=0.01, momentum=0.9) # it 0.005, then 0.0025, ...
"""
from __future__ import annotations

from .. import nn
from .finetune import freeze, head_name, unfreeze


def layer_groups(model: nn.Module, n_groups: int = 3) -> list[list[str]]:
    """Module names in ``n_groups`` groups, input side first and the head last: the body's
    top-level modules (a top-level ``Sequential`` such as ``features`` opened into its
    children while there are too few) split into ``n_groups - 1`` runs of about equal
    length."""
    if n_groups < 2:
        raise ValueError(f"layer_groups: n_groups must be at least 2 (body and head), got "
                         f"{n_groups}")
    head = head_name(model)
    units = list(model.named_children())
    while head not in [n for n, _ in units]:  # open the module holding the head
        i = next(i for i, (n, _) in enumerate(units) if head.startswith(n + "."))
        name, outer = units[i]
        units[i:i + 1] = [(f"{name}.{c}", m) for c, m in outer.named_children()]

    def body_of(units):
        return [(n, m) for n, m in units if n != head and any(True for _ in m.parameters())]

    body = body_of(units)
    while len(body) < n_groups - 1:
        openable = [(n, m) for n, m in body if isinstance(m, nn.Sequential) and len(m) > 1]
        if not openable:
            break
        name, seq = max(openable, key=lambda unit: len(unit[1]))
        i = [n for n, _ in units].index(name)
        units[i:i + 1] = [(f"{name}.{c}", m) for c, m in seq.named_children()]
        body = body_of(units)
    names = [n for n, _ in body]
    k = min(n_groups - 1, len(names))
    chunks = [names[len(names) * i // k:len(names) * (i + 1) // k] for i in range(k)]
    return [c for c in chunks if c] + [[head]]


def param_groups(model: nn.Module, base_lr: float, decay: float = 0.5,
                 groups: list[list[str]] | None = None, n_groups: int = 3) -> list[dict]:
    """Plain optimizer parameter groups, one per layer group (``groups``: lists of module
    names, input side first; default ``layer_groups(model, n_groups)``), the last at
    ``base_lr`` and each earlier one at ``decay`` times the next. Every parameter of the
    listed modules is included, frozen or not (optimizers skip parameters without
    gradients), so the same optimizer serves gradual unfreezing."""
    if not 0 < decay <= 1:
        raise ValueError(f"param_groups: decay must be in (0, 1], got {decay}")
    groups = groups if groups is not None else layer_groups(model, n_groups)
    seen, result = set(), []
    for depth, names in enumerate(reversed(groups)):
        params = []
        for name in names:
            for p in model.get_submodule(name).parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        result.append({"params": params, "lr": base_lr * decay ** depth})
    missing = [n for n, p in model.named_parameters() if id(p) not in seen]
    if missing:
        raise ValueError(f"param_groups: parameters in no group: {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}")
    return result[::-1]


class GradualUnfreezing:
    """fastai's ``fine_tune(freeze_epochs, epochs)``: the first ``freeze_epochs`` epochs
    train the head alone at ``base_lr`` (backbone frozen and in eval mode), then everything
    trains with discriminative rates from ``base_lr / 2`` at the head. ``apply(epoch,
    optimizer)`` at the start of each epoch sets the freezing and the group rates from the
    epoch number alone, so a resumed run gets the same state. Rates are constant within a
    phase (fastai uses one-cycle)."""

    def __init__(self, model: nn.Module, freeze_epochs: int, base_lr: float,
                 decay: float = 0.5, n_groups: int = 3):
        if freeze_epochs < 0:
            raise ValueError(f"freeze_epochs must be non-negative, got {freeze_epochs}")
        self.model, self.freeze_epochs, self.base_lr = model, freeze_epochs, base_lr
        self.groups = layer_groups(model, n_groups)
        self.param_groups = param_groups(model, base_lr / 2, decay, self.groups)
        self._unfrozen_lrs = [g["lr"] for g in self.param_groups]

    def frozen_at(self, epoch: int) -> bool:
        return epoch < self.freeze_epochs

    def apply(self, epoch: int, optimizer) -> list:
        """Freeze or unfreeze for ``epoch`` and set the optimizer's group rates; returns the
        frozen modules (empty once unfrozen)."""
        if self.frozen_at(epoch):
            frozen = freeze(self.model, "backbone")
            lrs = [0.0] * (len(self.param_groups) - 1) + [self.base_lr]
        else:
            unfreeze(self.model)
            frozen, lrs = [], self._unfrozen_lrs
        for group, lr in zip(optimizer.param_groups, lrs):
            group["lr"] = lr
        return frozen
