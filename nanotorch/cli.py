"""The ``nanotorch`` command: ``nanotorch convert IN.pth OUT.safetensors``."""
from __future__ import annotations

import argparse
import sys


def convert(args) -> int:
    """Convert a PyTorch weight file to safetensors without torch and without unpickling
    anything but tensors."""
    from .io import WeightFileError
    from .serialization import load_state_dict_file, save
    try:
        state = load_state_dict_file(args.input, prefix_strip=args.strip_prefix)
    except (WeightFileError, OSError) as e:
        print(f"nanotorch convert: {e}", file=sys.stderr)
        return 2
    save(state, args.output, metadata={"converted_from": str(args.input)})
    n = sum(t.numel() for t in state.values())
    print(f"wrote {args.output}: {len(state)} tensors, {n:,} values")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="nanotorch")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert a .pth/.pt weight file to .safetensors")
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument("--strip-prefix", default=None, help="remove this key prefix (e.g. module.)")
    args = parser.parse_args(argv)
    return convert(args)


if __name__ == "__main__":
    raise SystemExit(main())
