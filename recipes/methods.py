"""The recipe's fine-tuning methods (``--method``): what is frozen or adapted, and which part
of the model can be computed once and cached.

    head     the backbone frozen (``--freeze backbone``), the new head trains
    partial  ``--freeze MODULE``: that module and all before it frozen, the rest trains
    full     nothing frozen (``--freeze none``)
    lora     the backbone frozen, LoRA adapters on its Linear/Conv2d layers and the head train
    bitfit   every bias and the head train (BitFit)
    norm     the normalisation layers' weights and biases and the head train
(bitfit and norm keep BatchNorm's running statistics as loaded, as a frozen backbone does)
"""
from __future__ import annotations

import json

import numpy as np

import nanotorch as torch
from nanotorch.nn import functional as F
from nanotorch.utils.data import DataLoader, TensorDataset
from nanotorch.utils.finetune import freeze, head_name, trainable_subset
from nanotorch.utils.lr_finder import lr_find
from nanotorch.utils.lr_groups import GradualUnfreezing, param_groups
from nanotorch.utils.peft import apply_lora, lora_state_dict
from nanotorch.utils.split import split_model, verify_split

METHODS = ("head", "partial", "full", "lora", "bitfit", "norm")
LORA_ADAPTERS = "lora_adapters.safetensors"


def add_arguments(p) -> None:
    p.add_argument("--method", choices=METHODS, default=None,
                   help="what trains: head, partial (--freeze MODULE), full, lora, bitfit "
                        "(biases), norm (normalisation layers); default: from --freeze")
    p.add_argument("--feature-cache", default=None, metavar="DIR",
                   help="keep cached features in DIR, keyed by the frozen weights, data and "
                        "preprocessing, so that a later run skips their extraction")
    p.add_argument("--lr-decay", type=float, default=1.0, metavar="DECAY",
                   help="discriminative rates: the head at --lr, each earlier of 3 layer "
                        "groups at DECAY times the next (e.g. 0.3); 1: one rate")
    p.add_argument("--freeze-epochs", type=int, default=0, metavar="N",
                   help="gradual unfreezing (fastai's fine_tune): N epochs of the head alone "
                        "at --lr, then everything with rates from --lr/2 down by --lr-decay "
                        "(0.5 when left at 1)")
    p.add_argument("--lr-find", action="store_true",
                   help="run the learning-rate range test on what trains (on the cached "
                        "features when cached), write OUT/lr_find.json, print the suggested "
                        "rate and stop")
    p.add_argument("--lora-r", type=int, default=8, help="LoRA rank")
    p.add_argument("--lora-alpha", type=float, default=16.0,
                   help="LoRA scaling numerator (the adapter is scaled by alpha / r)")
    p.add_argument("--lora-dropout", type=float, default=0.0, help="dropout on LoRA's input")
    p.add_argument("--lora-targets", default=None, metavar="NAMES",
                   help="comma-separated module names (a name matches a module so called or "
                        "ending in .NAME), or a regular expression over the dotted names; "
                        "default: every Linear and non-grouped Conv2d except the head")


def resolve(args) -> str | None:
    """Set ``args.method`` (from ``--freeze`` when not given) and ``args.freeze`` to agree;
    returns a problem with the combination, or None."""
    implied = {"backbone": "head", "none": "full"}.get(args.freeze, "partial")
    if args.method is None:
        args.method = implied
    elif args.method == "full" and args.freeze == "backbone":
        args.freeze = "none"
    elif args.method in ("head", "full", "partial") and args.method != implied:
        if args.method == "partial":
            return "--method partial needs --freeze MODULE (e.g. layer3 or features.10)"
        return f"--method {args.method} contradicts --freeze {args.freeze}"
    elif args.method in ("lora", "bitfit", "norm") and args.freeze != "backbone":
        return f"--freeze does not apply to --method {args.method}"
    if args.freeze_epochs < 0:
        return f"--freeze-epochs must be non-negative, got {args.freeze_epochs}"
    if not 0 < args.lr_decay <= 1:
        return f"--lr-decay must be in (0, 1], got {args.lr_decay}"
    scheduler = getattr(args, "scheduler", "none")
    if args.freeze_epochs:
        if args.method == "head" and args.freeze == "backbone":
            args.method, args.freeze = "full", "none"  # the backbone unfreezes later
        elif args.method != "full":
            return "--freeze-epochs unfreezes the whole model: use it with --method full"
        if scheduler != "none":
            return "--freeze-epochs sets the rates of each phase; use --scheduler none"
    if args.lr_decay != 1 and scheduler == "onecycle":
        return "--scheduler onecycle gives every group one peak rate; leave --lr-decay at 1"
    if args.lora_r < 1:
        return f"--lora-r must be at least 1, got {args.lora_r}"
    if not 0.0 <= args.lora_dropout < 1.0:
        return f"--lora-dropout must be in [0, 1), got {args.lora_dropout}"
    return None


def describe(args) -> str:
    """What trains, in words, for the recipe's summary line."""
    if args.method == "lora":
        return (f"method lora (r={args.lora_r}, alpha={args.lora_alpha:g}), backbone frozen "
                "under the adapters")
    if args.method in ("bitfit", "norm"):
        kind = "biases" if args.method == "bitfit" else "normalisation layers"
        return f"method {args.method} ({kind} and head train)"
    return f"method {args.method}, frozen: {args.freeze}"


def _targets(spec):
    if spec is None:
        return None
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if len(names) == 1 and any(c in names[0] for c in "\\.*+?[]()|^$"):
        return names[0]  # a regular expression
    return names


