"""The default fine-tuning recipe (``recipes/finetune.py``) written as a plain PyTorch loop,
the way a tutorial would: no feature caching, the frozen backbone runs on every batch of
every epoch. It takes the recipe's own argparse options, so both sides train with the same
hyperparameters, data, preprocessing, pretrained weights, frozen-module modes and
per-epoch evaluation. ``torch`` is passed in: this module imports without PyTorch."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

# ImageNet channel statistics, as the recipe's T.imagenet_normalize() uses
MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)

_HEADS = {"mobilenet_v2": "classifier", "resnet18": "fc"}


def preprocess(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W) grayscale images -> float32 (N, 3, size, size): bilinear resize with
    Pillow, scale to [0, 1], copy the gray channel to 3, normalise with ImageNet stats
    (the recipe's Resize -> Grayscale(3) -> ToTensor -> Normalize)."""
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"expected uint8 (N, H, W) grayscale images, got {images.dtype} "
                         f"{images.shape}")
    out = np.empty((len(images), 3, size, size), np.float32)
    for i, img in enumerate(images):
        small = np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR))
        out[i] = small.astype(np.float32) * np.float32(1.0 / 255.0)  # broadcast to 3 channels
    out -= MEAN
    out /= STD
    return out


def load_data(path, size: int, train_limit=None, test_limit=None):
    """(x_train, y_train, x_test, y_test, number of classes) from the recipe's .npz file."""
    with np.load(path, allow_pickle=False) as f:
        x_train, y_train = f["x_train"][:train_limit], f["y_train"][:train_limit]
        x_test, y_test = f["x_test"][:test_limit], f["y_test"][:test_limit]
        classes = len(f["classes"]) if "classes" in f.files else int(y_train.max()) + 1
    return (preprocess(x_train, size), y_train.astype(np.int64),
            preprocess(x_test, size), y_test.astype(np.int64), classes)


def weight_file(model_name: str, weights: str) -> Path | None:
    """The file the recipe would load for ``--weights`` (found by nanotorch's lookup)."""
    if weights.lower() == "none":
        return None
    from nanotorch import models
    from nanotorch.models._weights import resolve
    enums = {"mobilenet_v2": models.MobileNet_V2_Weights, "resnet18": models.ResNet18_Weights}
    return resolve(enums[model_name], weights, False)[1]


def build_model(torch, model_name: str, weights: str, num_classes: int):
    """Pretrained torch model, every parameter frozen, then a new trainable head."""
    from benchmarks.torch_models import build
    model = build(model_name, torch)
    path = weight_file(model_name, weights)
    if path is not None:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    for p in model.parameters():
        p.requires_grad = False
    if _HEADS[model_name] == "fc":
        model.fc = head = torch.nn.Linear(model.fc.in_features, num_classes)
    else:
        head = torch.nn.Linear(model.classifier[-1].in_features, num_classes)
        model.classifier[-1] = head
    return model, head


def set_train_mode(model, head):
    """Train mode for the head only: the frozen backbone's BatchNorm keeps its ImageNet
    statistics and the frozen Dropout before the head is off, as in the recipe."""
    model.eval()
    head.train()


def evaluate(torch, model, loader):
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total_loss += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum().item())
            n += len(y)
    return total_loss / n, correct / n


def train(torch, args) -> dict:
    """Run the recipe described by ``args`` (from ``recipes.finetune.parse_args``) in
    PyTorch; returns the final metrics like ``recipes.finetune.train``."""
    if args.freeze != "backbone" or args.augment or args.model not in _HEADS \
            or not str(args.data).endswith(".npz"):
        raise ValueError("the PyTorch loop covers the default recipe only: --freeze backbone, "
                         f"no --augment, an .npz file, a model in {list(_HEADS)}")
    t_start = time.perf_counter()
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test, classes = load_data(args.data, args.image_size,
                                                          args.train_limit, args.test_limit)
    model, head = build_model(torch, args.model, args.weights, args.num_classes or classes)
    data = torch.utils.data
    train_loader = data.DataLoader(
        data.TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
        batch_size=args.batch_size, shuffle=True)
    test_loader = data.DataLoader(
        data.TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test)), batch_size=256)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                          momentum=args.momentum, weight_decay=args.weight_decay)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    best, history = -1.0, []
    for epoch in range(args.epochs):
        set_train_mode(model, head)
        seen = correct = 0
        loss_sum = 0.0
        for x, y in train_loader:
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum().item())
        test_loss, test_acc = evaluate(torch, model, test_loader)
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen,
                        "train_acc": correct / seen, "test_loss": test_loss,
                        "test_acc": test_acc})
        if test_acc > best:
            best = test_acc
            torch.save(model.state_dict(), out / "best.pt")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "epoch": epoch + 1, "history": history}, out / "checkpoint.pt")
    return {"test_acc": history[-1]["test_acc"], "best_acc": best, "history": history,
            "wall_time_s": time.perf_counter() - t_start, "cached_features": False}
