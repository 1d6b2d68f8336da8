"""RAdam: Adam with a rectified adaptive learning rate (L2 or decoupled weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    _addcmul_,
    _check_betas,
    _check_lr,
    _check_non_negative,
    _decay_weights,
    _effective_grad,
    _lerp_,
    _reject_differentiable,
    _step_tensor,
    _zeros_state,
)


class RAdam(Optimizer):
    """``torch.optim.RAdam``: plain momentum SGD while the variance estimate is unreliable
    (``rho_t <= 5``), rectified Adam after. State: ``step``, ``exp_avg``, ``exp_avg_sq``."""

    _load_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                      ("decoupled_weight_decay", False), ("capturable", False))

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_lr(lr)
        _check_non_negative(("epsilon", eps))
        _check_betas(betas)
        _check_non_negative(("weight_decay", weight_decay))
        _reject_differentiable(differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state["step"] = _step_tensor()
        state["exp_avg"] = _zeros_state(p)
        state["exp_avg_sq"] = _zeros_state(p)

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        decoupled = bool(group["decoupled_weight_decay"])
        rho_inf = 2 / (1 - beta2) - 1
        for p, state in self._params_and_state(group):
            if decoupled:
                _decay_weights(p, group)
            g = _effective_grad(p, group, l2_decay=not decoupled)
            step = float(state["step"].item())
            exp_avg, exp_avg_sq = state["exp_avg"]._array, state["exp_avg_sq"]._array
            _lerp_(exp_avg, g, 1 - beta1)
            exp_avg_sq *= beta2
            _addcmul_(exp_avg_sq, g, g, 1 - beta2)
            bias_correction2 = 1 - beta2 ** step
            update = exp_avg / (1 - beta1 ** step) * lr
            rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                root = np.sqrt(exp_avg_sq)
                root += eps
                update = update * (bias_correction2 ** 0.5 / root) * rect
            p._array -= update
            p._bump_version()
