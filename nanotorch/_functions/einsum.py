"""``einsum``: any equation NumPy accepts (implicit or explicit output, ``...``, repeated
subscripts for diagonals, size-1 broadcasting), differentiable."""
from __future__ import annotations

import string

from .. import _dtype
from ..ops import einsum as ES
from ..tensor import Tensor


def _parse(equation, operands):
    """``(input subscripts, output subscripts)`` with ``...`` replaced by letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation" if len(operands) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the "
                           "equation")
    for c in eq:
        if not (c in string.ascii_letters or c in ",.->"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in "
                               f"the equation string, subscripts must be in [a-zA-Z]")
    free = [c for c in string.ascii_letters if c not in eq]
    n_ell = 0
    for term, t in zip(terms, operands):
        letters = len(term.replace("...", ""))
        if "..." in term:
            n_ell = max(n_ell, t.ndim - letters)
        elif letters != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({letters}) "
                               f"does not match the number of dimensions ({t.ndim}) for operand "
                               f"{terms.index(term)} and no ellipsis was given")
    ell = "".join(free[:n_ell])
    inputs = []
    for term, t in zip(terms, operands):
        if "..." in term:
            k = t.ndim - len(term.replace("...", ""))
            term = term.replace("...", ell[n_ell - k:] if k else "")
        inputs.append(term)
    if arrow:
        output = rhs.replace("...", ell)
        for c in output:
            if output.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   f"the output")
            if c not in "".join(inputs):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   f"equation for any input operand")
    else:
        joined = "".join(term.replace("...", "") for term in terms)
        output = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return inputs, output


def _sizes(inputs, operands):
    """The size of each subscript (size-1 dims broadcast), checked."""
    sizes = {}
    for i, (subs, t) in enumerate(zip(inputs, operands)):
        for c, n in zip(subs, t.shape):
            have = sizes.get(c, 1)
            if n != 1 and have != 1 and n != have:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript '{c}' has size {n} for "
                                   f"operand {i} which does not broadcast with previously seen "
                                   f"size {have}")
            sizes[c] = n if have == 1 else have
    return sizes


def einsum_explicit(inputs, output, operands):
    """einsum of subscripts already free of ``...`` (used by the backward too)."""
    sizes = _sizes(inputs, operands)
    expanded = []
    for subs, t in zip(inputs, operands):
        full = tuple(sizes[c] for c in subs)
        expanded.append(t if tuple(t.shape) == full else t.expand(*full))
    out = ES.Einsum.apply(*expanded, inputs=tuple(inputs), output=output, sizes=sizes)
    return out


def einsum(equation, *operands):
    """``einsum("ij,jk->ik", a, b)``; operands may also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for t in operands:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): expected Tensor operands, got {type(t).__name__}")
    dt = _dtype.result_type(*operands)
    operands = [t if t.dtype is dt else t.to(dt) for t in operands]
    inputs, output = _parse(equation, operands)
    return einsum_explicit(inputs, output, operands)


__all__ = ["einsum"]
