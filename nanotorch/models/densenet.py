"""DenseNet-121/161/169/201 with torchvision's module tree and state_dict keys."""
from __future__ import annotations

import re
from collections import OrderedDict

from .. import nn
from ..functions import cat
from ..nn import functional as F
from ._registry import register_model
from ._weights import load_pretrained, v1_weights


class _DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (to ``bn_size * growth_rate``) then BN-ReLU-3x3 conv (to
    ``growth_rate``) over the concatenation of all earlier features."""

    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate,
                 memory_efficient=False):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                               stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                               padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        # accepted for torchvision's signature; no checkpointing here (same results)
        self.memory_efficient = memory_efficient

    def forward(self, features):
        x = cat(features, 1) if isinstance(features, (list, tuple)) else features
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        if self.drop_rate > 0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, each fed every feature map produced before it."""

    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate,
                 memory_efficient=False):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(
                num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate,
                memory_efficient))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return cat(features, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-1x1 conv halving the channels, then 2x2 average pooling."""

    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1,
                              bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """DenseNet-BC: stem, dense blocks joined by transitions, final BN, ReLU, pooled and
    classified by ``classifier``. ``memory_efficient`` is accepted and changes nothing."""

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
                 bn_size=4, drop_rate=0, num_classes=1000, memory_efficient=False):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))]))
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", _DenseBlock(
                num_layers, channels, bn_size, growth_rate, drop_rate, memory_efficient))
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         _Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = F.relu(self.features(x), inplace=True)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(x.flatten(1))


# torchvision's published DenseNet files name the dense layers' modules 'norm.1', 'conv.2'...
_OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean"
                      r"|running_var))$")


def _rename_old_keys(state_dict):
    renamed = OrderedDict()
    for key, value in state_dict.items():
        match = _OLD_KEY.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = value
    return renamed


DenseNet121_Weights = v1_weights("DenseNet121_Weights", "densenet121-a639ec97.pth", 7_978_856,
                                 min_size=(29, 29))
DenseNet161_Weights = v1_weights("DenseNet161_Weights", "densenet161-8d451a50.pth", 28_681_000,
                                 min_size=(29, 29))
DenseNet169_Weights = v1_weights("DenseNet169_Weights", "densenet169-b2777c0a.pth", 14_149_480,
                                 min_size=(29, 29))
DenseNet201_Weights = v1_weights("DenseNet201_Weights", "densenet201-c1103571.pth", 20_013_928,
                                 min_size=(29, 29))


def _densenet(growth_rate, block_config, num_init_features, weights_cls, weights, pretrained,
              kwargs):
    model = DenseNet(growth_rate, block_config, num_init_features, **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs, fix_keys=_rename_old_keys)
    return model


@register_model(DenseNet121_Weights)
def densenet121(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _densenet(32, (6, 12, 24, 16), 64, DenseNet121_Weights, weights, pretrained, kwargs)


@register_model(DenseNet161_Weights)
def densenet161(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _densenet(48, (6, 12, 36, 24), 96, DenseNet161_Weights, weights, pretrained, kwargs)


@register_model(DenseNet169_Weights)
def densenet169(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _densenet(32, (6, 12, 32, 32), 64, DenseNet169_Weights, weights, pretrained, kwargs)


@register_model(DenseNet201_Weights)
def densenet201(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _densenet(32, (6, 12, 48, 32), 64, DenseNet201_Weights, weights, pretrained, kwargs)
