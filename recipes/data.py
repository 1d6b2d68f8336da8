"""Datasets for the fine-tuning recipe: an ``.npz`` file, a folder of IDX files
(MNIST/Fashion-MNIST) or an ImageFolder tree, preprocessed for ImageNet models."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nanotorch as torch
from nanotorch.utils.data import Dataset, TensorDataset, random_split
from nanotorch.vision import datasets as vds
from nanotorch.vision import transforms as T

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "fashion_mnist_small.npz"


@dataclass
class Splits:
    train: Dataset
    test: Dataset
    classes: list
    augmented: bool


class _Transformed(Dataset):
    """Applies ``transform`` to the images of a dataset of (image, label) pairs."""

    def __init__(self, base, transform):
        self.base, self.transform = base, transform

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        image, label = self.base[i]
        return self.transform(image), label


def _raw_splits(path: Path, on_bad_image: str, seed: int):
    """(train, test, classes) datasets yielding (PIL image or uint8 array, label)."""
    if path.suffix == ".npz":
        train = vds.NpzImageDataset(path, split="train")
        test = vds.NpzImageDataset(path, split="test")
        return train, test, list(train.classes) if train.classes is not None else None
    if not path.is_dir():
        raise FileNotFoundError(f"--data {path}: no such .npz file or folder")
    names = {p.name for p in path.iterdir()}
    if any(n.startswith("train-images-idx3-ubyte") for n in names) or (path / "raw").is_dir():
        cls = vds.FashionMNIST if "fashion" in str(path).lower() else vds.MNIST
        train, test = cls(path, train=True), cls(path, train=False)
        return train, test, list(train.classes)
    for test_name in ("test", "val", "valid", "validation"):
        if "train" in names and test_name in names:
            train = vds.ImageFolder(path / "train", on_error=on_bad_image)
            test = vds.ImageFolder(path / test_name, on_error=on_bad_image)
            if train.classes != test.classes:
                raise ValueError(f"class folders differ between {path / 'train'} "
                                 f"({train.classes}) and {path / test_name} ({test.classes})")
            return train, test, train.classes
    full = vds.ImageFolder(path, on_error=on_bad_image)
    n_test = max(1, len(full) // 5)
    train, test = random_split(full, [len(full) - n_test, n_test],
                               generator=torch.Generator().manual_seed(seed))
    return train, test, full.classes


def _limit(ds, n):
    if n is None or n >= len(ds):
        return ds
    from nanotorch.utils.data import Subset
    return Subset(ds, list(range(n)))


def _stack(ds, transform) -> TensorDataset:
    """Preprocess every sample once into one image tensor and one label tensor."""
    if len(ds) == 0:
        raise ValueError("the dataset is empty")
    images = np.empty((len(ds),) + tuple(transform(ds[0][0]).shape), dtype=np.float32)
    labels = np.empty(len(ds), dtype=np.int64)
    for i in range(len(ds)):
        image, label = ds[i]
        images[i] = np.asarray(transform(image))
        labels[i] = int(label)
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))


def load_splits(path, image_size: int, augment: bool = False, on_bad_image: str = "raise",
                train_limit: int | None = None, test_limit: int | None = None,
                seed: int = 0) -> Splits:
    """Train/test datasets of (normalised 3xSxS float tensor, int64 label). Without
    augmentation every image is preprocessed once up front."""
    train, test, classes = _raw_splits(Path(path), on_bad_image, seed)
    train, test = _limit(train, train_limit), _limit(test, test_limit)
    resize = T.Resize((image_size, image_size))
    finish = T.Compose([T.Grayscale(3) if _is_gray(train) else T.Lambda(_rgb), T.ToTensor(),
                        T.imagenet_normalize()])
    test_set = _stack(test, T.Compose([resize, finish]))
    if augment:
        pad = max(1, image_size // 8)
        train_set = _Transformed(train, T.Compose([
            resize, T.RandomCrop(image_size, padding=pad), T.RandomHorizontalFlip(), finish]))
    else:
        train_set = _stack(train, T.Compose([resize, finish]))
    if classes is None:
        classes = [str(c) for c in range(int(test_set.tensors[1].max().item()) + 1)]
    return Splits(train_set, test_set, classes, augment)


def _is_gray(ds) -> bool:
    image = ds[0][0]
    if isinstance(image, np.ndarray):
        return image.ndim == 2 or image.shape[-1] == 1
    return getattr(image, "mode", "RGB") in ("L", "1", "I", "F")


def _rgb(image):
    if isinstance(image, np.ndarray) or getattr(image, "mode", "RGB") == "RGB":
        return image
    return image.convert("RGB")
