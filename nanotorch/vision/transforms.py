"""Image transforms with torchvision's names, on PIL images and numpy arrays.

Geometric and colour transforms take a PIL image or a numpy array laid out like
one: (H, W) or (H, W, C). ``ToTensor`` turns that into a (C, H, W) float32 array
(wrapped as a nanotorch Tensor when ``nanotorch.from_numpy`` exists), and
``Normalize`` works on (..., C, H, W) float arrays or Tensors.

Random transforms draw from nanotorch's random generators in torchvision's order
(``rand(1) < p`` for a flip, ``randint`` for crop offsets, ``empty(1).uniform_`` for
scale and log aspect ratio): from the ``nanotorch.Generator`` passed as ``generator=``,
else from the global one that ``nanotorch.manual_seed`` seeds.
"""

from __future__ import annotations

import math
import numbers
from enum import Enum

import numpy as np

from .image_io import Image, require_pil

__all__ = [
    "Compose", "Lambda", "Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop",
    "RandomHorizontalFlip", "Grayscale", "ToTensor", "Normalize", "InterpolationMode",
    "IMAGENET_MEAN", "IMAGENET_STD", "imagenet_normalize", "to_tensor_or_array",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# ------------------------------------------------------------------ randomness
# nanotorch is imported at call time: the package may still be importing when this loads.


def _uniform(low, high, generator):
    """One float32 draw from U(low, high), as ``torch.empty(1).uniform_(low, high)``."""
    import nanotorch

    return nanotorch.empty(1).uniform_(float(low), float(high), generator=generator).item()


def _randint(low, high, generator):
    """One integer in [low, high), as ``torch.randint(low, high, size=(1,)).item()``."""
    import nanotorch

    return int(nanotorch.randint(low, high, size=(1,), generator=generator).item())


def _rand(generator):
    """One float32 draw from U(0, 1), as ``torch.rand(1).item()``."""
    import nanotorch

    return nanotorch.rand(1, generator=generator).item()


# ------------------------------------------------------------ Tensor boundary


def to_tensor_or_array(arr: np.ndarray):
    """The single place arrays become Tensors: ``nanotorch.from_numpy(arr)`` if it exists."""
    import nanotorch  # at call time: the package may still be importing when this module loads

    from_numpy = getattr(nanotorch, "from_numpy", None)
    return arr if from_numpy is None else from_numpy(arr)


def _unwrap(x):
    """(array, was_tensor) for a numpy array or an object with ``.numpy()``."""
    if isinstance(x, np.ndarray):
        return x, False
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy()), True
    raise TypeError(f"expected a numpy array or a Tensor, got {type(x).__name__}")


# ------------------------------------------------------------------ helpers


def _is_pil(img) -> bool:
    return Image is not None and isinstance(img, Image.Image)


def _check_image(img, who):
    if _is_pil(img):
        return
    if not isinstance(img, np.ndarray):
        raise TypeError(f"{who}: expected a PIL image or a numpy array, got {type(img).__name__}")
    if img.ndim not in (2, 3):
        raise ValueError(f"{who}: expected an (H, W) or (H, W, C) array, got shape {img.shape}")


def _size_hw(img):
    if _is_pil(img):
        return img.height, img.width
    return img.shape[0], img.shape[1]


def _pair(size, who):
    if isinstance(size, numbers.Integral):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (int(size[0]), int(size[0]))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        size = (int(size[0]), int(size[1]))
    else:
        raise ValueError(f"{who}: size must be an int or an (h, w) pair, got {size!r}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"{who}: size must be positive, got {size}")
    return size


def _crop(img, top, left, h, w):
    """Crop an (h, w) window; parts outside the image are zero-filled."""
    if _is_pil(img):
        return img.crop((left, top, left + w, top + h))  # PIL zero-fills out-of-range areas
    H, W = img.shape[:2]
    if 0 <= top and 0 <= left and top + h <= H and left + w <= W:
        return img[top:top + h, left:left + w].copy()
    out = np.zeros((h, w) + img.shape[2:], dtype=img.dtype)
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, H), min(left + w, W)
    if t1 > t0 and l1 > l0:
        out[t0 - top:t1 - top, l0 - left:l1 - left] = img[t0:t1, l0:l1]
    return out


