"""Shape ops: views (view/reshape/permute/expand/squeeze), repeat, cat, stack, flip, roll."""
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
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return out

    def backward(self, g):
        return g.reshape(self.in_shape)


class Reshape(View, backward_name="UnsafeViewBackward0"):
    """reshape that had to copy (the input's strides did not allow a view)."""

    def forward(self, a, shape):
        self.in_shape = a.shape
        return np.reshape(a, shape)


class SqueezeAll(View, backward_name="SqueezeBackward0"):
    pass


class Squeeze(View, backward_name="SqueezeBackward1"):
    pass


class SqueezeDims(View, backward_name="SqueezeBackward2"):
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
    """Concatenation; 1-D empty inputs are skipped (they get zero-size gradients)."""

    def forward(self, *arrays, dim, dtype):
        nd = max(a.ndim for a in arrays)
        self.skipped = [a.ndim == 1 and a.size == 0 and nd > 1 for a in arrays]
        self.sizes = [0 if skip else a.shape[dim] for a, skip in zip(arrays, self.skipped)]
        self.dim = dim
        kept = [a for a, skip in zip(arrays, self.skipped) if not skip]
        return np.concatenate(kept, axis=dim, dtype=dtype)

    def backward(self, g):
        grads, start = [], 0
        for size, skip, need in zip(self.sizes, self.skipped, self.needs_input_grad):
            if need:
                grads.append(g.new_zeros(0) if skip else g.narrow(self.dim, start, size))
            else:
                grads.append(None)
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
        return np.flip(a, axis=dims).copy()  # a copy, as in PyTorch

    def backward(self, g):
        return g.flip(self.dims)


class Roll(Op):
    """Shift elements along ``dims`` by ``shifts`` (wrapping around); without dims, along
    the flattened tensor."""

    def forward(self, a, shifts, dims):
        self.shifts, self.dims = shifts, dims
        if dims is None:
            return np.roll(a.reshape(-1), shifts).reshape(a.shape)
        return np.roll(a, shifts, axis=dims)

    def backward(self, g):
        back = tuple(-s for s in self.shifts)
        return Roll.apply(g, shifts=back, dims=self.dims)


class CopySlices(Op, backward_name="CopySlices"):
    """The base of a view after an in-place op on the view: ``base`` with the view's
    region replaced by ``src``. The data is already in place; forward only links the graph."""

    def forward(self, base, src, view_fn):
        self.view_fn = view_fn
        return base

    def backward(self, g):
        from ..autograd.grad_mode import is_grad_enabled, no_grad
        need_base, need_src = self.needs_input_grad
        g_base = g_src = None
        if need_base:
            if is_grad_enabled():  # create_graph: keep it differentiable
                mask = g.new_ones(g.shape)
                with no_grad():
                    self.view_fn(mask).zero_()
                g_base = g * mask
            else:
                g_base = g.clone()
                self.view_fn(g_base).zero_()
        if need_src:
            g_src = self.view_fn(g)
        return g_base, g_src

    def _release_extra(self):
        self.view_fn = None
