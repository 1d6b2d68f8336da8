"""Ship a fine-tuned model: an ONNX graph for any ONNX runtime, or a plain weights file.

examples:
  python -m recipes.export --checkpoint runs/finetune/best.safetensors --format onnx
  python -m recipes.export --checkpoint runs/finetune/checkpoint.safetensors --format onnx \\
      --opset 18 --output model.onnx
  python -m recipes.export --checkpoint runs/finetune/best.safetensors --format safetensors

onnx: BatchNorm folded into the convolutions, a dynamic batch axis, the image size of the
checkpoint; input "input" (N x C x H x W, preprocessed as the test images), output
"logits"; the class names and preprocessing in the model's metadata. The graph is checked
with onnxruntime against nanotorch's logits on a random batch unless --no-check.
safetensors: the model's state dict alone (no optimizer or metrics), loadable into the
torchvision architecture, with the recipe's metadata (classes, image size).
Needs the export extra for onnx: pip install 'nanotorch[export]'.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import nanotorch as torch

from .checkpoint_model import load_checkpoint, recipe_metadata

PROG = "python -m recipes.export"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True,
                   help="OUT/best.safetensors or OUT/checkpoint.safetensors of a "
                        "recipes.finetune run")
    p.add_argument("--format", choices=["onnx", "safetensors"], default="onnx",
                   help="what to write (default: %(default)s)")
    p.add_argument("--opset", type=int, default=None,
                   help="ONNX opset version (default: nanotorch.onnx.DEFAULT_OPSET, 17)")
    p.add_argument("--output", default=None,
                   help="file to write (default: the checkpoint's name with .onnx, or "
                        "model.safetensors beside it)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the onnxruntime comparison of the exported graph")
    return p.parse_args(argv)


def example_input(loaded, batch: int = 2) -> torch.Tensor:
    """A batch shaped as the model's preprocessed images (the transform run on a blank
    image of the checkpoint's size)."""
    from PIL import Image

    size = loaded.image_size or 224
    image = loaded.transform(Image.new(loaded.mode, (size, size)))
    return torch.randn(batch, *image.shape)


def check_onnx(proto, model, batch: torch.Tensor) -> float:
    """Largest |onnxruntime - nanotorch| logit difference on ``batch``; RuntimeError when it
    is over 1e-4 (relative to the logits' size when they exceed 1)."""
    from nanotorch.onnx import run_onnxruntime

    with torch.no_grad():
        ref = model(batch).numpy()
    got = run_onnxruntime(proto, batch.numpy())
    diff = float(np.abs(got - ref).max())
    if not diff <= 1e-4 * max(1.0, float(np.abs(ref).max())):
        raise RuntimeError(f"the exported graph's logits differ from nanotorch's by {diff:.3g}")
    return diff


def export_onnx(loaded, output: Path, opset: int | None, check: bool) -> str:
    from nanotorch import onnx as nx

    example = example_input(loaded)
    kwargs = {} if opset is None else {"opset_version": opset}
    proto = nx.to_onnx(loaded.model, example, input_name="input", output_name="logits",
                       **kwargs)
    meta = {"classes": json.dumps(loaded.classes), "image_size": str(loaded.image_size),
            "color_mode": loaded.mode, "source": loaded.description}
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    output.parent.mkdir(parents=True, exist_ok=True)
    import onnx
    onnx.save_model(proto, str(output))
    note = ""
    if check:
        # a different batch size than the trace's: also checks the dynamic batch axis
        diff = check_onnx(proto, loaded.model, example_input(loaded, batch=3))
        note = f"; onnxruntime logits match nanotorch's (max difference {diff:.2g})"
    return (f"wrote {output} (opset {proto.opset_import[0].version}, "
            f"{len(proto.graph.node)} nodes, input {list(example.shape[1:])} with a dynamic "
            f"batch){note}")


def export_safetensors(loaded, output: Path) -> str:
    name = loaded.description.split(" ", 1)[0]
    meta = recipe_metadata(name, loaded.classes, loaded.image_size, loaded.mode == "L")
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(loaded.model.state_dict(), output, metadata=meta)
    return f"wrote {output} ({len(loaded.model.state_dict())} tensors)"


def main(argv=None):
    args = parse_args(argv)
    src = Path(args.checkpoint)
    output = Path(args.output) if args.output else (
        src.with_suffix(".onnx") if args.format == "onnx" else src.with_name("model.safetensors"))
    try:
        if output.resolve() == src.resolve():
            raise ValueError(f"--output {output} would overwrite the checkpoint")
        loaded = load_checkpoint(src)
        if args.format == "onnx":
            try:
                import onnx  # noqa: F401
                if not args.no_check:
                    import onnxruntime  # noqa: F401
            except ImportError as e:
                raise RuntimeError(f"{e.name} is not installed: pip install "
                                   "'nanotorch[export]'") from None
            message = export_onnx(loaded, output, args.opset, not args.no_check)
        else:
            message = export_safetensors(loaded, output)
    except (ValueError, OSError, RuntimeError) as e:
        print(f"{PROG}: error: {' '.join(str(e).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    print(message)


if __name__ == "__main__":
    main()
