"""Adamax: Adam with the infinity norm (with maximize and L2 weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _addcdiv_, _check_adam_args, _effective_grad, _lerp_


class Adamax(Optimizer):
    """``torch.optim.Adamax``. State per parameter: ``step``, ``exp_avg``, ``exp_inf``."""

    _load_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                      ("capturable", False))
    _state_buffers = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, eps, betas, weight_decay, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)


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
