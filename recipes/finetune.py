"""Fine-tune a pretrained image classifier: load its weights, freeze the backbone, replace
the head, train (SGD or AdamW, optional schedule), evaluate every epoch, checkpoint atomically
and write the run's records (metrics.jsonl/csv, curves.png, confusion.png) to --out.

examples:
  python -m recipes.finetune            # MobileNetV2 (ImageNet) on bundled Fashion-MNIST
  python -m recipes.finetune --model resnet18 --weights IMAGENET1K_V1 \\
      --data path/to/imagefolder --freeze layer3 --epochs 10 --out runs/pets
  python -m recipes.finetune --resume auto --out runs/pets     # continue after a stop
  python -m recipes.predict --checkpoint runs/pets/best.safetensors photo.jpg
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import nanotorch as torch
from nanotorch import models
from nanotorch.io import WeightFileError
from nanotorch.io.atomic import remove_stale_temps
from nanotorch.nn import functional as F
from nanotorch.nn.modules.batchnorm import _BatchNorm
from nanotorch.utils.data import DataLoader
from nanotorch.utils.finetune import count_parameters, head_name, replace_head

from . import feature_store, features, methods, parallel, plots, records, schedule
from .checkpoint_model import recipe_metadata
from .data import DEFAULT_DATA, load_splits
from .lock import RunLock

CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"
PROG = "python -m recipes.finetune"


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and appends each option's default (when it has one
    and its help does not already say it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = "%(default)" in text or "default:" in text
        if not shown and action.default is not None and action.default is not False \
                and action.default is not argparse.SUPPRESS:
            text += " (default: %(default)s)"
        return text


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=_HelpFormatter)
    p.add_argument("--model", default="mobilenet_v2", choices=models.list_models(),
                   metavar="NAME", help="architecture (any of nanotorch.models.list_models())")
    p.add_argument("--weights", default="IMAGENET1K_V1",
                   help="weight-set name (IMAGENET1K_V1, DEFAULT), a .safetensors/.pth file, "
                        "or 'none' for random init")
    p.add_argument("--data", default=str(DEFAULT_DATA),
                   help=".npz file, folder of MNIST-style IDX files, or ImageFolder tree "
                        "(with train/ and test|val/ sub-folders, or split 80/20); default: the "
                        "bundled Fashion-MNIST subset, recipes/data/fashion_mnist_small.npz")
    p.add_argument("--num-classes", type=int, default=None, help="default: from the data")
    p.add_argument("--image-size", type=int, default=32, help="images are resized to SxS")
    p.add_argument("--freeze", default="backbone",
                   help="'backbone' (all but the head), 'none', or a module name such as "
                        "layer3 / features.10 (that module and all before it)")
    methods.add_arguments(p)
    p.add_argument("--epochs", type=int, default=15, help="training epochs")
    p.add_argument("--batch-size", type=int, default=64,
                   help="images per step in all (under mpiexec -n N, split across the N ranks)")
    p.add_argument("--optimizer", choices=schedule.OPTIMIZERS, default="sgd",
                   help="SGD with momentum, or AdamW")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (peak rate with a schedule); default: 0.05 for sgd, "
                        "0.001 for adamw")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (sgd only)")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="L2 penalty (sgd) or decoupled weight decay (adamw); default: 0 for "
                        "sgd, 0.01 for adamw")
    p.add_argument("--scheduler", choices=schedule.SCHEDULERS, default="none",
                   help="learning-rate schedule, advanced every step: constant, step decay "
                        "(see --lr-step-epochs, --lr-gamma), cosine to 0, or one-cycle")
    p.add_argument("--warmup-epochs", type=float, default=0.0,
                   help=f"linear warmup from {schedule.WARMUP_START:g}x --lr over this many "
                        "epochs (onecycle: the length of its rising phase)")
    p.add_argument("--lr-step-epochs", type=int, default=None,
                   help="--scheduler step: epochs between decays; default: a third of --epochs")
    p.add_argument("--lr-gamma", type=float, default=0.1,
                   help="--scheduler step: factor applied at each decay")
    p.add_argument("--label-smoothing", type=float, default=0.0,
                   help="cross-entropy label smoothing of the training loss, in [0, 1)")
    p.add_argument("--early-stop", type=int, default=None, metavar="PATIENCE",
                   help="stop when the test loss has not improved for PATIENCE epochs; "
                        "best.safetensors is then the lowest-test-loss model")
    p.add_argument("--seed", type=int, default=0, help="seed of all randomness")
    p.add_argument("--out", default="runs/finetune",
                   help="output folder: checkpoint, best model, metrics and plots")
    p.add_argument("--resume", default=None,
                   help="checkpoint to continue from ('auto': OUT/checkpoint.safetensors "
                        "if it exists)")
    p.add_argument("--cache-features", choices=["auto", "on", "off"], default="auto",
                   help="compute a frozen backbone's features once ('auto': when valid, i.e. "
                        "--freeze backbone without --augment)")
    p.add_argument("--augment", action="store_true", help="random crop + horizontal flip")
    p.add_argument("--num-workers", type=int, default=0,
                   help="DataLoader worker processes for loading training batches")
    p.add_argument("--train-limit", type=int, default=None, help="use the first N images")
    p.add_argument("--test-limit", type=int, default=None, help="use the first N test images")
    p.add_argument("--on-bad-image", choices=["raise", "skip"], default="raise",
                   help="unreadable image files: stop with an error, or skip and report")
    p.add_argument("--check-nan", action="store_true", help="stop when the loss is not finite")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars and notes; the per-epoch lines and the summary stay")
    args = p.parse_args(argv)
    if args.lr is None:
        args.lr = schedule.DEFAULT_LR[args.optimizer]
    if args.weight_decay is None:
        args.weight_decay = schedule.DEFAULT_WEIGHT_DECAY[args.optimizer]
    if args.lr_step_epochs is None:
        args.lr_step_epochs = max(1, args.epochs // 3) if args.epochs > 0 else 1
    problem = _check_numbers(args) or methods.resolve(args)
    if problem:
        p.error(problem)
    return args


def _check_numbers(args) -> str | None:
    """The first out-of-range numeric argument, described, or None."""
    for name in ("epochs", "batch_size", "image_size", "train_limit", "test_limit",
                 "early_stop", "lr_step_epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be at least 1, got {value}"
    if args.num_classes is not None and args.num_classes < 1:
        return (f"--num-classes must be at least 1, got {args.num_classes} (leave it out to "
                "take the number of classes from the data)")
    if args.num_workers < 0:
        return f"--num-workers must be 0 or more, got {args.num_workers}"
    for name, positive in (("lr", True), ("momentum", False), ("weight_decay", False),
                           ("warmup_epochs", False), ("lr_gamma", True),
                           ("label_smoothing", False)):
        value = getattr(args, name)
        flag = f"--{name.replace('_', '-')}"
        if not math.isfinite(value):
            return f"{flag} must be a finite number, got {value}"
        if value < 0 or (positive and value == 0):
            return f"{flag} must be {'positive' if positive else 'non-negative'}, got {value}"
    if args.label_smoothing >= 1:
        return f"--label-smoothing must be below 1, got {args.label_smoothing}"
    if args.warmup_epochs > args.epochs:
        return f"--warmup-epochs {args.warmup_epochs:g} exceeds --epochs {args.epochs}"
    return None


def build_model(args, num_classes: int):
    """The pretrained model with a new head and the requested part frozen."""
    weights = None if args.weights.lower() == "none" else args.weights
    model = models.get_model(args.model, weights=weights)
    replace_head(model, num_classes)
    frozen = methods.prepare(model, args)
    return model, frozen


def set_train_mode(model, frozen):
    model.train()
    for m in frozen:
        m.eval()


def _features(model, dataset, batch_size, desc=None, directory=None):
    """Inputs of the head for every sample, computed once with the frozen part in eval
    (recipes.features.extract: in memory, or in a file in ``directory`` beyond a budget);
    with ``desc``, under a progress bar of that name (images/s and time left)."""
    bar = tqdm(total=len(dataset), desc=desc, unit="img", disable=desc is None, leave=False,
               file=sys.stderr, mininterval=0.5, smoothing=0.1)
    try:
        return features.extract(model, dataset, batch_size, directory, progress=bar.update)
    finally:
        bar.close()


def evaluate(net, dataset, batch_size) -> tuple[float, float]:
    was_training = net.training
    net.eval()
    total_loss, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in DataLoader(dataset, batch_size=batch_size):
            logits = net(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum().item())
            n += len(y)
    net.train(was_training)
    return total_loss / n, correct / n


def _epoch_loader(dataset, args, epoch, drop_last):
    # one generator per epoch: a resumed run replays exactly the same batches
    g = torch.Generator().manual_seed(args.seed * 1_000_003 + epoch)
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)  # per-sample augmentation generators
    return DataLoader(dataset, batch_size=args.batch_size, shuffle=True, generator=g,
                      drop_last=drop_last, num_workers=args.num_workers)


def _trains_batchnorm(net) -> bool:
    return any(isinstance(m, _BatchNorm) and m.training for m in net.modules())


# what must match between a checkpoint and the run that resumes it, with the value assumed
# for checkpoints written before the option existed
_RESUME_ARGS = {"model": None, "num_classes": None, "freeze": None, "seed": None,
                "batch_size": None, "augment": None, "optimizer": "sgd", "scheduler": "none",
                "warmup_epochs": 0.0, "lr_decay": 1.0, "freeze_epochs": 0, "lora_r": 8,
                "lora_alpha": 16.0, "lora_targets": None}
_CHECKPOINT_TYPES = {"model": dict, "optimizer": dict, "epoch": int, "step": int,
                     "metrics": dict, "rng": torch.Tensor, "args": dict, "partial": dict}


def _checkpoint(model, opt, sched, epoch, step, metrics, partial, args, info):
    """The resumable state; ``info`` adds the class names and preprocessing (for predict)."""
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
            "step": step, "metrics": metrics, "rng": torch.get_rng_state(), "partial": partial,
            "scheduler": sched.state_dict() if sched is not None else {},
            "args": {key: getattr(args, key) for key in _RESUME_ARGS}, **info}


def _read_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path``, its structure checked; ValueError naming the file when
    it is missing, unreadable, a weights-only model file or incomplete."""
    if not path.is_file():
        raise FileNotFoundError(f"--resume {path}: no such checkpoint file")
    try:
        ck = torch.load(path)
    except (WeightFileError, OSError, ValueError) as e:
        raise ValueError(f"--resume {path}: unreadable checkpoint ({e})") from None
    if isinstance(ck, dict) and ck and all(isinstance(v, torch.Tensor) for v in ck.values()):
        raise ValueError(f"--resume {path}: this is a model file (weights only, as "
                         "best.safetensors), not a resumable checkpoint; pass --resume auto or "
                         "OUT/checkpoint.safetensors")
    if not isinstance(ck, dict):
        raise ValueError(f"--resume {path}: not a checkpoint (holds a {type(ck).__name__})")
    for key, kind in _CHECKPOINT_TYPES.items():
        if key not in ck:
            raise ValueError(f"--resume {path}: not a complete checkpoint (no {key!r} entry)")
        if not isinstance(ck[key], kind) or (kind is int and isinstance(ck[key], bool)):
            raise ValueError(f"--resume {path}: {key!r} is a {type(ck[key]).__name__}, expected "
                             f"a {kind.__name__}")
    if ck["epoch"] < 0 or ck["step"] < 0:
        raise ValueError(f"--resume {path}: negative epoch or step ({ck['epoch']}, "
                         f"{ck['step']})")
    partial = ck["partial"]
    if set(partial) != {"seen", "correct", "loss_sum"}:
        raise ValueError(f"--resume {path}: 'partial' holds {sorted(partial)}, expected "
                         "seen, correct, loss_sum")
    if not isinstance(ck["metrics"].get("history", []), list):
        raise ValueError(f"--resume {path}: metrics 'history' is not a list")
    return ck


