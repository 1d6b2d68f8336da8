"""``einsum`` on explicit equations (``_functions/einsum.py`` makes them explicit). The
gradient of each operand is itself an einsum: the output gradient contracted with the
other operands, plus identity matrices for repeated subscripts and ones for subscripts
that only that operand has."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap


class Einsum(Op):
    """``inputs``: the operand subscripts (one string each); ``output``: the result's.
    Operands arrive broadcast to a common size per subscript."""

    def forward(self, *arrays, inputs, output, sizes):
        self.inputs, self.output, self.sizes = inputs, output, sizes
        self.save_inputs(*range(len(arrays)))
        equation = ",".join(inputs) + "->" + output
        return np.asarray(np.einsum(equation, *arrays, optimize=len(arrays) > 1))

    def backward(self, g):
        from .._functions.einsum import einsum_explicit
        operands = self.saved_tensors
        grads = []
        for i, (need, subs) in enumerate(zip(self.needs_input_grad, self.inputs)):
            if not need:
                grads.append(None)
                continue
            terms, tensors = [self.output], [g]
            for j, (other, t) in enumerate(zip(self.inputs, operands)):
                if j != i:
                    terms.append(other)
                    tensors.append(t)
            target = _grad_target(subs, terms, tensors, self.sizes, g._array.dtype)
            grads.append(einsum_explicit(terms, target, tensors))
        return tuple(grads)


def _grad_target(subs, terms, tensors, sizes, dtype):
    """The result subscripts of operand ``subs``'s gradient; appends to ``terms`` /
    ``tensors`` the identity matrices (repeated subscripts) and ones vectors (subscripts
    no other term has) that make it a plain einsum."""
    used = set("".join(terms)) | set(subs)
    fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
    target, seen = [], set()
    present = set("".join(terms))
    for c in subs:
        if c in seen:  # a repeated subscript: the gradient lives on the diagonal
            new = next(fresh)
            terms.append(c + new)
            tensors.append(_wrap(np.eye(sizes[c], dtype=dtype)))
            target.append(new)
            continue
        seen.add(c)
        if c not in present:  # summed over in this operand only: broadcast the gradient
            terms.append(c)
            tensors.append(_wrap(np.ones(sizes[c], dtype=dtype)))
            present.add(c)
        target.append(c)
    return "".join(target)
