"""VGG-11/13/16/19 and their batch-norm variants with torchvision's module tree and keys."""
from __future__ import annotations

from .. import nn
from ..functions import flatten
from ._init import init_cnn
from ._registry import register_model
from ._weights import WeightInfo, load_pretrained, v1_weights, weights_enum

_CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512,
          512, 512, "M"],
}


def make_layers(cfg, batch_norm=False):
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else \
            [conv, nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            init_cnn(self)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))


VGG11_Weights = v1_weights("VGG11_Weights", "vgg11-8a719046.pth", 132_863_336, min_size=(32, 32))
VGG11_BN_Weights = v1_weights("VGG11_BN_Weights", "vgg11_bn-6002323d.pth", 132_868_840,
                              min_size=(32, 32))
VGG13_Weights = v1_weights("VGG13_Weights", "vgg13-19584684.pth", 133_047_848, min_size=(32, 32))
VGG13_BN_Weights = v1_weights("VGG13_BN_Weights", "vgg13_bn-abd245e5.pth", 133_053_736,
                              min_size=(32, 32))
VGG16_Weights = weights_enum(
    "VGG16_Weights",
    IMAGENET1K_V1=WeightInfo("vgg16-397923af.pth", 138_357_544, min_size=(32, 32)),
    IMAGENET1K_FEATURES=WeightInfo("vgg16_features-amdegroot-88682ab5.pth", 138_357_544,
                                   mean=(0.48235, 0.45882, 0.40784),
                                   std=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0),
                                   min_size=(32, 32)),
    DEFAULT="IMAGENET1K_V1",
)
VGG16_BN_Weights = v1_weights("VGG16_BN_Weights", "vgg16_bn-6c64b313.pth", 138_365_992,
                              min_size=(32, 32))
VGG19_Weights = v1_weights("VGG19_Weights", "vgg19-dcbb9e9d.pth", 143_667_240, min_size=(32, 32))
VGG19_BN_Weights = v1_weights("VGG19_BN_Weights", "vgg19_bn-c79401a0.pth", 143_678_248,
                              min_size=(32, 32))


def _vgg(cfg, batch_norm, weights_cls, weights, pretrained, kwargs):
    if (weights is not None or pretrained) and "init_weights" not in kwargs:
        kwargs["init_weights"] = False  # the weights are overwritten anyway
    model = VGG(make_layers(_CFGS[cfg], batch_norm=batch_norm), **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(VGG11_Weights)
def vgg11(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vgg("A", False, VGG11_Weights, weights, pretrained, kwargs)


@register_model(VGG11_BN_Weights)
def vgg11_bn(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vgg("A", True, VGG11_BN_Weights, weights, pretrained, kwargs)


@register_model(VGG13_Weights)
def vgg13(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vgg("B", False, VGG13_Weights, weights, pretrained, kwargs)


@register_model(VGG13_BN_Weights)
def vgg13_bn(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vgg("B", True, VGG13_BN_Weights, weights, pretrained, kwargs)


@register_model(VGG16_Weights)
def vgg16(*, weights=None, progress=True, pretrained=False, **kwargs):
    """VGG-16 (138,357,544 parameters with 1000 classes)."""
    return _vgg("D", False, VGG16_Weights, weights, pretrained, kwargs)


@register_model(VGG16_BN_Weights)
def vgg16_bn(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vgg("D", True, VGG16_BN_Weights, weights, pretrained, kwargs)


@register_model(VGG19_Weights)
def vgg19(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vgg("E", False, VGG19_Weights, weights, pretrained, kwargs)


@register_model(VGG19_BN_Weights)
def vgg19_bn(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vgg("E", True, VGG19_BN_Weights, weights, pretrained, kwargs)