def _check_resume_args(ck, path, args):
    """Refuse to resume with options that would make a different run."""
    saved = ck["args"]
    for key, old_default in _RESUME_ARGS.items():
        if key == "num_classes" and args.num_classes is None:
            continue  # taken from the data; compared once the data is loaded
        if saved.get(key, old_default) != getattr(args, key):
            raise ValueError(f"--resume {path}: the checkpoint was made with "
                             f"--{key.replace('_', '-')} {saved.get(key, old_default)}, this "
                             f"run uses {getattr(args, key)}")
    if ck.get("scheduler") and ck.get("epochs_planned", args.epochs) != args.epochs:
        raise ValueError(f"--resume {path}: its learning-rate schedule spans "
                         f"{ck['epochs_planned']} epochs; resume with --epochs "
                         f"{ck['epochs_planned']}")


def _is_complete(ck, args) -> bool:
    return ck["step"] == 0 and (ck["epoch"] >= args.epochs
                                or bool(ck["metrics"].get("stopped_early")))


def _apply_checkpoint(ck, path, model, opt, sched, args):
    """Load a checked checkpoint into the model, optimizer, scheduler and global generator."""
    _check_resume_args(ck, path, args)
    try:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None and ck.get("scheduler"):
            sched.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["rng"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        message = " ".join(str(e).split())
        raise ValueError(f"--resume {path}: the checkpoint does not fit this run: "
                         f"{message}") from None
    return ck["epoch"], ck["step"], dict(ck["metrics"]), dict(ck["partial"])


class _DeferredInterrupt:
    """Ctrl-C during training is acted on between steps, where the model, optimizer and
    step count agree. A second Ctrl-C ends the process at once with ``os._exit``: raising
    KeyboardInterrupt from the handler instead can land while a Numba dispatcher is in C
    code, which then returns a result with the exception set (SystemError)."""

    def __init__(self, message):
        self.requested = False
        self._previous = None
        self._message = message

    def _handler(self, signum, frame):
        if self.requested:
            try:
                sys.stderr.write(self._message())
                sys.stderr.flush()
            finally:
                os._exit(130)
        self.requested = True

    def install(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def uninstall(self):
        # After a first Ctrl-C the process is on its way out: a second one must still end it
        # with status 130, not with the default handler's KeyboardInterrupt during shutdown.
        if self._previous is not None and not self.requested:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def train(args) -> dict:
    """Run the recipe with ``args.out`` locked against other runs; returns the final
    metrics."""
    out = Path(args.out)
    group = parallel.setup()  # under mpiexec: this rank's place; else the single process
    with group.lock(RunLock, out) as lock:
        if lock.previous_pid is not None:  # released by the kernel when that run died
            print(f"note: {out} was locked by run pid {lock.previous_pid}, which ended without "
                  "unlocking (killed?); taking it over", file=sys.stderr)
        removed = remove_stale_temps(out) if group.is_main else []  # no one else writes here
        if removed:
            print(f"note: removed {len(removed)} temp file(s) of interrupted saves in {out}",
                  file=sys.stderr)
        return _train_locked(args, out, group)


def _train_locked(args, out: Path, group=None) -> dict:
    group = group or parallel.Single()
    t_start = time.perf_counter()
    show = group.is_main and not args.quiet  # bars and notes; epoch lines print unless rank > 0
    resume_path = None
    if args.resume:
        resume_path = out / CHECKPOINT if args.resume == "auto" else Path(args.resume)
        if args.resume == "auto" and not resume_path.exists():
            resume_path = None  # nothing to continue: start afresh
    ck = _read_checkpoint(resume_path) if resume_path else None
    if ck is not None:
        _check_resume_args(ck, resume_path, args)
        if _is_complete(ck, args):
            return _report_complete(ck, resume_path, args, out, group, t_start)
    torch.manual_seed(args.seed)
    if show:
        print(f"loading {args.data} (preprocessing to {args.image_size}x{args.image_size})",
              file=sys.stderr, flush=True)
    splits = load_splits(args.data, args.image_size, augment=args.augment,
                         on_bad_image=args.on_bad_image, train_limit=args.train_limit,
                         test_limit=args.test_limit, seed=args.seed,
                         num_classes=args.num_classes, batch_size=args.batch_size)
    args.num_classes = len(splits.classes)
    info = {"classes": list(splits.classes), "epochs_planned": args.epochs,
            "preprocess": {"image_size": args.image_size, "grayscale": splits.grayscale}}
    model, frozen = build_model(args, args.num_classes)
    trainable, total = count_parameters(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("--freeze left nothing to train")
    plan = methods.unfreezing(model, args)  # --freeze-epochs, else None
    opt = schedule.make_optimizer(args, methods.optimizer_params(model, params, args, plan))

    point = methods.cache_point(model, args)  # the frozen part's last module, if any
    if args.cache_features == "on" and point is None:
        raise ValueError("--cache-features on needs --freeze backbone or MODULE (--method head "
                         "or partial) and no --augment (the frozen part's output must not "
                         "change between epochs)")
    use_cache = point is not None and args.cache_features != "off"
    partial_cache = (methods.PartialCache(model, point)
                     if use_cache and args.method == "partial" else None)
    store = (feature_store.FeatureStore(args.feature_cache, model, point, args)
             if use_cache and args.feature_cache and group.size == 1 else None)
    train_set, test_set, net = splits.train, splits.test, model
    t_feat = 0.0
    if use_cache:
        t0 = time.perf_counter()
        bs = max(args.batch_size, 128)
        for name in ("train", "test"):
            extract = functools.partial(_features, desc=f"features ({name})" if show else None,
                                        directory=out)
            if partial_cache is not None:  # the rest of the model trains on the features
                extract = partial_cache.extract
            if store is not None:  # from an earlier run's extraction when it matches
                extract = store.wrap(extract, name, splits.grayscale)
            cached = group.features(extract, model, getattr(splits, name), bs)
            train_set, test_set = ((cached, test_set) if name == "train"
                                   else (train_set, cached))
        net = partial_cache.net if partial_cache else model.get_submodule(head_name(model))
        t_feat = time.perf_counter() - t0
        if show:
            print(f"features of {len(train_set) + len(test_set)} images computed in "
                  f"{t_feat:.1f} s", file=sys.stderr, flush=True)

    set_train_mode(model, frozen)
    if args.lr_find:
        return methods.lr_find_report(net, train_set, args, out)
    # a trained BatchNorm cannot normalise a batch of one sample: when the split would end
    # on one, that epoch's last (shuffled) sample is left out, as drop_last does
    drop_last = _trains_batchnorm(net) and len(train_set) % args.batch_size == 1
    if drop_last and len(train_set) == 1:
        raise ValueError("the training split has 1 image, too few to train BatchNorm layers "
                         "(batches of one sample); use more images or freeze them")
    per_epoch = schedule.steps_per_epoch(len(train_set), args.batch_size, drop_last)
    sched = schedule.make_scheduler(args, opt, per_epoch)

    start_epoch, skip_steps, metrics = 0, 0, {}
    partial = {"seen": 0, "correct": 0, "loss_sum": 0.0}
    if ck is not None:
        start_epoch, skip_steps, metrics, partial = _apply_checkpoint(ck, resume_path, model,
                                                                      opt, sched, args)
    best = metrics.get("best_acc", -1.0)
    metrics.setdefault("history", [])
    timings = {}

    epoch, done = start_epoch, skip_steps
    net = group.wrap(net)  # DistributedDataParallel under mpiexec

    def save(epoch, step):
        torch.save(_checkpoint(model, opt, sched, epoch, step, metrics, partial, args, info),
                   out / CHECKPOINT)

    def interrupted_inside_step():
        # the model may be half-updated, so the last saved (consistent) checkpoint is kept
        return (f"\ninterrupted inside a training step; the last checkpoint ({out / CHECKPOINT}"
                ", if any) is intact; continue with --resume auto\n")

    interrupt = _DeferredInterrupt(interrupted_inside_step)

    def stop_if_asked():
        if group.any(interrupt.requested):  # all ranks stop at the same step
            if group.is_main:
                save(epoch, done)
            bar.close()
            print(f"\ninterrupted: checkpoint saved to {out / CHECKPOINT} (epoch {epoch + 1}, "
                  f"{done} steps done); continue with --resume auto", file=sys.stderr)
            raise SystemExit(130)

    # one bar over all remaining steps: it advances (and its ETA holds) even when an epoch
    # on cached features takes less than the bar's refresh interval
    bar = tqdm(total=max(0, (args.epochs - start_epoch) * per_epoch - skip_steps),
               desc="training", unit="step", leave=False, disable=not show, file=sys.stderr,
               mininterval=0.5, smoothing=0.1)
    try:
        interrupt.install()
        for epoch in range(start_epoch, args.epochs):
            if plan is not None:  # the phase of gradual unfreezing for this epoch
                frozen = plan.apply(epoch, opt)
            set_train_mode(model, frozen)
            loader = _epoch_loader(train_set, args, epoch, drop_last)
            bar.set_description(f"epoch {epoch + 1}/{args.epochs}", refresh=False)
            resumed = epoch == start_epoch
            done = skip_steps if resumed else 0
            if not resumed:
                partial = {"seen": 0, "correct": 0, "loss_sum": 0.0}
            if not resumed or "epoch_lr" not in metrics:  # kept by a mid-epoch checkpoint
                metrics["epoch_lr"] = opt.param_groups[0]["lr"]  # lr of the epoch's 1st step
            t0, seen_here = time.perf_counter(), 0
            for step, (x, y) in enumerate(loader):
                if resumed and step < skip_steps:
                    continue
                x, y, batch_n = group.shard(x, y)  # this rank's slice of the batch
                logits = net(x)
                loss = group.loss(logits, y, batch_n, args.label_smoothing)  # batch mean
                if args.check_nan and not math.isfinite(loss.item()):
                    raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch + 1} "
                                             f"step {step}; lower --lr or check the data")
                opt.zero_grad()
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                done = step + 1
                seen_here += batch_n
                loss_sum, hits = group.totals(loss, logits, y, batch_n)
                partial = {"seen": partial["seen"] + batch_n,
                           "correct": partial["correct"] + hits,
                           "loss_sum": partial["loss_sum"] + loss_sum}
                bar.set_postfix(loss=f"{partial['loss_sum'] / partial['seen']:.3f}",
                                acc=f"{partial['correct'] / partial['seen']:.3f}",
                                img_s=f"{seen_here / (time.perf_counter() - t0):.0f}",
                                refresh=False)
                bar.update(1)
                stop_if_asked()
            train_s = time.perf_counter() - t0
            test_loss, test_acc = group.evaluate(evaluate, net, test_set, 256)
            seen = partial["seen"]
            train_loss = partial["loss_sum"] / seen if seen else float("nan")
            train_acc = partial["correct"] / seen if seen else float("nan")
            metrics["history"].append({"epoch": epoch + 1, "lr": metrics.pop("epoch_lr"),
                                       "train_loss": train_loss, "train_acc": train_acc,
                                       "test_loss": test_loss, "test_acc": test_acc})
            timings[epoch + 1] = {"epoch_s": round(time.perf_counter() - t0, 4),
                                  "images_per_s": round(seen_here / train_s, 1)
                                  if seen_here and train_s > 0 else None}
            metrics.update(test_acc=test_acc, test_loss=test_loss)
            improved = _improved(metrics, args, epoch + 1, test_loss, test_acc, best)
            if test_acc > best:
                best = test_acc
                metrics.update(best_acc=best, best_epoch=epoch + 1)
            if improved and group.is_main:
                torch.save(model.state_dict(), out / BEST, metadata=recipe_metadata(
                    args.model, splits.classes, args.image_size, splits.grayscale,
                    weights=args.weights, test_acc=f"{test_acc:.4f}",
                    test_loss=f"{test_loss:.6f}", epoch=epoch + 1))
            partial = {"seen": 0, "correct": 0, "loss_sum": 0.0}
            if group.is_main:
                save(epoch + 1, 0)
                records.write_metrics(out, metrics["history"], timings)
            line = (f"epoch {epoch + 1}/{args.epochs}: train loss {train_loss:.4f} "
                    f"acc {train_acc:.2%} | test loss {test_loss:.4f} acc {test_acc:.2%}")
            if group.is_main:
                with bar.external_write_mode():  # the line above the bar, not through it
                    print(line, flush=True)
            epoch, done = epoch + 1, 0  # a stop here resumes at the next epoch
            stop_if_asked()
            if metrics.get("stopped_early"):
                break
    except KeyboardInterrupt:
        print(interrupted_inside_step(), end="", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        interrupt.uninstall()
        bar.close()

    wall = time.perf_counter() - t_start
    result = _result(metrics, args, out, wall, group)
    result.update(trainable_params=trainable, total_params=total, feature_cache_s=t_feat,
                  cached_features=use_cache)
    if not group.is_main:
        return result
    if metrics.get("stopped_early"):
        print(f"early stop: test loss has not improved for {args.early_stop} epochs (best "
              f"{metrics['best_loss']:.4f} at epoch {metrics['best_loss_epoch']})")
    matrix = _confusion(group.unwrap(net), test_set, len(splits.classes))
    _write_final_records(out, metrics, matrix, splits.classes, args, show)
    adapters = methods.save_adapters(model, args, out)
    if adapters:
        result["lora_adapters"] = adapters
        print(f"LoRA adapters and head: {adapters}")
    result["features_from_disk"] = store.hits if store is not None else 0
    print(f"\n{args.model} ({args.weights}), {methods.describe(args)}; trainable parameters "
          f"{trainable:,} of {total:,}")
    print(f"test accuracy {metrics.get('test_acc', float('nan')):.2%} (best "
          f"{metrics.get('best_acc', float('nan')):.2%}), {len(splits.test)} test images; "
          f"wall time {wall:.1f} s"
          + (f" (features cached in {t_feat:.1f} s)" if use_cache else "")
          + (f"; {group.size} processes" if group.size > 1 else ""))
    print(f"checkpoint: {out / CHECKPOINT}; best model: {out / BEST}")
    return result


def _improved(metrics, args, epoch, test_loss, test_acc, best_acc) -> bool:
    """Whether this epoch's model becomes best.safetensors: lowest test loss under
    --early-stop (which also counts the epochs without improvement), else best accuracy."""
    if args.early_stop is None:
        return test_acc > best_acc
    if test_loss < metrics.get("best_loss", math.inf):
        metrics.update(best_loss=test_loss, best_loss_epoch=epoch)
        return True
    if epoch - metrics["best_loss_epoch"] >= args.early_stop:
        metrics["stopped_early"] = True
    return False


def _confusion(net, test_set, num_classes):
    """The test confusion matrix of ``net`` (rows: true class)."""
    was_training = net.training
    net.eval()
    predicted, target = [], []
    with torch.no_grad():
        for x, y in DataLoader(test_set, batch_size=256):
            predicted.append(net(x).argmax(1).numpy())
            target.append(y.numpy())
    net.train(was_training)
    return records.confusion_matrix(np.concatenate(predicted), np.concatenate(target),
                                    num_classes)


def _write_final_records(out, metrics, matrix, classes, args, show):
    """Per-class accuracy (printed), confusion.json and, with matplotlib, the plots."""
    print("accuracy per class on the test images (final model):")
    print("\n".join(records.per_class_lines(matrix, classes)))
    records.write_confusion(out, matrix, classes)
    rows = records.read_rows(out)
    if not plots.available():
        print(f"plots: matplotlib is not installed ({plots.INSTALL_HINT}); metrics are in "
              f"{out / records.JSONL} and {out / records.CSV}")
        return
    title = f"{args.model}, {len(classes)} classes"
    plots.curves(rows, out / "curves.png", title)
    plots.confusion(matrix, classes, out / "confusion.png",
                    f"test confusion matrix, accuracy {metrics.get('test_acc', 0):.2%}")
    if show:
        print(f"records: {out / records.JSONL}, {out / records.CSV}, {out / 'curves.png'}, "
              f"{out / 'confusion.png'}")


def _result(metrics, args, out, wall, group) -> dict:
    return {"test_acc": metrics.get("test_acc"), "best_acc": metrics.get("best_acc"),
            "wall_time_s": wall, "checkpoint": str(out / CHECKPOINT),
            "best_model": str(out / BEST), "history": metrics["history"],
            "processes": group.size, "stopped_early": bool(metrics.get("stopped_early"))}


def _report_complete(ck, path, args, out, group, t_start) -> dict:
    """A finished run's summary, without loading data or model."""
    metrics = dict(ck["metrics"])
    metrics.setdefault("history", [])
    if group.is_main:
        how = (f"stopped early at epoch {ck['epoch']}" if metrics.get("stopped_early")
               else f"{ck['epoch']} of {args.epochs} epochs done")
        print(f"run complete: {path} ({how}); test accuracy "
              f"{metrics.get('test_acc', float('nan')):.2%} (best "
              f"{metrics.get('best_acc', float('nan')):.2%}); nothing to train. Raise --epochs "
              "to train further.")
    result = _result(metrics, args, out, time.perf_counter() - t_start, group)
    result.update(complete=True, cached_features=False, feature_cache_s=0.0)
    return result


def main(argv=None):
    """Command line: errors the user can fix end the run with one line and status 2."""
    args = parse_args(argv)
    try:
        train(args)
    except (ValueError, OSError, KeyError, RuntimeError, FloatingPointError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)  # KeyError quotes
        message = " ".join(str(text).split())  # one line, as argparse's errors
        print(f"{PROG}: error: {message}", file=sys.stderr)
        parallel.abort_others(2)  # under mpiexec the other ranks would wait for this one
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
