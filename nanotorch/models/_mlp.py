"""torchvision's ``ops.MLP``: Linear layers with norm, activation and dropout between them
(keys 0, 1, 2, ... in a Sequential), used by the transformer families."""
from __future__ import annotations

from .. import nn


class MLP(nn.Sequential):
    """For each size in ``hidden_channels`` but the last: Linear, optional norm, activation,
    Dropout; then Linear to the last size and Dropout."""

    def __init__(self, in_channels, hidden_channels, norm_layer=None,
                 activation_layer=nn.ReLU, inplace=None, bias=True, dropout=0.0):
        params = {} if inplace is None else {"inplace": inplace}
        layers = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)
