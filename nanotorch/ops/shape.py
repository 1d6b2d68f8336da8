"""Shape ops: views (view/reshape/permute/expand/squeeze), repeat, cat, stack."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


class View(Op):
    def forward(self, a, shape):
        self.in_shape = a.shape
        out = a.view()
        try:
            out.shape = shape  # raises instead of copying when strides do not allow a view
        except AttributeError:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (at least one "
                f"dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return out

    def backward(self, g):
        return g.reshape(self.in_shape)


class Reshape(View, backward_name="UnsafeViewBackward0"):
    """reshape that had to copy (the input's strides did not allow a view)."""

    def forward(self, a, shape):
        self.in_shape = a.shape
        return np.reshape(a, shape)


class Squeeze(View, backward_name="SqueezeBackward1"):
    pass


class Unsqueeze(View, backward_name="UnsqueezeBackward0"):
    pass


class Permute(Op):
    def forward(self, a, dims):
        self.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    def backward(self, g):
        return g.permute(*self.inverse)


class Transpose(Permute, backward_name="TransposeBackward0"):
    pass


class T(Permute, backward_name="TBackward0"):
    pass


class Expand(Op):
    def forward(self, a, shape):
        self.in_shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, g):
        return g.sum_to_size(self.in_shape)


class Repeat(Op):
    def forward(self, a, repeats):
        self.in_shape = (1,) * (len(repeats) - a.ndim) + a.shape
        self.repeats = repeats
        return np.tile(a, repeats)

    def backward(self, g):
        # (r0*s0, r1*s1, ...) -> (r0, s0, r1, s1, ...) and sum over the r axes
        split = []
        for r, s in zip(self.repeats, self.in_shape):
            split += [r, s]
        g = g.reshape(split).sum(dim=tuple(range(0, len(split), 2)))
        return g


class Cat(Op):
    def forward(self, *arrays, dim, dtype):
        self.sizes = [a.shape[dim] for a in arrays]
        self.dim = dim
        return np.concatenate(arrays, axis=dim, dtype=dtype)

    def backward(self, g):
        grads, start = [], 0
        for size, need in zip(self.sizes, self.needs_input_grad):
            grads.append(g.narrow(self.dim, start, size) if need else None)
            start += size
        return tuple(grads)


class Stack(Op):
    def forward(self, *arrays, dim, dtype):
        self.dim = dim
        return np.stack(arrays, axis=dim, dtype=dtype)

    def backward(self, g):
        return tuple(g.select(self.dim, i) if need else None
                     for i, need in enumerate(self.needs_input_grad))


class Flip(Op):
    def forward(self, a, dims):
        self.dims = dims
        return np.flip(a, axis=dims)

    def backward(self, g):
        return g.flip(self.dims)
