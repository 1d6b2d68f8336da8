"""Functional forms of the layers (``torch.nn.functional``). Each topic lives in
``nn/_functional/<topic>.py``; this module re-exports them."""
from ._functional.activation import (
    celu,
    elu,
    elu_,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    relu_,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
    threshold_,
)
from ._functional.attention import multi_head_attention_forward, scaled_dot_product_attention
from ._functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ._functional.distance import cosine_similarity, normalize, pairwise_distance
from ._functional.dropout import dropout, dropout1d, dropout2d, dropout3d
from ._functional.fold import fold, unfold
from ._functional.linear import linear
from ._functional.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ._functional.loss_composite import (
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from ._functional.normalization import batch_norm, group_norm, instance_norm, layer_norm
from ._functional.padding import pad
from ._functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from ._functional.sparse import embedding, one_hot
from ._functional.upsampling import (
    interpolate,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)

__all__ = [
    "cosine_embedding_loss", "cosine_similarity", "gaussian_nll_loss", "hinge_embedding_loss",
    "huber_loss", "kl_div", "margin_ranking_loss", "multilabel_soft_margin_loss", "normalize",
    "pairwise_distance", "poisson_nll_loss", "soft_margin_loss", "triplet_margin_loss",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "celu", "conv1d", "conv2d", "conv_transpose1d",
    "conv_transpose2d", "cross_entropy", "dropout", "dropout1d",
    "dropout2d", "dropout3d", "elu", "elu_", "embedding", "fold", "gelu", "glu",
    "group_norm", "hardshrink",
    "hardsigmoid", "hardswish", "hardtanh", "hardtanh_", "instance_norm", "interpolate",
    "l1_loss", "layer_norm", "leaky_relu",
    "leaky_relu_", "linear", "log_softmax", "logsigmoid", "max_pool1d", "max_pool2d",
    "mish", "mse_loss",
    "multi_head_attention_forward", "scaled_dot_product_attention",
    "nll_loss", "one_hot", "pad", "prelu", "relu", "relu6", "relu_", "selu", "sigmoid", "silu",
    "smooth_l1_loss", "softmax", "softmin", "softplus", "softshrink", "softsign", "tanh",
    "tanhshrink", "threshold", "threshold_", "unfold",
    "upsample", "upsample_bilinear", "upsample_nearest",
]
