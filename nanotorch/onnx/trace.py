"""Record the ops one forward pass runs: every differentiable op computes in its
``forward`` on arrays, so wrapping the ``forward`` of every Op class for the length of the
pass gives the whole computation, op by op, with the arrays that flow between ops named."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


@dataclass
class Record:
    """One op call: ``op`` (the Op class), input value names (None for an absent input),
    the keyword parameters, the output name and shapes, and the layer that ran it."""
    op: type
    inputs: list
    params: dict
    output: str
    out_shape: tuple
    in_shapes: list
    where: str
    out_dynamic: tuple = ()   # per output dim: whether it follows the batch size
    value: object = None      # the output, kept when every input is a constant


@dataclass
class Trace:
    records: list = field(default_factory=list)
    consts: dict = field(default_factory=dict)    # value name -> array (weights, constants)
    batch: int = 0                                # the example's batch size
    input: str = "input"
    output: str = ""


class _Recorder:
    def __init__(self, model):
        self.trace = Trace()
        self.names = {}      # id(array) -> current value name
        self.keep = []       # the arrays named, alive so their ids stay unique
        self.stack = ["(model)"]  # qualified name of the module running now
        self.count = 0
        self.const_made = set()   # outputs of ops on constants only
        self.labels = {}     # id(parameter/buffer array) -> its qualified name
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            self.labels.setdefault(id(t._array), name)

    def bind(self, arr, name):
        self.names[id(arr)] = name
        self.keep.append(arr)

    def name_of(self, arr):
        """The value name of ``arr``; an array no recorded op made is a constant."""
        if arr is None:
            return None
        name = self.names.get(id(arr))
        if name is None:
            label = self.labels.get(id(arr))
            name = label if label and label not in self.trace.consts else f"const_{len(self.keep)}"
            self.trace.consts[name] = np.array(arr)
            self.bind(arr, name)
        return name

    def record(self, cls, arrays, params, result):
        names = [self.name_of(a) if isinstance(a, np.ndarray) else None for a in arrays]
        self.count += 1
        out = f"{op_label(cls)}_{self.count}"
        rec = Record(cls, names, params, out, tuple(np.shape(result)),
                     [None if a is None else tuple(np.shape(a)) for a in arrays], self.stack[-1])
        if all(n is None or n in self.trace.consts or n in self.const_made for n in names):
            rec.value = np.array(result)  # a candidate for folding (see fold_constants)
            self.const_made.add(out)
        self.trace.records.append(rec)
        self.bind(result, out)

    def record_copy_back(self, target, out):
        # an in-place method computed out of place, then copied into ``target``'s storage
        if out._array is not target._array and id(out._array) in self.names:
            self.bind(target._array, self.names[id(out._array)])


def op_label(cls):
    """An op's readable name: its class name without the ``Backward0`` suffix."""
    return re.sub(r"Backward[0-9]*$", "", cls.__name__)


def _op_classes():
    todo, seen = [Op], []
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def trace(model, example):
    """Run ``model(example)`` once without gradients and return its ``Trace``."""
    rec = _Recorder(model)
    rec.bind(example._array, rec.trace.input)
    rec.trace.batch = example.shape[0]
    original_copy_back = Tensor._inplace_from
    depth = [0]

    def wrap(forward):
        def recorded(self, *arrays, **params):
            depth[0] += 1
            try:
                result = forward(self, *arrays, **params)
            finally:
                depth[0] -= 1
            if depth[0] == 0:  # the op itself, not a base class's forward it calls
                rec.record(type(self), arrays, params, result)
            return result
        return recorded

    def inplace_from(self, out, track):
        result = original_copy_back(self, out, track)
        rec.record_copy_back(self, out)
        return result

    def enter(m, args, q):
        rec.stack.append(f"{q or '(model)'} ({type(m).__name__})")

    def leave(m, args, out):
        rec.stack.pop()

    handles = []
    for qualname, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(
            lambda m, args, q=qualname: enter(m, args, q)))
        handles.append(module.register_forward_hook(leave))
    forwards = {cls: cls.__dict__["forward"] for cls in _op_classes() if "forward" in cls.__dict__}
    for cls, forward in forwards.items():
        cls.forward = wrap(forward)
    Tensor._inplace_from = inplace_from
    try:
        with no_grad():
            out = model(example)
    finally:
        for cls, forward in forwards.items():
            cls.forward = forward
        Tensor._inplace_from = original_copy_back
        for h in handles:
            h.remove()
    if not isinstance(out, Tensor):
        raise TypeError(f"export: the model must return one tensor, got {type(out).__name__}")
    rec.trace.output = rec.name_of(out._array)
    return rec.trace, out


def mark_dynamic(trace_, other):
    """Set each record's ``out_dynamic`` from ``other``, the trace of the same model on a
    batch one larger: the output sizes that differ follow the batch."""
    same = len(trace_.records) == len(other.records) and all(
        r.op is o.op and len(r.out_shape) == len(o.out_shape)
        for r, o in zip(trace_.records, other.records))
    if not same:
        raise RuntimeError("ONNX export: the model runs different ops for another batch size, "
                           "so its graph cannot have a dynamic batch")
    for r, o in zip(trace_.records, other.records):
        r.out_dynamic = tuple(a != b for a, b in zip(r.out_shape, o.out_shape))


def fold_constants(trace_):
    """Replace the ops computed from constants only (a position-bias table gathered by a
    fixed index, a mask built from sizes) by their value, unless their output size follows
    the batch (a class token expanded to the batch stays an op)."""
    kept = []
    for r in trace_.records:
        if (r.value is not None and not any(r.out_dynamic)
                and all(n is None or n in trace_.consts for n in r.inputs)):
            trace_.consts[r.output] = r.value
        else:
            kept.append(r)
        r.value = None
    trace_.records = kept
