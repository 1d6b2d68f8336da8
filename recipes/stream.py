"""A dataset's images preprocessed on demand, one sample or one batch at a time, so no
array of the whole preprocessed dataset is ever held.

A batch is resized and colour-converted image by image (Pillow), then scaled and
normalised as one array; the values are bit-identical to the per-sample transform
(Resize -> Grayscale(3)/RGB -> ToTensor -> imagenet_normalize) because the same float32
operations run in the same order. ``batches`` prepares batch k+1 in a thread while the
caller works on batch k (Pillow and NumPy release the GIL)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import nanotorch as torch
from nanotorch.utils.data import Dataset, Subset
from nanotorch.vision import transforms as T

_SCALE = np.float32(1.0 / 255.0)  # ToTensor's uint8 scaling
_MEAN = np.asarray(T.IMAGENET_MEAN, dtype=np.float32)
_STD = np.asarray(T.IMAGENET_STD, dtype=np.float32)


class Preprocessed(Dataset):
    """``base``'s samples as (normalised 3 x size x size float32 tensor, int64 label).

    ``check(image, dataset, index)`` validates each decoded image before it is used."""

    def __init__(self, base, size: int, grayscale: bool, transform, check):
        self.base, self.size, self.grayscale = base, size, grayscale
        self.transform, self.check = transform, check
        self.resize = T.Resize((size, size))
        self._labels = None

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        image, label = self.base[i]
        self.check(image, self.base, i)
        return self.transform(image), label

    def __getitems__(self, indices):
        x, y = self.batch(indices)
        return [(torch.from_numpy(row), int(label)) for row, label in zip(x, y)]

    @property
    def labels(self) -> np.ndarray:
        """int64 labels of every sample (read without the images when the dataset can)."""
        if self._labels is None:
            from .data import _targets  # data imports this module
            targets = _targets(self.base)
            if targets is None:
                targets = [self.base[i][1] for i in range(len(self.base))]
            self._labels = np.asarray(targets, dtype=np.int64)
        return self._labels

    def select(self, indices) -> Preprocessed:
        """The samples at ``indices``, preprocessed the same way."""
        return Preprocessed(Subset(self.base, list(indices)), self.size, self.grayscale,
                            self.transform, self.check)

    def batch(self, indices) -> tuple[np.ndarray, np.ndarray]:
        """(float32 (B, 3, size, size) images, int64 (B,) labels) of the samples at
        ``indices``."""
        indices = list(indices)
        s = self.size
        out = np.empty((len(indices), 3, s, s), np.float32)
        labels = np.empty(len(indices), np.int64)
        pixels = np.empty((len(indices), s, s) if self.grayscale else (len(indices), s, s, 3),
                          np.uint8)
        fast = np.zeros(len(indices), bool)
        for k, i in enumerate(indices):
            image, label = self.base[i]
            self.check(image, self.base, i)
            labels[k] = int(label)
            u8 = self._uint8(image)
            if u8 is not None and u8.shape == pixels.shape[1:]:
                pixels[k], fast[k] = u8, True
            else:  # another pixel type: the per-sample transform
                out[k] = np.asarray(self.transform(image))
        if fast.all():
            _normalise(pixels, out, self.grayscale)
        elif fast.any():
            rows = np.flatnonzero(fast)
            part = np.empty((len(rows),) + out.shape[1:], np.float32)
            _normalise(pixels[rows], part, self.grayscale)
            out[rows] = part
        return out, labels

    def _uint8(self, image):
        """The resized image as uint8 (S, S) grey or (S, S, 3) RGB pixels, the values
        ToTensor would scale; None when the transform would not see uint8 pixels."""
        image = self.resize(image)
        if hasattr(image, "convert"):  # PIL
            if self.grayscale:
                return np.asarray(image.convert("L"))
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        if image.dtype != np.uint8:
            return None
        if self.grayscale and (image.ndim == 2 or image.shape[-1] == 1):
            return image.reshape(image.shape[:2])
        return image if not self.grayscale and image.ndim == 3 else None

    def batches(self, batch_size: int):
        """(start index, float32 images) for consecutive batches, in order; the next
        batch is prepared in a thread while the caller uses the current one."""
        spans = [range(a, min(a + batch_size, len(self))) for a in range(0, len(self),
                                                                        batch_size)]
        if not spans:
            return
        with ThreadPoolExecutor(1, thread_name_prefix="preprocess") as pool:
            pending = pool.submit(self.batch, spans[0])
            for k, span in enumerate(spans):
                x, _ = pending.result()
                if k + 1 < len(spans):
                    pending = pool.submit(self.batch, spans[k + 1])
                yield span.start, x


def _normalise(pixels: np.ndarray, out: np.ndarray, grayscale: bool) -> None:
    """out = (pixels / 255 - mean) / std per channel, in float32 as ToTensor + Normalize."""
    if grayscale:
        scaled = np.multiply(pixels, _SCALE, dtype=np.float32)
        for c in range(3):
            np.subtract(scaled, _MEAN[c], out=out[:, c])
            np.divide(out[:, c], _STD[c], out=out[:, c])
        return
    np.multiply(pixels.transpose(0, 3, 1, 2), _SCALE, out=out, dtype=np.float32)
    np.subtract(out, _MEAN.reshape(3, 1, 1), out=out)
    np.divide(out, _STD.reshape(3, 1, 1), out=out)
