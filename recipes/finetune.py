"""Fine-tune a pretrained image classifier: load weights, freeze the backbone, replace the
head, train with SGD + momentum, evaluate every epoch, checkpoint atomically.

    python -m recipes.finetune            # MobileNetV2 (ImageNet) on bundled Fashion-MNIST
    python -m recipes.finetune --model resnet18 --weights resnet18.safetensors \\
        --data path/to/imagefolder --freeze layer3 --epochs 10
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import nanotorch as torch
from nanotorch import models, nn
from nanotorch.nn import functional as F
from nanotorch.utils.data import DataLoader, TensorDataset
from nanotorch.utils.finetune import count_parameters, freeze, head_name, replace_head

from .data import DEFAULT_DATA, load_splits

CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m recipes.finetune",
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
    p.add_argument("--batch-size", type=int, default=64)
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
    for name in ("epochs", "batch_size", "image_size"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.lr <= 0:
        p.error(f"--lr must be positive, got {args.lr}")
    return args


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


def _epoch_loader(dataset, args, epoch):
    # one generator per epoch: a resumed run replays exactly the same batches
    g = torch.Generator().manual_seed(args.seed * 1_000_003 + epoch)
    return DataLoader(dataset, batch_size=args.batch_size, shuffle=True, generator=g)


def _checkpoint(model, opt, epoch, step, metrics, args):
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
            "step": step, "metrics": metrics, "rng": torch.get_rng_state(),
            "args": {"model": args.model, "num_classes": args.num_classes,
                     "freeze": args.freeze, "seed": args.seed}}


def _load_checkpoint(path, model, opt, args):
    ck = torch.load(path)
    saved = ck.get("args", {})
    for key in ("model", "num_classes", "freeze"):
        if saved.get(key) != getattr(args, key):
            raise ValueError(f"--resume {path}: the checkpoint was made with --{key.replace('_', '-')} "
                             f"{saved.get(key)}, this run uses {getattr(args, key)}")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["rng"])
    return int(ck["epoch"]), int(ck["step"]), dict(ck.get("metrics", {}))


class _DeferredInterrupt:
    """Ctrl-C during training is acted on between steps, where the model, optimizer and
    step count agree; a second Ctrl-C interrupts at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def install(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def uninstall(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def train(args) -> dict:
    """Run the recipe; returns the final metrics."""
    t_start = time.perf_counter()
    torch.manual_seed(args.seed)
    splits = load_splits(args.data, args.image_size, augment=args.augment,
                         on_bad_image=args.on_bad_image, train_limit=args.train_limit,
                         test_limit=args.test_limit, seed=args.seed)
    labels = splits.test.tensors[1]
    args.num_classes = args.num_classes or len(splits.classes)
    if int(labels.max().item()) >= args.num_classes:
        raise ValueError(f"--num-classes {args.num_classes} is too small: the data has label "
                         f"{int(labels.max().item())}")
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
        train_set = _features(model, train_set, max(args.batch_size, 128))
        test_set = _features(model, test_set, max(args.batch_size, 128))
        net = model.get_submodule(head_name(model))
        t_feat = time.perf_counter() - t0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start_epoch, skip_steps, metrics = 0, 0, {}
    if args.resume:
        path = out / CHECKPOINT if args.resume == "auto" else Path(args.resume)
        if path.exists() or args.resume != "auto":
            start_epoch, skip_steps, metrics = _load_checkpoint(path, model, opt, args)
    best = metrics.get("best_acc", -1.0)
    metrics.setdefault("history", [])

    epoch, done = start_epoch, skip_steps
    interrupt = _DeferredInterrupt()

    def stop_if_asked():
        if interrupt.requested:
            torch.save(_checkpoint(model, opt, epoch, done, metrics, args), out / CHECKPOINT)
            print(f"\ninterrupted: checkpoint saved to {out / CHECKPOINT} (epoch {epoch + 1}, "
                  f"{done} steps done); continue with --resume auto", file=sys.stderr)
            raise SystemExit(130)

    try:
        interrupt.install()
        for epoch in range(start_epoch, args.epochs):
            set_train_mode(model, frozen)
            loader = _epoch_loader(train_set, args, epoch)
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                       disable=args.quiet, file=sys.stderr, mininterval=0.5)
            seen = correct = 0
            done = skip_steps if epoch == start_epoch else 0
            loss_sum = 0.0
            t0 = time.perf_counter()
            for step, (x, y) in enumerate(bar):
                if epoch == start_epoch and step < skip_steps:
                    continue
                logits = net(x)
                loss = F.cross_entropy(logits, y)
                if args.check_nan and not math.isfinite(loss.item()):
                    raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch + 1} "
                                             f"step {step}; lower --lr or check the data")
                opt.zero_grad()
                loss.backward()
                opt.step()
                done = step + 1
                seen += len(y)
                loss_sum += loss.item() * len(y)
                correct += int((logits.argmax(1) == y).sum().item())
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                                img_s=f"{seen / (time.perf_counter() - t0):.0f}")
                stop_if_asked()
            test_loss, test_acc = evaluate(net, test_set, 256)
            train_acc = correct / seen if seen else float("nan")
            metrics["history"].append({"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1),
                                       "train_acc": train_acc, "test_loss": test_loss,
                                       "test_acc": test_acc})
            metrics.update(test_acc=test_acc, test_loss=test_loss)
            if test_acc > best:
                best = test_acc
                metrics.update(best_acc=best, best_epoch=epoch + 1)
                torch.save(model.state_dict(), out / BEST,
                           metadata={"model": args.model, "num_classes": str(args.num_classes),
                                     "test_acc": f"{test_acc:.4f}", "epoch": str(epoch + 1)})
            torch.save(_checkpoint(model, opt, epoch + 1, 0, metrics, args), out / CHECKPOINT)
            if not args.quiet:
                print(f"epoch {epoch + 1}/{args.epochs}: train loss {loss_sum / max(seen, 1):.4f} "
                      f"acc {train_acc:.2%} | test loss {test_loss:.4f} acc {test_acc:.2%}",
                      flush=True)
            epoch, done = epoch + 1, 0  # a stop here resumes at the next epoch
            stop_if_asked()
    except KeyboardInterrupt:
        # interrupted inside a step: the model may be half-updated, so the last saved
        # (consistent) checkpoint is kept as it is
        print(f"\ninterrupted inside a training step; the last checkpoint ({out / CHECKPOINT}"
              ", if any) is intact; continue with --resume auto", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        interrupt.uninstall()

    wall = time.perf_counter() - t_start
    result = {"trainable_params": trainable, "total_params": total,
              "test_acc": metrics.get("test_acc"), "best_acc": metrics.get("best_acc"),
              "wall_time_s": wall, "feature_cache_s": t_feat, "cached_features": use_cache,
              "checkpoint": str(out / CHECKPOINT), "best_model": str(out / BEST)}
    print(f"\n{args.model} ({args.weights}), frozen: {args.freeze}; trainable parameters "
          f"{trainable:,} of {total:,}")
    print(f"test accuracy {metrics.get('test_acc', float('nan')):.2%} (best "
          f"{metrics.get('best_acc', float('nan')):.2%}), {len(splits.test)} test images; "
          f"wall time {wall:.1f} s" + (f" (features cached in {t_feat:.1f} s)" if use_cache else ""))
    print(f"checkpoint: {out / CHECKPOINT}; best model: {out / BEST}")
    return result


def main(argv=None):
    train(parse_args(argv))


if __name__ == "__main__":
    main()
