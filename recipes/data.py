"""Datasets for the fine-tuning recipe: an ``.npz`` file, a folder of IDX files
(MNIST/Fashion-MNIST) or an ImageFolder tree, preprocessed for ImageNet models."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nanotorch as torch
from nanotorch.utils.data import Dataset, Subset, random_split
from nanotorch.vision import datasets as vds
from nanotorch.vision import transforms as T

from .features import MEMORY_BUDGET
from .memory import check_fits, estimate_bytes
from .stream import Preprocessed

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "fashion_mnist_small.npz"


@dataclass
class Splits:
    train: Dataset
    test: Dataset
    classes: list
    augmented: bool
    grayscale: bool = False  # grey source images, replicated to 3 channels


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one sample's augmentation in one epoch."""
    digest = hashlib.blake2b(f"{seed},{epoch},{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class _Augmented(Dataset):
    """Random crop (zero padding of 1/8 of the size) and horizontal flip of each image.

    Sample ``i`` in epoch ``e`` draws from its own generator seeded by (seed, e, i), so its
    augmentation does not depend on batch order or on where a run was stopped and resumed.
    Call ``set_epoch`` before each epoch."""

    def __init__(self, base, image_size, resize, finish, seed):
        self.base, self.image_size, self.seed, self.epoch = base, image_size, seed, 0
        self.resize, self.finish = resize, finish
        self._generator = torch.Generator()  # reseeded for every sample

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        image, label = self.base[i]
        _check_size(image, self.base, i)
        g = self._generator.manual_seed(sample_seed(self.seed, self.epoch, i))
        pad = max(1, self.image_size // 8)
        augment = T.Compose([self.resize, T.RandomCrop(self.image_size, padding=pad, generator=g),
                             T.RandomHorizontalFlip(generator=g), self.finish])
        return augment(image), label


def _raw_splits(path: Path, on_bad_image: str, seed: int, num_classes: int | None):
    """(train, test, classes) datasets yielding (PIL image or uint8 array, label)."""
    if path.suffix == ".npz":
        _check_npz_labels(path, num_classes)
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
    return Subset(ds, list(range(n)))


def _npz_label_arrays(path: Path):
    """The label arrays ({split: array}) and the class names (or None) of an .npz, read
    without its images."""
    with np.load(path, allow_pickle=False) as f:
        labels = {k[2:]: f[k] for k in f.files if k.startswith("y_")}
        classes = f["classes"].reshape(-1) if "classes" in f.files else None
    return labels, classes


def _check_npz_labels(path: Path, num_classes: int | None) -> None:
    """Labels of every split must be integers in [0, number of classes); without a
    ``classes`` array or ``num_classes`` they must be dense (0..K-1 all used)."""
    if not path.is_file():
        return  # the dataset reader names the missing file
    try:
        labels, classes = _npz_label_arrays(path)
    except Exception:  # noqa: BLE001 - a damaged archive: the dataset reader explains it
        return
    for split, y in labels.items():
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"--data {path}: 'y_{split}' must be a 1-D integer array, got "
                             f"shape {y.shape} dtype {y.dtype}")
    present = [y for y in labels.values() if y.size]
    if not present:
        return
    if num_classes is None and classes is None:
        distinct = np.unique(np.concatenate(present))
        if distinct[0] >= 0 and distinct[-1] != len(distinct) - 1:
            raise ValueError(
                f"--data {path}: label {int(distinct[-1])} but only {len(distinct)} distinct "
                "labels; sparse labels need a 'classes' array in the .npz or an explicit "
                "--num-classes (labels must be integers in [0, num_classes))")
        num_classes, source = int(distinct[-1]) + 1, "the labels"
    elif num_classes is None:
        num_classes, source = len(classes), "its 'classes' array"
    else:
        source = "--num-classes"
    for split, y in labels.items():
        bad = y[(y < 0) | (y >= num_classes)]
        if bad.size:
            raise ValueError(f"--data {path}: label {int(bad[0])} in 'y_{split}' is out of range "
                             f"for {num_classes} classes (from {source}); labels must be "
                             f"integers in [0, {num_classes})")


def _check_labels(name: str, ds, num_classes: int) -> None:
    targets = _targets(ds)
    if targets is None or not len(targets):
        return
    lo, hi = int(np.min(targets)), int(np.max(targets))
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name}: label {bad} is out of range for {num_classes} classes; "
                         f"labels must be integers in [0, {num_classes})")


