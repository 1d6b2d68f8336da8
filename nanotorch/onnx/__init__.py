"""Export a model to ONNX (``torch.onnx.export``'s job, for inference graphs).

The model runs once on the example input while every op call is recorded
(``trace.py``); eval-mode BatchNorm is folded into the convolution before it
(``fold.py``); each recorded op becomes ONNX nodes (``convert.py``). The batch axis is
dynamic; other sizes are those of the example. Needs ``pip install 'nanotorch[export]'``.
"""
from __future__ import annotations

import numpy as np

from ..functions import cat
from .convert import CONVERTERS, _Unsupported, find_converter
from .fold import fold_batch_norm
from .graph import GraphBuilder
from .trace import fold_constants, mark_dynamic, op_label, trace

DEFAULT_OPSET = 17
MIN_OPSET = 14


class UnsupportedOperatorError(RuntimeError):
    """The model uses an op (or an op's mode) the exporter does not translate."""


def to_onnx(model, example, *, opset_version=DEFAULT_OPSET, input_name="input",
            output_name="output", dynamic_batch=True, fold_batchnorm=True):
    """The ``onnx.ModelProto`` of ``model`` (put in eval mode) run on ``example``."""
    import onnx
    from onnx import helper

    if not MIN_OPSET <= opset_version <= onnx.defs.onnx_opset_version():
        raise ValueError(f"opset_version must be in [{MIN_OPSET}, "
                         f"{onnx.defs.onnx_opset_version()}], got {opset_version}")
    was_training = model.training
    model.eval()
    try:
        tr, out = trace(model, example)
        # a second pass one image larger tells which sizes follow the batch
        tr_more, _ = trace(model, cat([example, example[:1]]))
    finally:
        model.train(was_training)
    mark_dynamic(tr, tr_more)
    fold_constants(tr)
    if fold_batchnorm:
        fold_batch_norm(tr)
    b = GraphBuilder(opset_version, tr.consts, input_name, tr.batch)
    b.alias[tr.input] = input_name
    for r in tr.records:
        convert = find_converter(r.op)
        if convert is None:
            raise UnsupportedOperatorError(
                f"ONNX export: op {op_label(r.op)} (in layer {r.where}) is not supported; "
                f"supported ops: {', '.join(sorted({op_label(c) for c in CONVERTERS}))}")
        try:
            convert(b, r, [None if n is None else b.value(n) for n in r.inputs])
        except _Unsupported as e:
            raise UnsupportedOperatorError(f"ONNX export: op {op_label(r.op)} (in layer "
                                           f"{r.where}): {e} is not supported") from None
    b.node("Identity", [b.value(tr.output)], output_name)
    batch = "batch" if dynamic_batch else example.shape[0]
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(np.float32))
    graph = helper.make_graph(
        b.nodes, type(model).__name__,
        [helper.make_tensor_value_info(input_name, elem, [batch, *example.shape[1:]])],
        [helper.make_tensor_value_info(output_name, elem, [batch, *out.shape[1:]])],
        initializer=list(b.initializers.values()))
    opsets = [helper.make_opsetid("", opset_version)]
    # the oldest IR version that opset allows: runtimes lag behind the onnx package's newest
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="nanotorch",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    return proto


def export(model, example, f, **kwargs):
    """Write ``to_onnx(model, example, **kwargs)`` to the path or file ``f``."""
    import onnx
    proto = to_onnx(model, example, **kwargs)
    onnx.save_model(proto, f)
    return proto


def run_onnxruntime(proto, inputs):
    """Outputs of ``proto`` (a ModelProto or path) on ``inputs`` (an array) with
    onnxruntime."""
    import onnxruntime as ort
    data = proto if isinstance(proto, str) else proto.SerializeToString()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.asarray(inputs, dtype=np.float32)})[0]


__all__ = ["to_onnx", "export", "run_onnxruntime", "UnsupportedOperatorError",
           "DEFAULT_OPSET"]
