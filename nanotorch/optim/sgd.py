"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from ..kernels.optim import sgd_step
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _check_dense_float,
    _params_with_grad,
    _work_array,
    _write_back,
    _zeros_state,
)


class SGD(Optimizer):
    """``torch.optim.SGD``: ``p -= lr * d`` where ``d`` is the (decayed, momentum-averaged,
    optionally Nesterov) gradient. Parameters whose ``.grad`` is None are left untouched."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError(f"Tensor lr must be 1-element, got shape {list(lr.shape)}")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            # torch's exact text (tests/test_optim.py compares messages verbatim)
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        if differentiable:
            raise ValueError("differentiable=True is not supported by nanotorch optimizers")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    _load_defaults = (("nesterov", False), ("maximize", False), ("foreach", None),
                      ("differentiable", False), ("fused", False))

    def _update_group(self, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, wd = float(group["dampening"]), float(group["weight_decay"])
        for p in _params_with_grad(group):
            _check_dense_float(p, "SGD")
            buf, first = None, False
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = _zeros_state(p)
                    first = True
            arr = p._array
            work = _work_array(arr)
            buf_work = _work_array(buf._array) if buf is not None else None
            sgd_step(work, p.grad._array.astype(work.dtype, copy=False), buf_work, lr,
                     momentum=momentum, dampening=dampening, weight_decay=wd,
                     nesterov=bool(group["nesterov"]), maximize=bool(group["maximize"]),
                     first_step=first)
            _write_back(arr, work)
            if buf is not None:
                _write_back(buf._array, buf_work)
            p._bump_version()
