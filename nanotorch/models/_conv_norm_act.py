"""Conv2d + BatchNorm2d + activation block (torchvision's Conv2dNormActivation)."""
from __future__ import annotations

from .. import nn


class Conv2dNormActivation(nn.Sequential):
    """A Sequential of Conv2d, an optional norm layer and an optional activation; keys
    0, 1, 2 as in torchvision. ``padding=None`` keeps the spatial size at stride 1; the
    conv has a bias only without a norm layer unless ``bias`` says otherwise."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None):
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            # inplace=None: the activation takes no such argument (GELU)
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels
