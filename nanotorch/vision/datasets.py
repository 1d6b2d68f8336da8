"""Image datasets: class folders, MNIST-style IDX files and ``.npz`` arrays.

Every dataset returns ``(image, label)``; ``image`` is whatever ``transform``
returns (without one: a PIL image for ImageFolder/MNIST, a uint8 array for
NpzImageDataset). Nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import os
import warnings
import zipfile
import zlib

import numpy as np

from .image_io import IMG_EXTENSIONS, Image, ImageReadError, is_image_file, load_image

__all__ = ["ImageFolder", "MNIST", "FashionMNIST", "NpzImageDataset", "read_idx",
           "EmptyClassFolderError"]


class EmptyClassFolderError(FileNotFoundError, ValueError):
    """Class folder(s) with no (readable) image files. A FileNotFoundError, as torchvision's
    ImageFolder raises; also a ValueError, which nanotorch raised before."""


def _no_download(name, files, where):
    listing = ", ".join(files)
    raise RuntimeError(
        f"{name}: download=True is not supported (nanotorch never uses the network). "
        f"Get these files yourself: {listing} and put them in {where!r}."
    )


def _apply(transform, target_transform, img, target):
    if transform is not None:
        img = transform(img)
    if target_transform is not None:
        target = target_transform(target)
    return img, target


# --------------------------------------------------------------------- folders


class ImageFolder:
    """Images stored as ``root/<class name>/**/<file>``; classes are sorted folder names.

    on_error="raise": an unreadable file raises ImageReadError when it is loaded.
    on_error="skip": every file is decoded once here; unreadable ones are dropped,
    listed in ``.skipped`` as (path, reason) and reported in a single warning.
    Class folders without (readable) images raise EmptyClassFolderError (a
    FileNotFoundError) naming them all; with ``allow_empty=True`` they stay as classes
    without samples, listed in ``.empty_classes`` and reported in a warning.
    """

    def __init__(self, root, transform=None, target_transform=None, loader=load_image,
                 is_valid_file=None, allow_empty=False, on_error="raise", extensions=None):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if extensions is not None and is_valid_file is not None:
            raise ValueError("pass either extensions or is_valid_file, not both")
        self.root = os.fspath(root)
        self.transform = transform
        self.target_transform = target_transform
        self.loader = loader
        self.on_error = on_error
        self.extensions = tuple(extensions) if extensions is not None else IMG_EXTENSIONS
        self.skipped: list[tuple[str, str]] = []

        self.classes, self.class_to_idx = self.find_classes(self.root)
        valid = is_valid_file or (lambda p: is_image_file(p, self.extensions))
        samples, empty = [], []
        for name in self.classes:
            folder = os.path.join(self.root, name)
            files = [p for p in self._walk(folder) if valid(p)]
            n_found = len(files)
            if on_error == "skip":
                files = [p for p in files if self._readable(p)]
            if not files:
                what = (f"no readable image files ({n_found} unreadable)" if n_found
                        else "no image files")
                empty.append((name, f"class folder {folder!r} has {what}"))
            samples.extend((p, self.class_to_idx[name]) for p in files)
        self.empty_classes = [name for name, _ in empty]
        if empty and not allow_empty:
            raise EmptyClassFolderError(
                f"Found no valid file for the classes {', '.join(self.empty_classes)}: "
                f"{'; '.join(why for _, why in empty)} (accepted extensions: "
                f"{', '.join(self.extensions)}); remove them or pass allow_empty=True")
        if empty:
            warnings.warn(f"ImageFolder({self.root!r}): {len(empty)} class folder(s) without "
                          f"(readable) images kept as empty classes: "
                          f"{', '.join(self.empty_classes)} (see .empty_classes)", stacklevel=2)
        self.samples = samples
        self.imgs = samples  # torchvision alias
        self.targets = [t for _, t in samples]
        if self.skipped:
            shown = ", ".join(repr(p) for p, _ in self.skipped[:3])
            more = "" if len(self.skipped) <= 3 else f" and {len(self.skipped) - 3} more"
            warnings.warn(f"ImageFolder({self.root!r}): skipped {len(self.skipped)} unreadable "
                          f"file(s): {shown}{more} (see .skipped)", stacklevel=2)

    @staticmethod
    def find_classes(directory):
        """Sorted class folder names under ``directory`` and their indices."""
        directory = os.fspath(directory)
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"dataset root is not a directory: {directory!r}")
        classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
        if not classes:
            raise FileNotFoundError(f"no class sub-folders found in {directory!r}")
        return classes, {c: i for i, c in enumerate(classes)}

    @staticmethod
    def _walk(folder):
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            dirnames.sort()
            for f in sorted(filenames):
                yield os.path.join(dirpath, f)

    def _readable(self, path):
        try:
            self.loader(path)
        except (ImageReadError, OSError) as exc:
            self.skipped.append((path, str(exc)))
            return False
        return True

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        return _apply(self.transform, self.target_transform, self.loader(path), target)

    def __repr__(self):
        return (f"ImageFolder(root={self.root!r}, samples={len(self)}, classes={len(self.classes)}"
                f", transform={self.transform!r})")


# ------------------------------------------------------------------ IDX files

# IDX type byte -> big-endian numpy dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"corrupt gzip file {path!r}: {exc}") from exc


def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally ``.gz``) into a native-endian numpy array."""
    return _read_idx(os.fspath(path))[0]


