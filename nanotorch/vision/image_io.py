"""Reading image files with Pillow, with errors that name the file."""

from __future__ import annotations

import os

try:
    from PIL import Image, UnidentifiedImageError
except ImportError:  # pillow is an optional dependency ("images" extra)
    Image = None
    UnidentifiedImageError = OSError

__all__ = ["IMG_EXTENSIONS", "ImageReadError", "is_image_file", "load_image", "require_pil"]

# Same set of suffixes torchvision's ImageFolder accepts.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


class ImageReadError(ValueError):
    """An image file exists but cannot be decoded (corrupt, truncated, not an image)."""

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = str(reason)
        super().__init__(f"cannot read image {self.path!r}: {self.reason}")


def require_pil():
    """Return the ``PIL.Image`` module or raise a clear ImportError."""
    if Image is None:
        raise ImportError("this needs pillow for images: pip install pillow (or nanotorch[images])")
    return Image


def is_image_file(path, extensions=IMG_EXTENSIONS) -> bool:
    """True when ``path`` ends with one of ``extensions`` (case-insensitive)."""
    return os.fspath(path).lower().endswith(tuple(e.lower() for e in extensions))


def load_image(path, mode: str | None = "RGB"):
    """Open and fully decode an image; convert to ``mode`` unless it is None.

    Decoding happens here (not lazily) so that a corrupt or truncated file fails
    at read time with an ``ImageReadError`` naming the file.
    """
    pil = require_pil()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"image file not found: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"expected an image file, got a directory: {path!r}")
    try:
        with pil.open(path) as img:
            img.load()
            if mode is None or img.mode == mode:
                return img.copy()
            return img.convert(mode)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            pil.DecompressionBombError) as exc:
        raise ImageReadError(path, f"{type(exc).__name__}: {exc}") from exc
