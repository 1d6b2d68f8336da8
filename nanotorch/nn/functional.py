"""Functional forms of the layers (``torch.nn.functional``). Each topic lives in
``nn/_functional/<topic>.py``; this module re-exports them."""
from ._functional.activation import (celu, elu, elu_, gelu, glu, hardshrink, hardsigmoid,
                                     hardswish, hardtanh, hardtanh_, leaky_relu, leaky_relu_,
                                     log_softmax, logsigmoid, mish, prelu, relu, relu6, relu_,
                                     selu, sigmoid, silu, softmax, softmin, softplus,
                                     softshrink, softsign, tanh, tanhshrink, threshold,
                                     threshold_)
from ._functional.dropout import dropout, dropout1d, dropout2d, dropout3d
from ._functional.linear import linear
from ._functional.padding import pad
from ._functional.sparse import embedding, one_hot
