"""Image datasets, transforms and image reading (NumPy/Pillow level, no Tensor imports)."""

from . import datasets, transforms
from .datasets import (
                       MNIST,
                       EmptyClassFolderError,
                       FashionMNIST,
                       ImageFolder,
                       NpzImageDataset,
                       read_idx,
)
from .image_io import IMG_EXTENSIONS, ImageReadError, is_image_file, load_image

__all__ = [
    "datasets", "transforms", "ImageFolder", "MNIST", "FashionMNIST", "NpzImageDataset",
    "read_idx", "EmptyClassFolderError", "ImageReadError", "IMG_EXTENSIONS", "is_image_file",
    "load_image",
]
