"""The recipe's optimizer and learning-rate schedule from its command-line options.

The schedule advances once per optimizer step, so a run stopped mid-epoch resumes on the
same learning rate; its state travels in the checkpoint with the optimizer's."""
from __future__ import annotations

import nanotorch as torch
from nanotorch.optim import lr_scheduler as S

OPTIMIZERS = ("sgd", "adamw")
SCHEDULERS = ("none", "step", "cosine", "onecycle")
# defaults that depend on --optimizer (PyTorch's AdamW defaults; the recipe's SGD settings)
DEFAULT_LR = {"sgd": 0.05, "adamw": 1e-3}
DEFAULT_WEIGHT_DECAY = {"sgd": 0.0, "adamw": 0.01}
WARMUP_START = 0.1  # warmup goes linearly from this fraction of --lr to --lr


def make_optimizer(args, params):
    if args.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum,
                           weight_decay=args.weight_decay)


def steps_per_epoch(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def make_scheduler(args, opt, per_epoch: int):
    """The per-step scheduler of ``--scheduler`` with ``--warmup-epochs`` of linear warmup,
    or None for a constant learning rate without warmup."""
    total = max(1, args.epochs * per_epoch)
    warmup = min(total - 1, round(args.warmup_epochs * per_epoch))
    if args.scheduler == "onecycle":  # its own warmup: the rising phase
        pct = warmup / total if warmup > 0 else 0.3
        return S.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=pct)
    rest = total - warmup
    if args.scheduler == "step":
        main = S.StepLR(opt, step_size=max(1, args.lr_step_epochs * per_epoch),
                        gamma=args.lr_gamma)
    elif args.scheduler == "cosine":
        main = S.CosineAnnealingLR(opt, T_max=max(1, rest))
    else:
        main = S.ConstantLR(opt, factor=1.0, total_iters=0) if warmup > 0 else None
    if warmup <= 0:
        return main
    ramp = S.LinearLR(opt, start_factor=WARMUP_START, end_factor=1.0, total_iters=warmup)
    return S.SequentialLR(opt, [ramp, main], milestones=[warmup])
