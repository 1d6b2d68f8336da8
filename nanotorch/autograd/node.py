"""Graph nodes: the ``grad_fn`` objects, saved tensors with version checks, AccumulateGrad."""
from __future__ import annotations

import itertools
import weakref

_sequence = itertools.count()


def add_hook(hooks: dict, hook):
    """Store ``hook`` in ``hooks`` under a new handle's id; return the handle."""
    from ..utils.hooks import RemovableHandle  # nanotorch.utils imports the whole package
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


class SavedTensor:
    """A tensor kept for backward, with the version it had when saved.

    A node's own output is kept without its ``grad_fn`` (that would be a reference
    cycle) and re-linked to the node when unpacked."""

    __slots__ = ("tensor", "array", "version_box", "version", "is_output", "requires_grad",
                 "output_nr")

    def __init__(self, tensor, is_output: bool = False):
        self.version_box = tensor._version_box
        self.version = tensor._version_box[0]
        self.is_output = is_output
        if is_output:
            self.tensor = None
            self.array = tensor._array
            self.requires_grad = tensor.requires_grad
            self.output_nr = tensor._output_nr
        else:
            self.tensor = tensor
            self.array = None

    def unpack(self, node):
        if self.version_box[0] != self.version:
            t = self.tensor
            shape = list(t.shape if t is not None else self.array.shape)
            kind = "output" if self.is_output else "input"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [tensor of shape {shape}], which is {kind} of "
                f"{node.name()}, is at version {self.version_box[0]}; expected version "
                f"{self.version} instead. Hint: the inplace operation happened after this "
                "value was saved for backward; use an out-of-place operation or .clone().")
        if not self.is_output:
            return self.tensor
        from ..tensor import Tensor
        out = Tensor._wrap(self.array, self.version_box)
        if self.requires_grad:
            out.requires_grad = True
            out.grad_fn = node
            out._output_nr = self.output_nr
        return out


class Node:
    """A node of the backward graph. ``next_functions`` pairs each input with the node
    that produced it (or its AccumulateGrad for leaves, None when no grad is needed)."""

    once_differentiable = False

    def __init__(self):
        self.next_functions = ()
        self._saved = None           # list of SavedTensor
        self._freed = False
        self._input_meta = ()        # (shape, dtype) of each input, to check grads
        self._pre_hooks = None       # output_nr -> {handle id: hook}
        self._retained = None        # output_nr -> weakref(tensor) for retain_grad
        self._seq = next(_sequence)
        self.needs_input_grad = ()

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    # Saved tensors -----------------------------------------------------------
    def save_for_backward(self, *tensors):
        self._saved = [None if t is None else SavedTensor(t) for t in tensors]

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        if not self._saved:
            return ()
        return tuple(None if s is None else s.unpack(self) for s in self._saved)

    def release(self):
        """Drop saved values after a backward pass that does not retain the graph."""
        self._freed = True
        self._saved = None
        self._release_extra()

    def _release_extra(self):
        pass

    # Hooks ----------------------------------------------------------------------
    def register_prehook_for_output(self, output_nr, hook):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return add_hook(self._pre_hooks.setdefault(output_nr, {}), hook)

    def retain_output(self, output_nr, tensor):
        if self._retained is None:
            self._retained = {}
        self._retained[output_nr] = weakref.ref(tensor)

    def apply(self, *grad_outputs):
        raise NotImplementedError


class AccumulateGrad(Node):
    """Sink node of a leaf tensor: adds incoming gradients into ``leaf.grad``."""

    def __init__(self, leaf):
        super().__init__()
        self.variable_ref = weakref.ref(leaf)
        self._input_meta = ((leaf.shape, leaf.dtype),)
        self.leaf_hooks = {}         # handle id -> hook

    @property
    def variable(self):
        return self.variable_ref()