def _read_idx(path):
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path!r} is not an IDX file: only {len(raw)} bytes")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise ValueError(f"{path!r} is not an IDX file: bad magic number 0x{raw[:4].hex()}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path!r}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path!r}: header says shape {shape} ({expected} bytes in all) "
                         f"but the file has {len(raw)} bytes")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("=")), int.from_bytes(raw[:4], "big")


class MNIST:
    """MNIST from the four standard IDX files (``.gz`` or not), read from disk only.

    Files are looked up in ``root``, ``root/<ClassName>/raw`` (torchvision's layout)
    and ``root/<ClassName>``. ``.data`` is uint8 (N, H, W), ``.targets`` int64 (N,).
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    _hint = "e.g. from http://yann.lecun.com/exdb/mnist/ or the Debian package dataset-mnist"

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = os.fspath(root)
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if self.train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        if download:
            _no_download(type(self).__name__, [n + ".gz" for n in names],
                         os.path.join(self.root, type(self).__name__, "raw"))
        img_path, lbl_path = self._locate(names)
        self.data = self._read_checked(img_path, 2051, 3)
        labels = self._read_checked(lbl_path, 2049, 1)
        if len(labels) != len(self.data):
            raise ValueError(f"{type(self).__name__}: {len(self.data)} images in {img_path!r} but "
                             f"{len(labels)} labels in {lbl_path!r}")
        if labels.size and labels.max() >= len(self.classes):
            raise ValueError(f"{lbl_path!r}: label {int(labels.max())} out of range for "
                             f"{len(self.classes)} classes")
        self.targets = labels.astype(np.int64)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _search_dirs(self):
        name = type(self).__name__
        return [self.root, os.path.join(self.root, name, "raw"), os.path.join(self.root, name)]

    def _locate(self, names):
        dirs = self._search_dirs()
        for d in dirs:
            found = []
            for n in names:
                dotted = n.replace("-idx", ".idx")
                variants = (n, n + ".gz", dotted, dotted + ".gz")
                hit = next((os.path.join(d, v) for v in variants
                            if os.path.isfile(os.path.join(d, v))), None)
                found.append(hit)
            if all(found):
                return found
        raise FileNotFoundError(
            f"{type(self).__name__}: could not find {' and '.join(n + '[.gz]' for n in names)} "
            f"in any of {dirs} ({self._hint})")

    @staticmethod
    def _read_checked(path, magic, ndim):
        arr, got = _read_idx(path)
        if got != magic:  # magic = 0x08 (uint8) * 256 + number of dims
            raise ValueError(f"{path!r}: expected IDX magic number {magic} (uint8, {ndim}-D), got "
                             f"{got} (a {arr.ndim}-D {arr.dtype} array of shape {arr.shape})")
        return np.ascontiguousarray(arr)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img = self.data[index]
        if Image is not None:
            img = Image.fromarray(img)  # uint8 2-D -> mode "L"
        return _apply(self.transform, self.target_transform, img, int(self.targets[index]))

    def __repr__(self):
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(root={self.root!r}, split={split}, samples={len(self)})"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: same IDX layout and file names as MNIST."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    _hint = ("e.g. from https://github.com/zalandoresearch/fashion-mnist or "
             "`apt-get install dataset-fashion-mnist` (files in /usr/share/datasets/fashion-mnist)")


# ------------------------------------------------------------------ npz files


class NpzImageDataset:
    """Images and labels from a ``.npz`` file.

    ``split="train"`` reads ``x_train``/``y_train`` (likewise any other split name);
    ``split=None`` reads ``images``/``labels``. Images are uint8 (N, H, W) or
    (N, H, W, C) and are returned as numpy arrays; an optional ``classes`` array
    names the labels.
    """

    def __init__(self, path, split="train", transform=None, target_transform=None):
        self.path = os.fspath(path)
        self.split = split
        self.transform = transform
        self.target_transform = target_transform
        xk, yk = ("images", "labels") if split is None else (f"x_{split}", f"y_{split}")
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"npz file not found: {self.path!r}")
        if not zipfile.is_zipfile(self.path):
            raise ValueError(f"{self.path!r} is not a .npz (zip) archive: the file is empty, "
                             f"truncated or of another format ({os.path.getsize(self.path)} "
                             "bytes)")
        try:
            images, labels, classes = self._load(xk, yk, split)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"{self.path!r}: corrupt .npz archive "
                             f"({type(exc).__name__}: {exc})") from exc
        except ValueError as exc:  # e.g. object arrays, refused without allow_pickle
            raise ValueError(f"{self.path!r}: cannot read the arrays of split={split!r}: "
                             f"{exc}") from exc
        self.data, self.targets = self._check(images, labels, xk, yk)
        if classes is not None:
            self.classes = [str(c) for c in classes.reshape(-1)]
        else:
            n = int(self.targets.max()) + 1 if len(self.targets) else 0
            self.classes = [str(i) for i in range(n)]
        if len(self.targets) and self.targets.max() >= len(self.classes):
            raise ValueError(f"{self.path!r}: label {int(self.targets.max())} out of range for "
                             f"{len(self.classes)} classes")

    def _load(self, xk, yk, split):
        with np.load(self.path, allow_pickle=False) as f:
            keys = set(f.files)
            if xk not in keys or yk not in keys:
                splits = sorted(k[2:] for k in keys if k.startswith("x_") and "y_" + k[2:] in keys)
                if {"images", "labels"} <= keys:
                    splits.append(None)  # images/labels
                raise KeyError(f"{self.path!r} has no {xk!r}/{yk!r} arrays for split={split!r}; "
                               f"available splits: {splits or 'none'} (split=None reads "
                               f"'images'/'labels'; keys in file: {sorted(keys)})")
            images, labels = f[xk], f[yk]
            classes = f["classes"] if "classes" in keys else None
        return images, labels, classes

    def _check(self, images, labels, xk, yk):
        if images.dtype != np.uint8:
            raise ValueError(f"{self.path!r}: {xk!r} must be uint8, got {images.dtype}")
        if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3, 4)):
            raise ValueError(f"{self.path!r}: {xk!r} must be (N, H, W) or (N, H, W, C) with C in "
                             f"1/3/4, got shape {images.shape}")
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{self.path!r}: {yk!r} must be a 1-D integer array, got shape "
                             f"{labels.shape} dtype {labels.dtype}")
        if len(labels) != len(images):
            raise ValueError(f"{self.path!r}: {len(images)} images in {xk!r} but {len(labels)} "
                             f"labels in {yk!r}")
        if len(labels) and labels.min() < 0:
            raise ValueError(f"{self.path!r}: negative label {int(labels.min())} in {yk!r}")
        return np.ascontiguousarray(images), labels.astype(np.int64)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return _apply(self.transform, self.target_transform, self.data[index],
                      int(self.targets[index]))

    def __repr__(self):
        return (f"NpzImageDataset({self.path!r}, split={self.split!r}, samples={len(self)}, "
                f"image_shape={self.data.shape[1:]})")
