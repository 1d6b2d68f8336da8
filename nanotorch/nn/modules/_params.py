"""The ``weight``/``bias`` pair most layers register, and the affine norms' reset."""
from __future__ import annotations

import math

from ... import creation
from .. import init
from ..parameter import Parameter


def register_weight_bias(module, weight_shape, bias_shape, weight=True, bias=True,
                         dtype=None, device=None):
    """Register uninitialised ``weight`` and ``bias`` Parameters on ``module``; ``None``
    for ``weight`` when it is off, for ``bias`` when either is off."""
    def param(on, shape):
        return Parameter(creation.empty(shape, dtype=dtype, device=device)) if on else None
    module.register_parameter("weight", param(weight, weight_shape))
    module.register_parameter("bias", param(weight and bias, bias_shape))


def reset_fan_in_uniform(module, bias_without_fan=True):
    """PyTorch's start for Linear and Conv: weight Kaiming-uniform with ``a=sqrt(5)``, i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range. With no fan-in
    the bias becomes 0, or (``bias_without_fan=False``, as Conv) is left as it is."""
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(module.weight)
        if fan_in > 0 or bias_without_fan:
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(module.bias, -bound, bound)


def reset_affine(module):
    """An affine norm's start: weight 1, bias 0 (each where present)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)