def _targets(ds):
    """All labels of a dataset without reading its images, or None if unknown."""
    if isinstance(ds, Subset):
        inner = _targets(ds.dataset)
        return None if inner is None else np.asarray(inner)[np.asarray(ds.indices, dtype=np.int64)]
    targets = getattr(ds, "targets", None)
    return None if targets is None else np.asarray(targets)


def _describe(ds, i) -> str:
    """Where sample ``i`` comes from: its file, or the dataset file and index."""
    while isinstance(ds, Subset):
        ds, i = ds.dataset, ds.indices[i]
    samples = getattr(ds, "samples", None)
    if samples is not None:
        return str(samples[i][0])
    return f"{getattr(ds, 'path', type(ds).__name__)} ({getattr(ds, 'split', '')} image {i})"


def _check_size(image, ds, i) -> None:
    h, w = (image.height, image.width) if hasattr(image, "height") else image.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"{_describe(ds, i)}: image of height {h} and width {w}; images must "
                         "be at least 1x1 pixels")


def load_splits(path, image_size: int, augment: bool = False, on_bad_image: str = "raise",
                train_limit: int | None = None, test_limit: int | None = None,
                seed: int = 0, num_classes: int | None = None,
                batch_size: int = 64) -> Splits:
    """Train/test datasets of (normalised 3xSxS float tensor, int64 label). Without
    augmentation they are ``recipes.stream.Preprocessed``: images are preprocessed when
    read, batch by batch, never held all at once.

    Labels are checked against the number of classes (``num_classes``, else the data's
    class names, else the dense label range) and the memory the run needs against what is
    available, before any image is decoded or preprocessed."""
    train, test, classes = _raw_splits(Path(path), on_bad_image, seed, num_classes)
    train, test = _limit(train, train_limit), _limit(test, test_limit)
    for name, ds in (("train", train), ("test", test)):
        if len(ds) == 0:
            raise ValueError(f"--data {path}: the {name} split has no images")
    if num_classes is None:
        num_classes = len(classes) if classes is not None else 1 + max(
            int(np.max(t)) for t in (_targets(train), _targets(test)) if t is not None)
    for name, ds in (("train", train), ("test", test)):
        _check_labels(f"--data {path} ({name} split)", ds, num_classes)
    check_fits(estimate_bytes(image_size, batch_size, num_classes, MEMORY_BUDGET),
               f"--image-size {image_size} with --batch-size {batch_size} and {num_classes} "
               "classes")
    if classes is None or len(classes) != num_classes:
        classes = [str(c) for c in range(num_classes)]
    gray = _is_gray(train)
    resize, finish = _resize(image_size), _finish(gray)
    _check_size(train[0][0], train, 0)
    transform = T.Compose([resize, finish])
    test_set = Preprocessed(test, image_size, gray, transform, _check_size)
    if augment:
        train_set = _Augmented(train, image_size, resize, finish, seed)
    else:
        train_set = Preprocessed(train, image_size, gray, transform, _check_size)
    return Splits(train_set, test_set, classes, augment, gray)


def _resize(image_size: int):
    return T.Resize((image_size, image_size))


def _finish(grayscale: bool):
    return T.Compose([T.Grayscale(3) if grayscale else T.Lambda(_rgb), T.ToTensor(),
                      T.imagenet_normalize()])


def eval_transform(image_size: int, grayscale: bool):
    """The preprocessing of test images (and of images given to ``recipes.predict``)."""
    return T.Compose([_resize(image_size), _finish(grayscale)])


def _is_gray(ds) -> bool:
    image = ds[0][0]
    if isinstance(image, np.ndarray):
        return image.ndim == 2 or image.shape[-1] == 1
    return getattr(image, "mode", "RGB") in ("L", "1", "I", "F")


def _rgb(image):
    if isinstance(image, np.ndarray) or getattr(image, "mode", "RGB") == "RGB":
        return image
    return image.convert("RGB")
