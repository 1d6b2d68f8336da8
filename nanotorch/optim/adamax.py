"""Adamax: Adam with the infinity norm (with maximize and L2 weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    _addcdiv_,
    _check_betas,
    _check_lr,
    _check_non_negative,
    _effective_grad,
    _lerp_,
    _reject_differentiable,
    _step_tensor,
    _zeros_state,
)


class Adamax(Optimizer):
    """``torch.optim.Adamax``. State per parameter: ``step``, ``exp_avg``, ``exp_inf``."""

    _load_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                      ("capturable", False))

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check_non_negative(("epsilon", eps))
        _check_betas(betas)
        _check_non_negative(("weight_decay", weight_decay))
        _reject_differentiable(differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state["step"] = _step_tensor()
        state["exp_avg"] = _zeros_state(p)
        state["exp_inf"] = _zeros_state(p)

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        for p, state in self._params_and_state(group):
            g = _effective_grad(p, group)
            exp_avg, exp_inf = state["exp_avg"]._array, state["exp_inf"]._array
            _lerp_(exp_avg, g, 1 - beta1)
            exp_inf *= beta2
            norm = np.abs(g)
            norm += eps
            np.maximum(exp_inf, norm, out=exp_inf)
            clr = lr / (1 - beta1 ** float(state["step"].item()))
            _addcdiv_(p._array, exp_avg, exp_inf, -clr)
            p._bump_version()
