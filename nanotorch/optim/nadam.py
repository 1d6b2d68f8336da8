"""NAdam: Adam with Nesterov momentum (momentum decay, L2 or decoupled weight decay)."""
from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    _adam_moments_,
    _addcdiv_,
    _check_adam_args,
    _decoupled_grad,
    _step_tensor,
    _zeros_state,
)


class NAdam(Optimizer):
    """``torch.optim.NAdam``. State per parameter: ``step``, ``mu_product`` (float32
    scalars, as torch keeps them), ``exp_avg``, ``exp_avg_sq``."""

    _load_defaults = (("maximize", False), ("foreach", None), ("capturable", False),
                      ("differentiable", False), ("decoupled_weight_decay", False))

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, eps, betas, weight_decay, differentiable,
                         ("momentum_decay", momentum_decay))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state["step"] = _step_tensor()
        state["mu_product"] = _step_tensor(1.0)
        state["exp_avg"] = _zeros_state(p)
        state["exp_avg_sq"] = _zeros_state(p)

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        momentum_decay = float(group["momentum_decay"])
        for p, state in self._params_and_state(group):
            g = _decoupled_grad(p, group)
            step = float(state["step"].item())
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            mu_product = state["mu_product"]
            mu_product._array *= mu
            mu_product._bump_version()
            mu_prod = float(mu_product.item())
            exp_avg, exp_avg_sq = state["exp_avg"]._array, state["exp_avg_sq"]._array
            _adam_moments_(exp_avg, exp_avg_sq, g, beta1, beta2)
            denom = np.sqrt(exp_avg_sq / (1 - beta2 ** step))
            denom += eps
            _addcdiv_(p._array, g, denom, -lr * (1.0 - mu) / (1.0 - mu_prod))
            _addcdiv_(p._array, exp_avg, denom, -lr * mu_next / (1.0 - mu_prod * mu_next))
            p._bump_version()