def _pad(img, left, top, right, bottom, fill, mode):
    arr = np.asarray(img)
    if mode == "constant":
        h, w = arr.shape[:2]
        out = np.empty((h + top + bottom, w + left + right) + arr.shape[2:], dtype=arr.dtype)
        out[...] = np.asarray(fill, dtype=arr.dtype)  # a scalar, or one value per channel
        out[top:top + h, left:left + w] = arr
    else:
        widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
        out = np.pad(arr, widths, mode=mode)
    if _is_pil(img):
        restored = Image.fromarray(out)
        return restored if restored.mode == img.mode else restored.convert(img.mode)
    return out


class InterpolationMode(str, Enum):
    """Resampling filters (the names torchvision uses)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _pil_filter(interpolation):
    pil = require_pil()
    try:
        mode = InterpolationMode(interpolation.value if isinstance(interpolation, Enum)
                                 else interpolation)
    except ValueError:
        names = ", ".join(m.value for m in InterpolationMode)
        raise ValueError(f"unknown interpolation {interpolation!r}; use one of {names}") from None
    return getattr(pil.Resampling, mode.name)


def _resize(img, h, w, interpolation):
    """Resize to (h, w) with Pillow (which antialiases when shrinking)."""
    resample = _pil_filter(interpolation)
    if _is_pil(img):
        return img.resize((w, h), resample=resample)
    if img.dtype == np.uint8 and (img.ndim == 2 or img.shape[2] in (3, 4)):
        return np.asarray(Image.fromarray(img).resize((w, h), resample=resample))
    # other dtypes / channel counts: resize each channel as a float32 ("F") image
    chans = img[..., None] if img.ndim == 2 else img
    out = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(chans[..., c], np.float32),
                                               mode="F").resize((w, h), resample=resample))
                    for c in range(chans.shape[2])], axis=-1)
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    out = out.astype(img.dtype)
    return out[..., 0] if img.ndim == 2 else out


# --------------------------------------------------------------- composition


class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda needs a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"Lambda({getattr(self.lambd, '__name__', repr(self.lambd))})"


# ----------------------------------------------------------------- geometry


class Resize:
    """Resize to (h, w), or with an int, scale so the shorter side equals it.

    With an int the longer side becomes ``int(size * long / short)``; ``max_size``
    caps it (shrinking the shorter side to match).
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        single = isinstance(size, (tuple, list)) and len(size) == 1
        if isinstance(size, numbers.Integral) or single:
            self.size = int(size if isinstance(size, numbers.Integral) else size[0])
            if self.size <= 0:
                raise ValueError(f"Resize: size must be positive, got {size!r}")
            if max_size is not None and max_size <= self.size:
                raise ValueError(f"Resize: max_size={max_size} must be larger than "
                                 f"size={self.size}")
        else:
            if max_size is not None:
                raise ValueError("Resize: max_size only applies when size is a single int")
            self.size = _pair(size, "Resize")
        _pil_filter(interpolation)  # validate early
        self.interpolation = interpolation
        self.max_size = max_size
        self.antialias = antialias  # Pillow always antialiases; kept for API compatibility

    def output_size(self, h, w):
        """(new_h, new_w) for an input of height ``h`` and width ``w``."""
        if isinstance(self.size, tuple):
            return self.size
        short, long = (h, w) if h <= w else (w, h)
        new_short, new_long = self.size, int(self.size * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)

    def __call__(self, img):
        _check_image(img, "Resize")
        h, w = _size_hw(img)
        nh, nw = self.output_size(h, w)
        if (nh, nw) == (h, w):
            return img
        return _resize(img, nh, nw, self.interpolation)

    def __repr__(self):
        return (f"Resize(size={self.size}, interpolation={self.interpolation!s}, "
                f"max_size={self.max_size})")


