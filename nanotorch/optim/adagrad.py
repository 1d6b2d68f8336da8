"""Adagrad (with learning-rate decay, maximize and L2 weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    _addcdiv_,
    _addcmul_,
    _check_args,
    _effective_grad,
    _step_tensor,
    _zeros_state,
)


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``: scale each coordinate by the root of its summed squared
    gradients. Like torch, the state (``step``, ``sum``) of every parameter is created by
    the constructor."""

    _load_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                      ("fused", None))

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_args(lr, differentiable, ("lr_decay", lr_decay), ("weight_decay", weight_decay),
                    ("initial_accumulator_value", initial_accumulator_value), ("epsilon", eps))
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group, self.state[p])

    def _init_state(self, p, group, state):
        state["step"] = _step_tensor()
        state["sum"] = _zeros_state(p, float(group["initial_accumulator_value"]))

    def _update_group(self, group):
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        for p, state in self._params_and_state(group):
            g = _effective_grad(p, group)
            step = float(state["step"].item())
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]._array
            _addcmul_(state_sum, g, g)
            std = np.sqrt(state_sum)
            std += eps
            _addcdiv_(p._array, g, std, -clr)
            p._bump_version()
