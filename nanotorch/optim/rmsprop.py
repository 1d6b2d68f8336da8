"""RMSprop (with momentum, centering, maximize and L2 weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    _addcdiv_,
    _addcmul_,
    _check_args,
    _effective_grad,
    _lerp_,
    _zeros_state,
)


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``: divide the gradient by a running root-mean-square of its
    recent values. State per parameter: ``step``, ``square_avg``, with ``momentum > 0``
    ``momentum_buffer`` and with ``centered`` ``grad_avg``."""

    _load_defaults = (("momentum", 0), ("centered", False), ("foreach", None),
                      ("maximize", False), ("differentiable", False), ("capturable", False))
    _state_buffers = ("square_avg",)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_args(lr, differentiable, ("epsilon", eps), ("momentum", momentum),
                    ("weight_decay", weight_decay), ("alpha", alpha))
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)


    def _init_state(self, p, group, state):
        super()._init_state(p, group, state)
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_state(p)
        if group["centered"]:
            state["grad_avg"] = _zeros_state(p)

    def _update_group(self, group):
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum = float(group["momentum"])
        for p, state in self._params_and_state(group):
            g = _effective_grad(p, group)
            square_avg = state["square_avg"]._array
            square_avg *= alpha
            _addcmul_(square_avg, g, g, 1 - alpha)
            if group["centered"]:
                grad_avg = state["grad_avg"]._array
                _lerp_(grad_avg, g, 1 - alpha)
                avg = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = np.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._array
                buf *= momentum
                buf += g / avg
                p._array += -lr * buf
            else:
                _addcdiv_(p._array, g, avg, -lr)
            p._bump_version()
