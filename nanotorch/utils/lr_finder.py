"""``lr_find``: the learning-rate range test (Leslie Smith; fastai's ``lr_find``).

Train for up to ``num_iter`` steps while the learning rate grows exponentially from
``start_lr`` to ``end_lr``, record the exponentially smoothed (bias-corrected) loss, stop
when it exceeds ``diverge`` times its minimum, restore the model and suggest a rate. On
cached features (a head or the trainable rest of a split model) it takes seconds."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import nn, optim
from ..nn import functional as F


@dataclass
class LRFinderResult:
    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)       # smoothed
    steepest: float | None = None   # rate where the smoothed loss falls fastest
    min_div_10: float | None = None  # rate of the minimum loss, divided by 10

    @property
    def suggestion(self) -> float | None:
        """The steepest-descent rate (the usual pick), else min/10."""
        return self.steepest if self.steepest is not None else self.min_div_10


def lr_find(model: nn.Module, loader, loss_fn=F.cross_entropy, make_optimizer=None,
            start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100,
            beta: float = 0.98, diverge: float = 4.0) -> LRFinderResult:
    """Run the range test on ``model`` with batches ``(x, y)`` from ``loader`` (cycled when
    shorter than ``num_iter``). ``make_optimizer(params, lr)`` builds the optimizer (default
    SGD with momentum 0.9) over the trainable parameters. The model's parameters, buffers
    and training mode are restored afterwards."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr, got {start_lr}, {end_lr}")
    if num_iter < 2:
        raise ValueError(f"lr_find: num_iter must be at least 2, got {num_iter}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("lr_find: the model has no trainable parameters")
    make_optimizer = make_optimizer or (lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9))
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [(m, m.training) for m in model.modules()]
    opt = make_optimizer(params, start_lr)
    ratio = (end_lr / start_lr) ** (1 / (num_iter - 1))
    result = LRFinderResult()
    avg, best = 0.0, math.inf
    model.train()
    try:
        batches = iter(loader)
        for i in range(num_iter):
            lr = start_lr * ratio ** i
            for group in opt.param_groups:
                group["lr"] = lr
            try:
                x, y = next(batches)
            except StopIteration:
                batches = iter(loader)
                x, y = next(batches)
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = loss.item()
            if not math.isfinite(value):
                break
            avg = beta * avg + (1 - beta) * value
            smoothed = avg / (1 - beta ** (i + 1))
            result.lrs.append(lr)
            result.losses.append(smoothed)
            best = min(best, smoothed)
            if smoothed > diverge * best:
                break
    finally:
        model.load_state_dict(saved)
        for m, training in modes:
            m.training = training
    _suggest(result)
    return result


def _suggest(result: LRFinderResult) -> None:
    # the first tenth (the smoothed loss is still settling) and the last points (the
    # divergence) are left out of both suggestions, as fastai does
    n = len(result.losses)
    lo, hi = n // 10, n - min(5, n // 5)
    if hi - lo < 3:
        return
    losses = np.asarray(result.losses[lo:hi])
    lrs = np.asarray(result.lrs[lo:hi])
    result.min_div_10 = float(lrs[int(np.argmin(losses))] / 10)
    slope = np.diff(losses) / np.diff(np.log(lrs))
    result.steepest = float(lrs[int(np.argmin(slope))])
