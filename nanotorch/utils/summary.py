"""``summary(model, input_size)``: a per-layer table of output shapes and parameter counts,
laid out like torchinfo's."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..autograd.grad_mode import no_grad
from ..creation import zeros
from ..tensor import Tensor


@dataclass
class LayerInfo:
    name: str
    type_name: str
    depth: int
    index: str
    output_shape: list | None = None
    params: int = 0
    trainable: int = 0
    is_leaf: bool = True


@dataclass
class ModelStatistics:
    layers: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    input_size: tuple = ()
    output_bytes: int = 0
    param_bytes: int = 0
    input_bytes: int = 0

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self):
        width = 96
        rule = "=" * width
        rows = [rule, f"{'Layer (type:depth-idx)':<44}{'Output Shape':<24}{'Param #':>14}"
                      f"{'Trainable':>14}", rule]
        for info in self.layers:
            label = ("  " * max(info.depth - 1, 0) + ("└─" if info.depth else "")
                     + info.type_name + (f": {info.index}" if info.depth else ""))
            shape = str(info.output_shape) if info.output_shape is not None else "--"
            own = info.params if info.is_leaf else 0
            params = f"{own:,}" if info.is_leaf and info.params else "--"
            trainable = ("--" if not info.is_leaf or not info.params else
                         "True" if info.trainable == info.params else
                         "False" if info.trainable == 0 else "Partial")
            rows.append(f"{label[:43]:<44}{shape[:23]:<24}{params:>14}{trainable:>14}")
        mb = 1 / 2**20
        rows += [rule,
                 f"Total params: {self.total_params:,}",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.non_trainable_params:,}",
                 rule,
                 f"Input size (MB): {self.input_bytes * mb:.2f}",
                 f"Forward pass size (MB): {self.output_bytes * mb:.2f}",
                 f"Params size (MB): {self.param_bytes * mb:.2f}",
                 f"Estimated Total Size (MB): "
                 f"{(self.input_bytes + self.output_bytes + self.param_bytes) * mb:.2f}",
                 rule]
        return "\n".join(rows)

    __repr__ = __str__


def _shape_of(out):
    if isinstance(out, Tensor):
        return list(out.shape)
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return [list(o.shape) for o in out if isinstance(o, Tensor)]
    return None


def summary(model, input_size=None, input_data=None, dtypes=None, depth: int = 3,
            verbose: int = 1) -> ModelStatistics:
    """Run one forward pass (no grad, eval mode) on zeros of ``input_size`` (batch
    included, e.g. ``(1, 3, 224, 224)``) or on ``input_data`` and tabulate each layer up
    to ``depth``. Prints the table when ``verbose`` and returns the statistics."""
    if input_data is None:
        if input_size is None:
            raise ValueError("summary needs input_size=(batch, ...) or input_data")
        dtype = dtypes[0] if dtypes else None
        input_data = zeros(*input_size, dtype=dtype)
    stats = ModelStatistics(input_size=tuple(input_data.shape),
                            input_bytes=input_data.numel() * input_data.element_size())
    infos, handles = {}, []
    counters = {}

    def visit(module, name, d, parent_index):
        own = sum(p.numel() for p in module.parameters())
        trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
        children = list(module.named_children())
        counters[d] = counters.get(d, 0) + 1
        index = f"{d}-{counters[d]}"
        info = LayerInfo(name, type(module).__name__, d, index, params=own, trainable=trainable,
                         is_leaf=not children or d == depth)
        stats.layers.append(info)
        infos[id(module)] = info
        handles.append(module.register_forward_hook(_record(info, stats)))
        if d < depth:
            for child_name, child in children:
                visit(child, f"{name}.{child_name}" if name else child_name, d + 1, index)

    visit(model, "", 0, "")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(input_data)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    params = list(model.parameters())
    stats.total_params = sum(p.numel() for p in params)
    stats.trainable_params = sum(p.numel() for p in params if p.requires_grad)
    stats.param_bytes = sum(p.numel() * p.element_size() for p in params)
    if verbose:
        print(stats)
    return stats


def _record(info, stats):
    def hook(module, inputs, out):
        if info.output_shape is None:
            info.output_shape = _shape_of(out)
            if info.is_leaf and isinstance(out, Tensor):
                stats.output_bytes += out.numel() * out.element_size()
    return hook
