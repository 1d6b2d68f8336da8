"""Adam (with AMSGrad, maximize, L2 or decoupled weight decay)."""
from __future__ import annotations

from ..kernels.optim import adam_step
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _step_tensor,
    _work_array,
    _write_back,
    _zeros_state,
)


def _scalar(x):
    return float(x.item()) if isinstance(x, Tensor) else x


class Adam(Optimizer):
    """``torch.optim.Adam``. State per parameter: ``step`` (a float32 scalar tensor),
    ``exp_avg``, ``exp_avg_sq`` and, with ``amsgrad``, ``max_exp_avg_sq``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError(f"Tensor lr must be 1-element, got shape {list(lr.shape)}")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors, got types "
                             f"({type(betas[0]).__name__}, {type(betas[1]).__name__})")
        if differentiable:
            raise ValueError("differentiable=True is not supported by nanotorch optimizers")
        betas = tuple(_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    _load_defaults = (("amsgrad", False), ("maximize", False), ("foreach", None),
                      ("capturable", False), ("differentiable", False),
                      ("decoupled_weight_decay", False), ("fused", None))

    def _init_state(self, p, group, state):
        state["step"] = _step_tensor()
        state["exp_avg"] = _zeros_state(p)
        state["exp_avg_sq"] = _zeros_state(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_state(p)

    def _update_group(self, group):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(_scalar(b)) for b in group["betas"])
        amsgrad = bool(group["amsgrad"])
        for p, state in self._params_and_state(group):
            if amsgrad and "max_exp_avg_sq" not in state:
                raise RuntimeError(f"{type(self).__name__}: amsgrad=True but the state of a "
                                   f"parameter of shape {list(p.shape)} has no 'max_exp_avg_sq'")
            step_t = state["step"]
            moments = [state["exp_avg"], state["exp_avg_sq"]]
            if amsgrad:
                moments.append(state["max_exp_avg_sq"])
            arr = p._array
            work = _work_array(arr)
            mwork = [_work_array(m._array) for m in moments]
            adam_step(work, p.grad._array.astype(work.dtype, copy=False), mwork[0], mwork[1],
                      int(step_t.item()), lr, beta1=beta1, beta2=beta2, eps=eps,
                      weight_decay=wd, max_exp_avg_sq=mwork[2] if amsgrad else None,
                      maximize=bool(group["maximize"]),
                      decoupled_weight_decay=bool(group["decoupled_weight_decay"]))
            _write_back(arr, work)
            for m, w in zip(moments, mwork):
                _write_back(m._array, w)
            p._bump_version()
