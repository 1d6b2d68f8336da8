"""Fine-tune a pretrained image classifier: load weights, freeze the backbone, replace the
head, train with SGD + momentum, evaluate every epoch, checkpoint atomically.

    python -m recipes.finetune            # MobileNetV2 (ImageNet) on bundled Fashion-MNIST
    python -m recipes.finetune --model resnet18 --weights resnet18.safetensors \\
        --data path/to/imagefolder --freeze layer3 --epochs 10
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

from tqdm import tqdm

import nanotorch as torch
from nanotorch import models
from nanotorch.io import WeightFileError
from nanotorch.io.atomic import remove_stale_temps
from nanotorch.nn import functional as F
from nanotorch.nn.modules.batchnorm import _BatchNorm
from nanotorch.utils.data import DataLoader, TensorDataset
from nanotorch.utils.finetune import count_parameters, freeze, head_name, replace_head

from . import parallel
from .data import DEFAULT_DATA, load_splits
from .lock import RunLock

CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"
PROG = "python -m recipes.finetune"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG,
                                description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mobilenet_v2", choices=models.list_models())
    p.add_argument("--weights", default="IMAGENET1K_V1",
                   help="weight-set name (IMAGENET1K_V1, DEFAULT), a .safetensors/.pth file, "
                        "or 'none' for random init")
    p.add_argument("--data", default=str(DEFAULT_DATA),
                   help=".npz file, folder of MNIST-style IDX files, or ImageFolder tree "
                        "(with train/ and test|val/ sub-folders, or split 80/20)")
    p.add_argument("--num-classes", type=int, default=None, help="default: from the data")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--freeze", default="backbone",
                   help="'backbone' (all but the head), 'none', or a module name such as "
                        "layer3 / features.10 (that module and all before it)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64,
                   help="images per step in all (under mpiexec -n N, split across the N ranks)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/finetune", help="checkpoint folder")
    p.add_argument("--resume", default=None,
                   help="checkpoint to continue from ('auto': OUT/checkpoint.safetensors)")
    p.add_argument("--cache-features", choices=["auto", "on", "off"], default="auto",
                   help="compute a frozen backbone's features once (default: when valid)")
    p.add_argument("--augment", action="store_true", help="random crop + horizontal flip")
    p.add_argument("--train-limit", type=int, default=None, help="use the first N images")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--on-bad-image", choices=["raise", "skip"], default="raise",
                   help="unreadable image files: stop with an error, or skip and report")
    p.add_argument("--check-nan", action="store_true", help="stop when the loss is not finite")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    problem = _check_numbers(args)
    if problem:
        p.error(problem)
    return args


def _check_numbers(args) -> str | None:
    """The first out-of-range numeric argument, described, or None."""
    for name in ("epochs", "batch_size", "image_size", "train_limit", "test_limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be at least 1, got {value}"
    if args.num_classes is not None and args.num_classes < 1:
        return (f"--num-classes must be at least 1, got {args.num_classes} (leave it out to "
                "take the number of classes from the data)")
    for name, positive in (("lr", True), ("momentum", False), ("weight_decay", False)):
        value = getattr(args, name)
        flag = f"--{name.replace('_', '-')}"
        if not math.isfinite(value):
            return f"{flag} must be a finite number, got {value}"
        if value < 0 or (positive and value == 0):
            return f"{flag} must be {'positive' if positive else 'non-negative'}, got {value}"
    return None


def build_model(args, num_classes: int):
    """The pretrained model with a new head and the requested part frozen."""
    weights = None if args.weights.lower() == "none" else args.weights
    model = models.get_model(args.model, weights=weights)
    replace_head(model, num_classes)
    frozen = freeze(model, args.freeze)
    return model, frozen


def set_train_mode(model, frozen):
    model.train()
    for m in frozen:
        m.eval()


def _features(model, dataset, batch_size):
    """Inputs of the head for every sample, computed once with the frozen part in eval."""
    head = model.get_submodule(head_name(model))
    captured = []
    handle = head.register_forward_pre_hook(lambda m, inputs: captured.append(inputs[0]))
    images, labels = dataset.tensors
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                model(images[start:start + batch_size])
    finally:
        handle.remove()
    return TensorDataset(torch.cat(captured).contiguous(), labels)


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
                      drop_last=drop_last)


def _trains_batchnorm(net) -> bool:
    return any(isinstance(m, _BatchNorm) and m.training for m in net.modules())


# what must match between a checkpoint and the run that resumes it
_RESUME_ARGS = ("model", "num_classes", "freeze", "seed", "batch_size", "augment")
_CHECKPOINT_TYPES = {"model": dict, "optimizer": dict, "epoch": int, "step": int,
                     "metrics": dict, "rng": torch.Tensor, "args": dict, "partial": dict}


def _checkpoint(model, opt, epoch, step, metrics, partial, args):
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
            "step": step, "metrics": metrics, "rng": torch.get_rng_state(), "partial": partial,
            "args": {key: getattr(args, key) for key in _RESUME_ARGS}}


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


def _apply_checkpoint(ck, path, model, opt, args):
    """Load a checked checkpoint into the model, optimizer and global generator."""
    saved = ck["args"]
    for key in _RESUME_ARGS:
        if saved.get(key) != getattr(args, key):
            raise ValueError(f"--resume {path}: the checkpoint was made with "
                             f"--{key.replace('_', '-')} {saved.get(key)}, this run uses "
                             f"{getattr(args, key)}")
    try:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
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
    resume_path = None
    if args.resume:
        resume_path = out / CHECKPOINT if args.resume == "auto" else Path(args.resume)
        if args.resume == "auto" and not resume_path.exists():
            resume_path = None  # nothing to continue: start afresh
    ck = _read_checkpoint(resume_path) if resume_path else None
    torch.manual_seed(args.seed)
    splits = load_splits(args.data, args.image_size, augment=args.augment,
                         on_bad_image=args.on_bad_image, train_limit=args.train_limit,
                         test_limit=args.test_limit, seed=args.seed,
                         num_classes=args.num_classes, batch_size=args.batch_size)
    args.num_classes = len(splits.classes)
    model, frozen = build_model(args, args.num_classes)
    trainable, total = count_parameters(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("--freeze left nothing to train")
    opt = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum,
                          weight_decay=args.weight_decay)

    cache_ok = args.freeze == "backbone" and not args.augment
    if args.cache_features == "on" and not cache_ok:
        raise ValueError("--cache-features on needs --freeze backbone and no --augment (the "
                         "backbone's output must not change between epochs)")
    use_cache = cache_ok and args.cache_features != "off"
    train_set, test_set, net = splits.train, splits.test, model
    t_feat = 0.0
    if use_cache:
        t0 = time.perf_counter()
        train_set = group.features(_features, model, train_set, max(args.batch_size, 128))
        test_set = group.features(_features, model, test_set, max(args.batch_size, 128))
        net = model.get_submodule(head_name(model))
        t_feat = time.perf_counter() - t0

    set_train_mode(model, frozen)
    # a trained BatchNorm cannot normalise a batch of one sample: when the split would end
    # on one, that epoch's last (shuffled) sample is left out, as drop_last does
    drop_last = _trains_batchnorm(net) and len(train_set) % args.batch_size == 1
    if drop_last and len(train_set) == 1:
        raise ValueError("the training split has 1 image, too few to train BatchNorm layers "
                         "(batches of one sample); use more images or freeze them")

    start_epoch, skip_steps, metrics = 0, 0, {}
    partial = {"seen": 0, "correct": 0, "loss_sum": 0.0}
    if ck is not None:
        start_epoch, skip_steps, metrics, partial = _apply_checkpoint(ck, resume_path, model,
                                                                      opt, args)
    best = metrics.get("best_acc", -1.0)
    metrics.setdefault("history", [])

    epoch, done = start_epoch, skip_steps
    net = group.wrap(net)  # DistributedDataParallel under mpiexec

    def interrupted_inside_step():
        # the model may be half-updated, so the last saved (consistent) checkpoint is kept
        return (f"\ninterrupted inside a training step; the last checkpoint ({out / CHECKPOINT}"
                ", if any) is intact; continue with --resume auto\n")

    interrupt = _DeferredInterrupt(interrupted_inside_step)

    def stop_if_asked():
        if group.any(interrupt.requested):  # all ranks stop at the same step
            if group.is_main:
                torch.save(_checkpoint(model, opt, epoch, done, metrics, partial, args),
                           out / CHECKPOINT)
            print(f"\ninterrupted: checkpoint saved to {out / CHECKPOINT} (epoch {epoch + 1}, "
                  f"{done} steps done); continue with --resume auto", file=sys.stderr)
            raise SystemExit(130)

    try:
        interrupt.install()
        for epoch in range(start_epoch, args.epochs):
            set_train_mode(model, frozen)
            loader = _epoch_loader(train_set, args, epoch, drop_last)
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                       disable=args.quiet or not group.is_main, file=sys.stderr,
                       mininterval=0.5)
            resumed = epoch == start_epoch
            done = skip_steps if resumed else 0
            if not resumed:
                partial = {"seen": 0, "correct": 0, "loss_sum": 0.0}
            t0, seen_here = time.perf_counter(), 0
            for step, (x, y) in enumerate(bar):
                if resumed and step < skip_steps:
                    continue
                x, y, batch_n = group.shard(x, y)  # this rank's slice of the batch
                logits = net(x)
                loss = group.loss(logits, y, batch_n)  # mean cross-entropy of the batch
                if args.check_nan and not math.isfinite(loss.item()):
                    raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch + 1} "
                                             f"step {step}; lower --lr or check the data")
                opt.zero_grad()
                loss.backward()
                opt.step()
                done = step + 1
                seen_here += batch_n
                loss_sum, hits = group.totals(loss, logits, y, batch_n)
                partial = {"seen": partial["seen"] + batch_n,
                           "correct": partial["correct"] + hits,
                           "loss_sum": partial["loss_sum"] + loss_sum}
                bar.set_postfix(loss=f"{partial['loss_sum'] / partial['seen']:.3f}",
                                acc=f"{partial['correct'] / partial['seen']:.3f}",
                                img_s=f"{seen_here / (time.perf_counter() - t0):.0f}")
                stop_if_asked()
            test_loss, test_acc = group.evaluate(evaluate, net, test_set, 256)
            seen = partial["seen"]
            train_loss = partial["loss_sum"] / seen if seen else float("nan")
            train_acc = partial["correct"] / seen if seen else float("nan")
            metrics["history"].append({"epoch": epoch + 1, "train_loss": train_loss,
                                       "train_acc": train_acc, "test_loss": test_loss,
                                       "test_acc": test_acc})
            metrics.update(test_acc=test_acc, test_loss=test_loss)
            if test_acc > best:
                best = test_acc
                metrics.update(best_acc=best, best_epoch=epoch + 1)
                if group.is_main:
                    torch.save(model.state_dict(), out / BEST,
                               metadata={"model": args.model,
                                         "num_classes": str(args.num_classes),
                                         "test_acc": f"{test_acc:.4f}", "epoch": str(epoch + 1)})
            partial = {"seen": 0, "correct": 0, "loss_sum": 0.0}
            if group.is_main:
                torch.save(_checkpoint(model, opt, epoch + 1, 0, metrics, partial, args),
                           out / CHECKPOINT)
            if not args.quiet and group.is_main:
                print(f"epoch {epoch + 1}/{args.epochs}: train loss {train_loss:.4f} "
                      f"acc {train_acc:.2%} | test loss {test_loss:.4f} acc {test_acc:.2%}",
                      flush=True)
            epoch, done = epoch + 1, 0  # a stop here resumes at the next epoch
            stop_if_asked()
    except KeyboardInterrupt:
        print(interrupted_inside_step(), end="", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        interrupt.uninstall()

    wall = time.perf_counter() - t_start
    result = {"trainable_params": trainable, "total_params": total,
              "test_acc": metrics.get("test_acc"), "best_acc": metrics.get("best_acc"),
              "wall_time_s": wall, "feature_cache_s": t_feat, "cached_features": use_cache,
              "checkpoint": str(out / CHECKPOINT), "best_model": str(out / BEST),
              "history": metrics["history"], "processes": group.size}
    if not group.is_main:
        return result
    print(f"\n{args.model} ({args.weights}), frozen: {args.freeze}; trainable parameters "
          f"{trainable:,} of {total:,}")
    print(f"test accuracy {metrics.get('test_acc', float('nan')):.2%} (best "
          f"{metrics.get('best_acc', float('nan')):.2%}), {len(splits.test)} test images; "
          f"wall time {wall:.1f} s"
          + (f" (features cached in {t_feat:.1f} s)" if use_cache else "")
          + (f"; {group.size} processes" if group.size > 1 else ""))
    print(f"checkpoint: {out / CHECKPOINT}; best model: {out / BEST}")
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
