"""Fold eval-mode BatchNorm into the convolution before it."""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..ops.conv import Conv2d
from ..ops.norm import BatchNormEval


def fold_batch_norm(trace):
    """Rewrite ``trace`` in place: a BatchNorm whose input is a convolution's output used
    by nothing else becomes part of that convolution's weight and bias."""
    uses = Counter(n for r in trace.records for n in r.inputs if n is not None)
    uses[trace.output] += 1
    producer = {r.output: r for r in trace.records}
    kept = []
    for r in trace.records:
        conv = producer.get(r.inputs[0]) if r.op is BatchNormEval else None
        if (conv is None or conv.op is not Conv2d or uses[conv.output] != 1
                or any(n is not None and n not in trace.consts
                       for n in conv.inputs[1:] + r.inputs[1:])):
            kept.append(r)
            continue
        c = trace.consts
        w = c[conv.inputs[1]].astype(np.float64)
        b = c[conv.inputs[2]].astype(np.float64) if conv.inputs[2] else np.zeros(w.shape[0])
        gamma = c[r.inputs[1]].astype(np.float64) if r.inputs[1] else np.ones(w.shape[0])
        beta = c[r.inputs[2]].astype(np.float64) if r.inputs[2] else np.zeros(w.shape[0])
        scale = gamma / np.sqrt(r.params["running_var"].astype(np.float64) + r.params["eps"])
        dtype = c[conv.inputs[1]].dtype
        wname, bname = f"{r.output}.folded_weight", f"{r.output}.folded_bias"
        c[wname] = (w * scale[:, None, None, None]).astype(dtype)
        c[bname] = ((b - r.params["running_mean"]) * scale + beta).astype(dtype)
        conv.inputs = [conv.inputs[0], wname, bname]
        conv.output = r.output  # the convolution now produces the normalized value
    trace.records = kept
