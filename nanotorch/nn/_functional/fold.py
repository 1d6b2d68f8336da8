"""``F.unfold`` / ``F.fold``: sliding-window columns (im2col) and their sum back into an
image (col2im), checks and PyTorch's messages in front of ``ops/conv.py``."""
from __future__ import annotations

from ...ops.conv import Fold, Unfold
from ._checks import check_float, pair
from ._half import float16_via_float32


def _window(kernel_size, dilation, padding, stride):
    k, d = pair(kernel_size, "kernel_size"), pair(dilation, "dilation")
    p, s = pair(padding, "padding"), pair(stride, "stride")
    if min(k) < 1:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{k[0]} kernel_width: {k[1]}")
    if min(d) < 1:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{d[0]} dilation_width: {d[1]}")
    if min(p) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} "
                           f"pad_width: {p[1]}")
    if min(s) < 1:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {s[0]} "
                           f"stride_width: {s[1]}")
    return k, d, p, s


def _blocks(spatial, k, d, p, s):
    """The (rows, cols) of sliding-block positions; PyTorch's message when one is < 1."""
    blocks = tuple((n + 2 * pi - di * (ki - 1) - 1) // si + 1
                   for n, ki, di, pi, si in zip(spatial, k, d, p, s))
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(spatial)}, kernel_size={k}, "
                           f"dilation={d}, padding={p}, calculated shape of the array of sliding "
                           f"blocks as {blocks}, but its components must be at least one.")
    return blocks


@float16_via_float32
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of ``input`` (N, C, H, W) or (C, H, W) as columns (N, C*kH*kW, L)."""
    check_float(input, "input", "unfold", kernel_dtypes=True)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    k, d, p, s = _window(kernel_size, dilation, padding, stride)
    _blocks(input.shape[-2:], k, d, p, s)
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    y = Unfold.apply(x, kernel_size=k, dilation=d, padding=p, stride=s)
    return y.squeeze(0) if unbatched else y


@float16_via_float32
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns (N, C*kH*kW, L) or (C*kH*kW, L) of sliding blocks back into an image of
    ``output_size``; the adjoint of ``unfold``."""
    check_float(input, "input", "fold", kernel_dtypes=True)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    out = pair(output_size, "output_size")
    k, d, p, s = _window(kernel_size, dilation, padding, stride)
    ck, length = input.shape[-2:]
    if ck % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={ck} and kernel_size={k}.")
    blocks = _blocks(out, k, d, p, s)
    if blocks[0] * blocks[1] != length:
        raise RuntimeError(f"Given output_size={out}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {blocks[0]} * "
                           f"{blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={length}.")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    y = Fold.apply(x, output_size=out, kernel_size=k, dilation=d, padding=p, stride=s)
    return y.squeeze(0) if unbatched else y
