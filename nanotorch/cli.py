"""The ``nanotorch`` command: ``nanotorch convert IN.pth OUT.safetensors``.

Errors print one line on stderr and exit with status 2."""
from __future__ import annotations

import argparse
import sys


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (status 2) like every other CLI error."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _fail(message: str) -> int:
    print(f"nanotorch convert: {message}", file=sys.stderr)
    return 2


def convert(args) -> int:
    """Convert a PyTorch weight file to safetensors without torch and without unpickling
    anything but tensors."""
    from .io import WeightFileError
    from .serialization import load_state_dict_file, save
    try:
        state = load_state_dict_file(args.input, prefix_strip=args.strip_prefix)
    except (WeightFileError, OSError) as e:
        return _fail(str(e))
    try:
        save(state, args.output, metadata={"converted_from": str(args.input)},
             format="safetensors")
    except OSError as e:
        # (the error names the hidden temp file of the atomic write; the user knows the target)
        return _fail(f"cannot write {args.output}: {e.strerror or e}")
    n = sum(t.numel() for t in state.values())
    print(f"wrote {args.output}: {len(state)} tensors, {n:,} values")
    return 0


def main(argv=None) -> int:
    parser = _Parser(prog="nanotorch")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    c = sub.add_parser("convert", help="convert a .pth/.pt weight file to .safetensors")
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument("--strip-prefix", default=None, help="remove this key prefix (e.g. module.)")
    args = parser.parse_args(argv)
    return convert(args)


if __name__ == "__main__":
    raise SystemExit(main())
