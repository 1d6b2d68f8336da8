"""Text rendering of arrays in PyTorch's ``tensor(...)`` layout, plus print options."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["format_tensor", "set_printoptions", "get_printoptions"]


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"set_printoptions: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Change how tensors print; `profile` ('default', 'short', 'full') sets a preset first.

    As in PyTorch, `sci_mode` is always assigned, so omitting it returns to automatic choice.
    """
    updates = {}
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}; "
                             f"expected one of {sorted(_PROFILES)}")
        updates.update(_PROFILES[profile])
    if precision is not None:
        updates["precision"] = _check_count("precision", precision, 0)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) \
                or not threshold >= 0:
            raise ValueError("set_printoptions: threshold must be a number >= 0, got "
                             f"{threshold!r}")
        updates["threshold"] = threshold
    if edgeitems is not None:
        updates["edgeitems"] = _check_count("edgeitems", edgeitems, 0)
    if linewidth is not None:
        updates["linewidth"] = _check_count("linewidth", linewidth, 1)
    if sci_mode is not None and not isinstance(sci_mode, (bool, np.bool_)):
        raise ValueError("set_printoptions: sci_mode must be True, False or None, got "
                         f"{sci_mode!r}")
    for key, value in updates.items():
        setattr(_OPTS, key, value)
    _OPTS.sci_mode = None if sci_mode is None else bool(sci_mode)


def get_printoptions() -> dict:
    """Current print options as a fresh dict."""
    return asdict(_OPTS)


class _ElementFormatter:
    """Decides one shared style and column width from the elements that will be shown."""

    def __init__(self, shown: np.ndarray):
        self.kind = shown.dtype.kind
        flat = shown.reshape(-1)
        if self.kind == "b":
            self.width = 5 if not flat.all() else 4
            return
        if self.kind in "iu":
            self.width = max(len(str(flat.min())), len(str(flat.max())))
            return
        regular = flat[np.isfinite(flat) & (flat != 0)]
        self.int_mode, self.sci_mode = True, False
        if regular.size:
            mags = np.abs(regular)
            lo, hi = float(mags.min()), float(mags.max())
            self.int_mode = bool(np.all(regular == np.ceil(regular)))
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        # A forced sci_mode only applies when some element is finite and nonzero.
        if _OPTS.sci_mode is not None and regular.size:
            self.sci_mode = _OPTS.sci_mode
        p = _OPTS.precision
        if self.sci_mode:
            self._spec = f".{p}e"
        elif self.int_mode:
            self._spec = ".0f"
        else:
            self._spec = f".{p}f"
        self.width = 1
        if regular.size:
            # Text length only grows with |x| (fixed) or with |exponent| (scientific), so the
            # widest text belongs to the smallest or largest magnitude of either sign.
            candidates = []
            for part in (regular[regular > 0], regular[regular < 0]):
                if part.size:
                    candidates += [part.min(), part.max()]
            self.width = max(len(self._text(float(v))) for v in candidates)

    def _text(self, value) -> str:
        if self.kind == "f":
            text = format(value, self._spec)
            if self.int_mode and not self.sci_mode and math.isfinite(value):
                text += "."
            return text
        return str(value)

    def texts(self, shown: np.ndarray) -> list[str]:
        """Right-aligned text of every element of `shown`, in C order."""
        w = self.width
        return [self._text(v).rjust(w) for v in shown.reshape(-1).tolist()]


def _summarize(array: np.ndarray, edge: int) -> tuple[np.ndarray, tuple[bool, ...]]:
    """Keep the first and last `edge` entries along every axis longer than 2*edge."""
    cut = tuple(n > 2 * edge for n in array.shape)
    for axis, is_cut in enumerate(cut):
        if is_cut:
            n = array.shape[axis]
            keep = np.r_[0:edge, n - edge:n]
            array = np.take(array, keep, axis=axis)
    return array, cut


def _nest(texts, shape, cut, start, indent, width, edge) -> str:
    """Bracketed layout of the block of `texts` starting at flat index `start` with `shape`."""
    ndim = len(shape)
    if ndim == 1:
        items = texts[start:start + shape[0]]
        if cut[0]:
            items = items[:edge] + [" ..."] + items[edge:]
        per_line = max(1, int(math.floor((_OPTS.linewidth - indent) / (width + 2))))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    block = math.prod(shape[1:])
    parts = [_nest(texts, shape[1:], cut[1:], start + i * block, indent + 1, width, edge)
             for i in range(shape[0])]
    if cut[0]:
        parts = parts[:edge] + ["..."] + parts[edge:]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _body(array: np.ndarray, indent: int) -> str:
    """The data part of the repr (non-empty array)."""
    summarize = array.size > _OPTS.threshold
    edge = _OPTS.edgeitems
    if array.ndim == 0:
        fmt = _ElementFormatter(array)
        return fmt.texts(array)[0]
    if summarize and edge == 0:
        return "[...]"
    if summarize:
        shown, cut = _summarize(array, edge)
    else:
        shown, cut = array, (False,) * array.ndim
    fmt = _ElementFormatter(shown)
    return _nest(fmt.texts(shown), shown.shape, cut, 0, indent, fmt.width, edge)


def _append_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Join suffixes after the data, moving one to a new line when it would pass linewidth."""
    out = [text]
    # Mirrors PyTorch's count, which is two more than the real length of a single-line text.
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > _OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            line_len += len(suffix) + 2
    out.append(")")
    return "".join(out)


_EMPTY_DEFAULT_NAMES = {"i8": "torch.int64", "b1": "torch.bool"}


def format_tensor(array: np.ndarray, *, dtype_suffix: str | None = None,
                  suffixes: list[str] = (), prefix: str = "tensor(") -> str:
    """Full PyTorch-style repr of `array`, e.g. ``tensor([1., 2.], requires_grad=True)``.

    `dtype_suffix` is the text after ``dtype=`` (pass it only for non-default dtypes; empty
    int64/bool arrays get theirs added, as PyTorch does);
    `suffixes` are extra ``key=value`` items; `prefix` may span lines, the last one sets the indent.
    """
    if isinstance(array, np.generic):
        array = np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"format_tensor expects a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"format_tensor: unsupported dtype {array.dtype} "
                        "(expected bool, integer or floating point)")
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    head, newline, first = prefix.rpartition("\n")
    head += newline
    indent = len(first)
    extra = []
    if array.size == 0:
        if array.ndim != 1:
            extra.append(f"size={tuple(array.shape)}")
        if dtype_suffix is None:
            # "[]" cannot show that it holds integers or bools, so those defaults are named too.
            dtype_suffix = _EMPTY_DEFAULT_NAMES.get(array.dtype.str[1:])
        body = "[]"
    else:
        if _OPTS.edgeitems == 0:
            extra.append(f"size={tuple(array.shape)}")
        body = _body(array, indent)
    if dtype_suffix is not None:
        extra.append(f"dtype={dtype_suffix}")
    extra.extend(suffixes)
    return head + _append_suffixes(first + body, extra, indent)
