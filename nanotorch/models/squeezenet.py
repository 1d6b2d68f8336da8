"""SqueezeNet 1.0 and 1.1 with torchvision's module tree and state_dict keys."""
from __future__ import annotations

from .. import nn
from ..functions import cat
from ._registry import register_model
from ._weights import load_pretrained, v1_weights


class Fire(nn.Module):
    """1x1 squeeze conv, then 1x1 and 3x3 expand convs concatenated along channels."""

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return cat([self.expand1x1_activation(self.expand1x1(x)),
                    self.expand3x3_activation(self.expand3x3(x))], 1)


def _pool():
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    """The classifier is a 1x1 conv to ``num_classes`` channels, averaged over space
    (``classifier[1]`` is the head to replace for fine-tuning)."""

    def __init__(self, version="1_0", num_classes=1000, dropout=0.5):
        super().__init__()
        self.num_classes = num_classes
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), _pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), _pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256), _pool(), Fire(512, 64, 256, 256))
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), _pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), _pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), _pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256))
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return self.classifier(self.features(x)).flatten(1)


SqueezeNet1_0_Weights = v1_weights("SqueezeNet1_0_Weights", "squeezenet1_0-b66bff10.pth", 1_248_424,
                                   min_size=(21, 21))
SqueezeNet1_1_Weights = v1_weights("SqueezeNet1_1_Weights", "squeezenet1_1-b8a52dc0.pth", 1_235_496,
                                   min_size=(17, 17))


def _squeezenet(version, weights_cls, weights, pretrained, kwargs):
    model = SqueezeNet(version, **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(SqueezeNet1_0_Weights)
def squeezenet1_0(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _squeezenet("1_0", SqueezeNet1_0_Weights, weights, pretrained, kwargs)


@register_model(SqueezeNet1_1_Weights)
def squeezenet1_1(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _squeezenet("1_1", SqueezeNet1_1_Weights, weights, pretrained, kwargs)