class CenterCrop:
    """Crop the centre; a crop larger than the image is zero-padded around it."""

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop")

    def __call__(self, img):
        _check_image(img, "CenterCrop")
        h, w = _size_hw(img)
        th, tw = self.size
        # when padding, the extra row/column goes to the bottom/right
        top = -((th - h) // 2) if th > h else int(round((h - th) / 2.0))
        left = -((tw - w) // 2) if tw > w else int(round((w - tw) / 2.0))
        return _crop(img, top, left, th, tw)

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class RandomCrop:
    """Crop a random (h, w) window, optionally after padding the borders.

    ``padding``: int (all sides), (left/right, top/bottom) or (left, top, right, bottom).
    ``padding_mode``: "constant" (with ``fill``), "edge", "reflect" or "symmetric".
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant",
                 generator=None):
        self.size = _pair(size, "RandomCrop")
        if padding is None:
            self.padding = (0, 0, 0, 0)
        elif isinstance(padding, numbers.Integral):
            self.padding = (int(padding),) * 4
        elif isinstance(padding, (tuple, list)) and len(padding) == 2:
            self.padding = (padding[0], padding[1], padding[0], padding[1])
        elif isinstance(padding, (tuple, list)) and len(padding) == 4:
            self.padding = tuple(padding)
        else:
            raise ValueError(f"RandomCrop: padding must be an int or a 2/4-tuple, got {padding!r}")
        if min(self.padding) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: unknown padding_mode {padding_mode!r}")
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    def __call__(self, img):
        _check_image(img, "RandomCrop")
        if any(self.padding):
            left, top, right, bottom = self.padding
            img = _pad(img, left, top, right, bottom, self.fill, self.padding_mode)
        th, tw = self.size
        h, w = _size_hw(img)
        if self.pad_if_needed and (h < th or w < tw):
            dh, dw = max(th - h, 0), max(tw - w, 0)
            img = _pad(img, dw, dh, dw, dh, self.fill, self.padding_mode)
            h, w = _size_hw(img)
        return _crop(img, *self.get_params(img, self.size, self.generator))

    @staticmethod
    def get_params(img, output_size, generator=None):
        """(top, left, h, w) of a random ``output_size`` window of ``img``: a row offset
        then a column offset, each one ``randint`` draw (none when the sizes are equal)."""
        h, w = _size_hw(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {(th, tw)} is larger than the (padded) image "
                             f"size {(h, w)}; use padding or pad_if_needed=True")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        return _randint(0, h - th + 1, generator), _randint(0, w - tw + 1, generator), th, tw

    def __repr__(self):
        return (f"RandomCrop(size={self.size}, padding={self.padding}, "
                f"padding_mode={self.padding_mode!r})")


class RandomResizedCrop:
    """Crop a random area/aspect-ratio window and resize it to ``size``.

    Tries 10 random windows with area fraction in ``scale`` and log-uniform aspect
    ratio in ``ratio``; if none fits, falls back to the largest centred window
    whose aspect ratio is within ``ratio``.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True, generator=None):
        self.size = _pair(size, "RandomResizedCrop")
        if not (0 < scale[0] <= scale[1]) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f"RandomResizedCrop: need 0 < min <= max for scale {scale} and "
                             f"ratio {ratio}")
        _pil_filter(interpolation)
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation = interpolation
        self.antialias = antialias
        self.generator = generator

    @staticmethod
    def get_params(img, scale, ratio, generator=None):
        """(top, left, crop_h, crop_w) of a random window of ``img``.

        Each of up to 10 tries draws an area fraction, then a log aspect ratio (float32,
        as torchvision does), then, if the window fits, its row and column offsets."""
        h, w = _size_hw(img)
        area = h * w
        log_lo, log_hi = (float(np.log(np.float32(r))) for r in ratio)
        for _ in range(10):
            target = area * _uniform(scale[0], scale[1], generator)
            aspect = float(np.exp(np.float32(_uniform(log_lo, log_hi, generator))))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                top = _randint(0, h - ch + 1, generator)
                return top, _randint(0, w - cw + 1, generator), ch, cw
        in_ratio = w / h
        if in_ratio < min(ratio):
            cw, ch = w, int(round(w / min(ratio)))
        elif in_ratio > max(ratio):
            ch, cw = h, int(round(h * max(ratio)))
        else:
            ch, cw = h, w
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def __call__(self, img):
        _check_image(img, "RandomResizedCrop")
        top, left, ch, cw = self.get_params(img, self.scale, self.ratio, self.generator)
        return _resize(_crop(img, top, left, ch, cw), self.size[0], self.size[1],
                       self.interpolation)

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p=0.5, generator=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, img):
        _check_image(img, "RandomHorizontalFlip")
        if not _rand(self.generator) < self.p:
            return img
        if _is_pil(img):
            return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return np.ascontiguousarray(img[:, ::-1])

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


