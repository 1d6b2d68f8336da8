"""A trained model back from the recipe's files, ready for inference: the network (eval
mode), its class names and the preprocessing its images need.

Accepts ``OUT/best.safetensors`` (weights with the recipe's metadata), ``OUT/checkpoint
.safetensors`` (a resumable checkpoint) or, through ``pretrained``, a zoo model with its
published weights and ImageNet's class names."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nanotorch as torch
from nanotorch import models
from nanotorch.io import WeightFileError
from nanotorch.serialization import load_metadata
from nanotorch.utils.finetune import head_name, replace_head

from .data import eval_transform


@dataclass
class Loaded:
    model: object            # nn.Module in eval mode
    classes: list            # class names in output order
    transform: object        # PIL image -> normalised 3xHxW tensor
    description: str         # where it came from, for messages
    image_size: int | None = None
    mode: str = "RGB"        # PIL mode images are read in, as the training data's


def recipe_metadata(model: str, classes, image_size: int, grayscale: bool, **extra) -> dict:
    """The string metadata the recipe writes into ``best.safetensors``."""
    meta = {"model": model, "num_classes": str(len(classes)), "classes": json.dumps(list(classes)),
            "image_size": str(image_size), "grayscale": str(bool(grayscale)).lower()}
    meta.update({k: str(v) for k, v in extra.items()})
    return meta


def _build(name: str, state: dict, path: Path):
    """The architecture ``name`` with a head sized from ``state``, loaded with ``state``."""
    if name not in models.list_models():
        raise ValueError(f"{path}: unknown model {name!r}")
    model = models.get_model(name, weights=None)
    head = state.get(head_name(model) + ".weight")
    if head is None:
        raise ValueError(f"{path}: no {head_name(model)}.weight entry for a {name}")
    replace_head(model, int(head.shape[0]))
    model.load_state_dict(state)
    return model.eval()


def load_checkpoint(path) -> Loaded:
    """The model saved by the recipe at ``path`` (best.safetensors or checkpoint.safetensors);
    ValueError naming the file when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        obj = torch.load(path)
    except (WeightFileError, OSError, ValueError) as e:
        raise ValueError(f"{path}: unreadable ({e})") from None
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict) and "args" in obj:
        args, pre = obj["args"], obj.get("preprocess", {})
        state, name = obj["model"], args.get("model")
        classes, size, gray = obj.get("classes"), pre.get("image_size"), pre.get("grayscale")
    else:
        meta = load_metadata(path) if str(path).endswith(".safetensors") else {}
        state, name = obj, meta.get("model")
        classes = json.loads(meta["classes"]) if "classes" in meta else None
        size = int(meta["image_size"]) if "image_size" in meta else None
        gray = meta.get("grayscale") == "true"
    if not name or size is None:
        raise ValueError(f"{path}: not a model saved by recipes.finetune (no model name or "
                         "image size recorded)")
    model = _build(name, state, path)
    num_classes = int(state[head_name(model) + ".weight"].shape[0])
    if not classes:
        classes = [str(i) for i in range(num_classes)]
    return Loaded(model, list(classes), eval_transform(size, bool(gray)),
                  f"{name} from {path}", size, "L" if gray else "RGB")


def pretrained(name: str, weights: str) -> Loaded:
    """A zoo model with its published weights, classes and evaluation preprocessing."""
    enum = models.get_model_weights(name)
    try:
        member = enum[weights]
    except KeyError:
        raise ValueError(f"--weights {weights}: {name} has "
                         f"{', '.join(m.name for m in enum)}") from None
    model = models.get_model(name, weights=member).eval()
    return Loaded(model, list(member.meta["categories"]), member.transforms(),
                  f"{name} ({member.name})", member.value.crop_size)
