"""MobileNetV3 (large and small) with torchvision's module tree and state_dict keys."""
from __future__ import annotations

from functools import partial

from .. import nn
from ._conv_norm_act import Conv2dNormActivation
from ._init import init_cnn
from ._ops import SqueezeExcitation
from ._registry import register_model
from ._weights import load_pretrained, v1_weights, v2_weights
from .mobilenetv2 import _make_divisible


class InvertedResidualConfig:
    """One bottleneck row of the architecture table; channels scaled by ``width_mult``."""

    def __init__(self, input_channels, kernel, expanded_channels, out_channels, use_se,
                 activation, stride, dilation, width_mult):
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels, width_mult):
        return _make_divisible(channels * width_mult, 8)


class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise kxk -> [squeeze-excitation] -> project 1x1 (+ input)."""

    def __init__(self, cnf, norm_layer, se_layer=None):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        se_layer = se_layer or partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        act = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels, 1,
                                               norm_layer=norm_layer, activation_layer=act))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.expanded_channels,
                                           cnf.kernel, stride, dilation=cnf.dilation,
                                           groups=cnf.expanded_channels, norm_layer=norm_layer,
                                           activation_layer=act))
        if cnf.use_se:
            squeeze = _make_divisible(cnf.expanded_channels // 4, 8)
            layers.append(se_layer(cnf.expanded_channels, squeeze))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels, 1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, x):
        out = self.block(x)
        if self.use_res_connect:
            out += x
        return out


class MobileNetV3(nn.Module):
    """Stem, inverted-residual bottlenecks (SE, hard-swish), 1x1 conv to 6x channels, pooled
    and classified by Linear-Hardswish-Dropout-Linear."""

    def __init__(self, inverted_residual_setting, last_channel, num_classes=1000, block=None,
                 norm_layer=None, dropout=0.2, **kwargs):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not all(isinstance(s, InvertedResidualConfig) for s in inverted_residual_setting):
            raise TypeError("The inverted_residual_setting should be List[InvertedResidualConfig]")
        block = block or InvertedResidual
        norm_layer = norm_layer or partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first = inverted_residual_setting[0].input_channels
        layers = [Conv2dNormActivation(3, first, 3, stride=2, norm_layer=norm_layer,
                                       activation_layer=nn.Hardswish)]
        layers += [block(cnf, norm_layer) for cnf in inverted_residual_setting]
        last_in = inverted_residual_setting[-1].out_channels
        last_out = 6 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, 1, norm_layer=norm_layer,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(last_out, last_channel), nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))
        init_cnn(self)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _mobilenet_v3_conf(arch, width_mult=1.0, reduced_tail=False, dilated=False):
    """(bottleneck configs, last_channel) of ``arch``; ``reduced_tail`` halves the last
    stage's channels, ``dilated`` dilates it instead of striding."""
    div = 2 if reduced_tail else 1
    dil = 2 if dilated else 1

    def row(*args):
        return InvertedResidualConfig(*args, width_mult=width_mult)

    if arch == "mobilenet_v3_large":
        rows = [row(16, 3, 16, 16, False, "RE", 1, 1),
                row(16, 3, 64, 24, False, "RE", 2, 1),
                row(24, 3, 72, 24, False, "RE", 1, 1),
                row(24, 5, 72, 40, True, "RE", 2, 1),
                row(40, 5, 120, 40, True, "RE", 1, 1),
                row(40, 5, 120, 40, True, "RE", 1, 1),
                row(40, 3, 240, 80, False, "HS", 2, 1),
                row(80, 3, 200, 80, False, "HS", 1, 1),
                row(80, 3, 184, 80, False, "HS", 1, 1),
                row(80, 3, 184, 80, False, "HS", 1, 1),
                row(80, 3, 480, 112, True, "HS", 1, 1),
                row(112, 3, 672, 112, True, "HS", 1, 1),
                row(112, 5, 672, 160 // div, True, "HS", 2, dil),
                row(160 // div, 5, 960 // div, 160 // div, True, "HS", 1, dil),
                row(160 // div, 5, 960 // div, 160 // div, True, "HS", 1, dil)]
        last = 1280
    elif arch == "mobilenet_v3_small":
        rows = [row(16, 3, 16, 16, True, "RE", 2, 1),
                row(16, 3, 72, 24, False, "RE", 2, 1),
                row(24, 3, 88, 24, False, "RE", 1, 1),
                row(24, 5, 96, 40, True, "HS", 2, 1),
                row(40, 5, 240, 40, True, "HS", 1, 1),
                row(40, 5, 240, 40, True, "HS", 1, 1),
                row(40, 5, 120, 48, True, "HS", 1, 1),
                row(48, 5, 144, 48, True, "HS", 1, 1),
                row(48, 5, 288, 96 // div, True, "HS", 2, dil),
                row(96 // div, 5, 576 // div, 96 // div, True, "HS", 1, dil),
                row(96 // div, 5, 576 // div, 96 // div, True, "HS", 1, dil)]
        last = 1024
    else:
        raise ValueError(f"Unsupported model type {arch}")
    return rows, InvertedResidualConfig.adjust_channels(last // div, width_mult)


MobileNet_V3_Large_Weights = v2_weights("MobileNet_V3_Large_Weights",
                                        "mobilenet_v3_large-8738ca79.pth",
                                        "mobilenet_v3_large-5c1a4163.pth", 5_483_032)
MobileNet_V3_Small_Weights = v1_weights("MobileNet_V3_Small_Weights",
                                        "mobilenet_v3_small-047dcff4.pth", 2_542_856)


def _mobilenet_v3(arch, weights_cls, weights, pretrained, kwargs):
    conf = {k: kwargs.pop(k) for k in ("width_mult", "reduced_tail", "dilated") if k in kwargs}
    setting, last_channel = _mobilenet_v3_conf(arch, **conf)
    model = MobileNetV3(setting, last_channel, **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(MobileNet_V3_Large_Weights)
def mobilenet_v3_large(*, weights=None, progress=True, pretrained=False, **kwargs):
    """MobileNetV3-Large (5,483,032 parameters with 1000 classes)."""
    return _mobilenet_v3("mobilenet_v3_large", MobileNet_V3_Large_Weights, weights, pretrained,
                         kwargs)


@register_model(MobileNet_V3_Small_Weights)
def mobilenet_v3_small(*, weights=None, progress=True, pretrained=False, **kwargs):
    """MobileNetV3-Small (2,542,856 parameters with 1000 classes)."""
    return _mobilenet_v3("mobilenet_v3_small", MobileNet_V3_Small_Weights, weights, pretrained,
                         kwargs)
