"""The weight initialisation torchvision's CNNs share (VGG, MobileNet V2/V3, EfficientNet)."""
from __future__ import annotations

from .. import nn


def linear_normal(m):
    """A Linear layer's weights from N(0, 0.01^2)."""
    nn.init.normal_(m.weight, 0, 0.01)


def init_cnn(model, linear_init=linear_normal):
    """Conv2d weights Kaiming-normal (fan_out, ReLU gain), BatchNorm2d weight 1, Linear
    weights by ``linear_init(layer)``; every bias of these layers zero."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            linear_init(m)
            nn.init.zeros_(m.bias)
