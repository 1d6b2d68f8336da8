"""RAdam: Adam with a rectified adaptive learning rate (L2 or decoupled weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _adam_moments_, _check_adam_args, _decoupled_grad


class RAdam(Optimizer):
    """``torch.optim.RAdam``: plain momentum SGD while the variance estimate is unreliable
    (``rho_t <= 5``), rectified Adam after. State: ``step``, ``exp_avg``, ``exp_avg_sq``."""

    _load_defaults = (("foreach", None), ("maximize", False), ("differentiable", False),
                      ("decoupled_weight_decay", False), ("capturable", False))
    _state_buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_args(lr, eps, betas, weight_decay, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)


    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        rho_inf = 2 / (1 - beta2) - 1
        for p, state in self._params_and_state(group):
            g = _decoupled_grad(p, group)
            step = float(state["step"].item())
            exp_avg, exp_avg_sq = state["exp_avg"]._array, state["exp_avg_sq"]._array
            _adam_moments_(exp_avg, exp_avg_sq, g, beta1, beta2)
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
