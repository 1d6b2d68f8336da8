"""A small ONNX graph builder over the ``onnx`` package's helpers."""
from __future__ import annotations

import numpy as np


class GraphBuilder:
    """Nodes, initializers and value aliases of the graph being written."""

    def __init__(self, opset, consts, input_name="input", batch=0):
        import onnx  # optional dependency: nanotorch[export]
        self.onnx = onnx
        self.opset = opset
        self.consts = consts          # trace constants, turned into initializers when used
        self.nodes = []
        self.initializers = {}
        self.alias = {}               # value name -> the name that holds it
        self.count = 0
        self.input_name, self.batch = input_name, batch
        self._batch_size = None

    def batch_size(self):
        """A graph value holding the input's batch size as a 1-element int64 tensor."""
        if self._batch_size is None:
            shape = self.node("Shape", [self.input_name])
            self._batch_size = self.node("Slice", [shape, self.ints([0]), self.ints([1])])
        return self._batch_size

    def shape_with_batch(self, shape):
        """A graph value: ``shape`` with its first entry replaced by the input's batch."""
        return self.node("Concat", [self.batch_size(), self.ints(list(shape)[1:])], axis=0)

    def value(self, name):
        """The graph name of trace value ``name`` (adding its initializer if constant)."""
        name = self.alias.get(name, name)
        if name in self.consts and name not in self.initializers:
            arr = np.asarray(self.consts[name])
            if arr.dtype.kind == "f" and arr.dtype != np.float32:
                arr = arr.astype(np.float32)
            self.initializers[name] = self.onnx.numpy_helper.from_array(arr, name)
        return name

    def const(self, arr, hint="c"):
        """A new initializer holding ``arr``; returns its name."""
        self.count += 1
        name = f"{hint}_{self.count}"
        self.consts[name] = np.asarray(arr)
        return self.value(name)

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64), "ints")

    def node(self, op_type, inputs, output=None, **attrs):
        """Add a node; ``inputs`` are graph names ('' for an absent optional input)."""
        if output is None:
            self.count += 1
            output = f"{op_type}_tmp_{self.count}"
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output], **attrs))
        return output

    def is_const(self, name):
        return self.alias.get(name, name) in self.consts

    def const_value(self, name):
        return self.consts[self.alias.get(name, name)]