def prepare(model, args) -> list:
    """Freeze or adapt ``model`` (its head already replaced) for ``args.method``; returns
    the modules kept in eval mode."""
    method = getattr(args, "method", None) or "head"
    if method in ("head", "partial", "full"):
        return freeze(model, args.freeze)
    head = head_name(model)
    if method == "lora":
        frozen = freeze(model, "backbone")
        apply_lora(model, r=args.lora_r, alpha=args.lora_alpha, dropout=args.lora_dropout,
                   target_modules=_targets(args.lora_targets), exclude=[head])
        return frozen
    trainable_subset(model, "bias" if method == "bitfit" else "norm", head=True)
    return []


def cache_point(model, args) -> str | None:
    """The module whose output can be computed once: the one before the head (``head``),
    the ``--freeze`` module (``partial``); None when nothing frozen comes first, the
    features change between epochs (``--augment``) or the model cannot be split there
    (ValueError instead with ``--cache-features on``)."""
    if args.augment or args.freeze_epochs or args.method not in ("head", "partial"):
        return None
    if args.method == "head":
        return head_name(model)
    try:  # a forward that is not its stages in order (ViT) has no prefix to cache
        split_model(model, args.freeze)
    except ValueError:
        if getattr(args, "cache_features", "auto") == "on":
            raise
        return None
    return args.freeze


class PartialCache:
    """Cached features for ``--method partial``: the frozen prefix runs once per sample,
    the rest of the model (``net``) trains on its outputs."""

    def __init__(self, model, point):
        self.split = split_model(model, point)
        self.net = self.split.rest
        self.verified = False

    def extract(self, model, source, batch_size, progress=None):
        """The prefix's output for every sample of ``source`` (a TensorDataset or a
        ``recipes.stream.Preprocessed``), in memory, prefix in eval mode."""
        prefix = self.split.prefix
        modes = [(m, m.training) for m in prefix.modules()]
        prefix.eval()
        rows = []
        try:
            with torch.no_grad():
                for x in _batches(source, batch_size):
                    if not self.verified:  # the parts in order must be the model's forward
                        verify_split(model, self.split, x[:4])
                        self.verified = True
                    out = prefix(x)
                    rows.append(out.numpy())
                    if progress is not None:
                        progress(len(out))
        finally:
            for m, training in modes:
                m.training = training
        return TensorDataset(torch.from_numpy(np.concatenate(rows)), _labels(source))


def _batches(source, batch_size):
    if hasattr(source, "batches"):  # recipes.stream.Preprocessed
        for _, x in source.batches(batch_size):
            yield torch.from_numpy(x)
        return
    images = source.tensors[0]
    for start in range(0, len(images), batch_size):
        yield images[start:start + batch_size]


def _labels(source):
    if hasattr(source, "batches"):
        return torch.from_numpy(np.asarray(source.labels))
    return source.tensors[1]


def save_adapters(model, args, out) -> str | None:
    """With ``--method lora``: write the adapters and the new head alone (a few percent of
    the model) to ``OUT/lora_adapters.safetensors``; returns its path."""
    if args.method != "lora":
        return None
    path = out / LORA_ADAPTERS
    torch.save(lora_state_dict(model, extra=[head_name(model)]), path,
               metadata={"model": args.model, "lora_r": str(args.lora_r),
                         "lora_alpha": str(args.lora_alpha),
                         "lora_targets": args.lora_targets or ""})
    return str(path)


def unfreezing(model, args) -> GradualUnfreezing | None:
    """The ``--freeze-epochs`` schedule, or None."""
    if not args.freeze_epochs:
        return None
    decay = args.lr_decay if args.lr_decay != 1 else 0.5
    return GradualUnfreezing(model, args.freeze_epochs, args.lr, decay=decay)


def optimizer_params(model, params, args, plan=None):
    """What the optimizer gets: the trainable ``params``, or plain parameter groups with
    their own rates (``--lr-decay``, ``--freeze-epochs``)."""
    if plan is not None:
        return plan.param_groups
    if args.lr_decay == 1:
        return params
    trainable = {id(p) for p in params}
    groups = [{"params": [p for p in g["params"] if id(p) in trainable], "lr": g["lr"]}
              for g in param_groups(model, args.lr, decay=args.lr_decay)]
    return [g for g in groups if g["params"]]


def lr_find_report(net, train_set, args, out) -> dict:
    """``--lr-find``: the range test on ``net`` over ``train_set`` (SGD with --momentum or
    AdamW as --optimizer), saved to ``OUT/lr_find.json``; the model is left as it was."""
    g = torch.Generator().manual_seed(args.seed)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=g)
    if getattr(args, "optimizer", "sgd") == "adamw":
        def make(ps, lr):
            return torch.optim.AdamW(ps, lr=lr, weight_decay=args.weight_decay)
    else:
        def make(ps, lr):
            return torch.optim.SGD(ps, lr=lr, momentum=args.momentum,
                                   weight_decay=args.weight_decay)
    result = lr_find(net, loader, F.cross_entropy, make)
    report = {"lrs": result.lrs, "losses": result.losses, "steepest": result.steepest,
              "min_div_10": result.min_div_10, "suggestion": result.suggestion}
    out.mkdir(parents=True, exist_ok=True)
    (out / "lr_find.json").write_text(json.dumps(report, indent=1))
    if result.suggestion is None:
        print(f"lr_find: the loss diverged after {len(result.lrs)} steps; no suggestion")
    else:
        print(f"lr_find: suggested --lr {result.suggestion:.3g} (steepest descent; minimum/10: "
              f"{result.min_div_10:.3g}); curve in {out / 'lr_find.json'}")
    return {"lr_find": report}