# ------------------------------------------------------------------- colour


def _luma(arr):
    """ITU-R 601-2 luma of an (H, W, C>=3) array; uint8 rounds like Pillow's "L" conversion."""
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    if arr.dtype == np.uint8:
        # Pillow's fixed-point weights (0.299, 0.587, 0.114 scaled by 2**16), rounded
        y = (r.astype(np.uint32) * 19595 + g.astype(np.uint32) * 38470
             + b.astype(np.uint32) * 7471 + 0x8000) >> 16
        return y.astype(np.uint8)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    if np.issubdtype(arr.dtype, np.integer):
        y = np.rint(y)
    return y.astype(arr.dtype)


class Grayscale:
    """Convert to grayscale with 1 channel, or 3 equal channels."""

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels must be 1 or 3, got "
                             f"{num_output_channels}")
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        _check_image(img, "Grayscale")
        if _is_pil(img):
            gray = img.convert("L")
            return gray if self.num_output_channels == 1 else gray.convert("RGB")
        if img.ndim == 2 or img.shape[2] == 1:
            y = img if img.ndim == 2 else img[..., 0]
        elif img.shape[2] in (3, 4):
            y = _luma(img)  # alpha (4th channel) is ignored
        else:
            raise ValueError(f"Grayscale: expected 1, 3 or 4 channels, got shape {img.shape}")
        if self.num_output_channels == 1:
            return np.ascontiguousarray(y)
        return np.repeat(y[..., None], 3, axis=2)

    def __repr__(self):
        return f"Grayscale(num_output_channels={self.num_output_channels})"


# -------------------------------------------------------- tensor conversion


class ToTensor:
    """(H, W[, C]) image -> (C, H, W) float32; uint8 values are scaled to [0, 1].

    Other dtypes are converted to float32 without scaling. Returns a nanotorch
    Tensor when ``nanotorch.from_numpy`` exists, else the array.
    """

    def __call__(self, pic):
        if _is_pil(pic):
            if pic.mode == "1":
                pic = pic.convert("L")
            elif pic.mode == "P":
                pic = pic.convert("RGBA" if "transparency" in pic.info else "RGB")
            arr = np.asarray(pic)
        elif isinstance(pic, np.ndarray):
            arr = pic
        else:
            raise TypeError(f"ToTensor: expected a PIL image or a numpy array, got "
                            f"{type(pic).__name__}")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape "
                             f"{arr.shape}")
        chw = arr.transpose(2, 0, 1)
        if chw.dtype == np.uint8:
            out = chw.astype(np.float32) * np.float32(1.0 / 255.0)
        else:
            out = chw.astype(np.float32)
        return to_tensor_or_array(np.ascontiguousarray(out))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """Per-channel ``(x - mean) / std`` on (..., C, H, W) float arrays or Tensors.

    ``inplace=True`` overwrites numpy inputs only; Tensors always get a new result.
    """

    def __init__(self, mean, std, inplace=False):
        self.mean = tuple(float(m) for m in np.atleast_1d(mean))
        self.std = tuple(float(s) for s in np.atleast_1d(std))
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean has {len(self.mean)} values but std has "
                             f"{len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std must be non-zero, got {self.std}")
        self.inplace = inplace

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"Normalize: expected a float array (apply ToTensor first), got "
                            f"{arr.dtype}")
        if arr.ndim < 3:
            raise ValueError(f"Normalize: expected (..., C, H, W), got shape {arr.shape}")
        c = arr.shape[-3]
        if len(self.mean) not in (1, c):
            raise ValueError(f"Normalize: {len(self.mean)} mean/std values for {c} channels "
                             f"(shape {arr.shape})")
        mean = np.asarray(self.mean, dtype=arr.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=arr.dtype).reshape(-1, 1, 1)
        if self.inplace and not was_tensor and arr.flags.writeable:
            arr -= mean
            arr /= std
            return arr
        out = (arr - mean) / std
        return to_tensor_or_array(out) if was_tensor else out

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def imagenet_normalize() -> Normalize:
    """Normalize with the ImageNet channel mean and std used by pretrained models."""
    return Normalize(IMAGENET_MEAN, IMAGENET_STD)
