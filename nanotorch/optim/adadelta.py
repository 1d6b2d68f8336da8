"""Adadelta (with maximize and L2 weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _addcmul_, _check_args, _effective_grad


class Adadelta(Optimizer):
    """``torch.optim.Adadelta``: steps sized by the ratio of running RMS of past updates to
    running RMS of gradients (``lr`` scales the result, default 1.0). State per parameter:
    ``step``, ``square_avg``, ``acc_delta``."""

    _load_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                      ("capturable", False))
    _state_buffers = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_args(lr, differentiable, ("rho", rho, 1.0), ("epsilon", eps),
                    ("weight_decay", weight_decay))
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)


    def _update_group(self, group):
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        for p, state in self._params_and_state(group):
            g = _effective_grad(p, group)
            square_avg, acc_delta = state["square_avg"]._array, state["acc_delta"]._array
            square_avg *= rho
            _addcmul_(square_avg, g, g, 1 - rho)
            std = np.sqrt(square_avg + eps)
            delta = np.sqrt(acc_delta + eps)
            delta /= std
            delta *= g
            acc_delta *= rho
            _addcmul_(acc_delta, delta, delta, 1 - rho)
            p._array += -lr * delta
            p._bump_version()
