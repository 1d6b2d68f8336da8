"""EfficientNet B0-B7 and EfficientNetV2 S/M/L with torchvision's module tree and keys."""
from __future__ import annotations

import copy
import math
from functools import partial

from .. import nn
from ._conv_norm_act import Conv2dNormActivation
from ._init import init_cnn
from ._ops import SqueezeExcitation, StochasticDepth
from ._registry import register_model
from ._weights import WeightInfo, load_pretrained, v1_weights, weights_enum
from .mobilenetv2 import _make_divisible


def _linear_uniform(m):
    bound = 1.0 / math.sqrt(m.out_features)
    nn.init.uniform_(m.weight, -bound, bound)


class _MBConvConfig:
    """One stage of the architecture table: ``num_layers`` blocks of ``block``."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 block):
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.block = block

    @staticmethod
    def adjust_channels(channels, width_mult, min_value=None):
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConvConfig(_MBConvConfig):
    """An MBConv stage, its channels scaled by ``width_mult`` and depth by ``depth_mult``."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 width_mult=1.0, depth_mult=1.0, block=None):
        super().__init__(expand_ratio, kernel, stride,
                         self.adjust_channels(input_channels, width_mult),
                         self.adjust_channels(out_channels, width_mult),
                         self.adjust_depth(num_layers, depth_mult), block or MBConv)

    @staticmethod
    def adjust_depth(num_layers, depth_mult):
        return int(math.ceil(num_layers * depth_mult))


class FusedMBConvConfig(_MBConvConfig):
    """A FusedMBConv stage (EfficientNetV2's early stages)."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 block=None):
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                         block or FusedMBConv)


class _ResidualBlock(nn.Module):
    """``block(x)``, plus ``x`` through stochastic depth when the shapes allow."""

    def forward(self, x):
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out)
            out += x
        return out


class MBConv(_ResidualBlock):
    """Expand 1x1 -> depthwise kxk -> squeeze-excitation -> project 1x1, SiLU activations."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer, se_layer=SqueezeExcitation):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers = []
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, 1,
                                               norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, cnf.kernel, cnf.stride,
                                           groups=expanded, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        squeeze = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded, squeeze, activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, 1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels


class FusedMBConv(_ResidualBlock):
    """Full kxk conv (expanding) -> project 1x1; a single kxk conv without expansion."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers = [Conv2dNormActivation(cnf.input_channels, expanded, cnf.kernel, cnf.stride,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU),
                      Conv2dNormActivation(expanded, cnf.out_channels, 1, norm_layer=norm_layer,
                                           activation_layer=None)]
        else:
            layers = [Conv2dNormActivation(cnf.input_channels, cnf.out_channels, cnf.kernel,
                                           cnf.stride, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU)]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels


class EfficientNet(nn.Module):
    """Stem, stages of (Fused)MBConv blocks whose stochastic-depth probability grows with
    depth, 1x1 head conv, pooled and classified by Dropout-Linear (V1 and V2)."""

    def __init__(self, inverted_residual_setting, dropout, stochastic_depth_prob=0.2,
                 num_classes=1000, norm_layer=None, last_channel=None):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not all(isinstance(s, _MBConvConfig) for s in inverted_residual_setting):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = norm_layer or nn.BatchNorm2d
        layers = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels, 3, 2,
                                       norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage = []
            for i in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if i > 0:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                # the drop probability grows linearly with depth
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, 1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(last_out, num_classes))
        init_cnn(self, _linear_uniform)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _efficientnet_conf(arch, width_mult=1.0, depth_mult=1.0):
    """(stage configs, last_channel) of ``arch``."""
    if arch.startswith("efficientnet_b"):
        stage = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
        return [stage(1, 3, 1, 32, 16, 1), stage(6, 3, 2, 16, 24, 2),
                stage(6, 5, 2, 24, 40, 2), stage(6, 3, 2, 40, 80, 3),
                stage(6, 5, 1, 80, 112, 3), stage(6, 5, 2, 112, 192, 4),
                stage(6, 3, 1, 192, 320, 1)], None
    fused, mb = FusedMBConvConfig, MBConvConfig
    if arch == "efficientnet_v2_s":
        return [fused(1, 3, 1, 24, 24, 2), fused(4, 3, 2, 24, 48, 4), fused(4, 3, 2, 48, 64, 4),
                mb(4, 3, 2, 64, 128, 6), mb(6, 3, 1, 128, 160, 9),
                mb(6, 3, 2, 160, 256, 15)], 1280
    if arch == "efficientnet_v2_m":
        return [fused(1, 3, 1, 24, 24, 3), fused(4, 3, 2, 24, 48, 5), fused(4, 3, 2, 48, 80, 5),
                mb(4, 3, 2, 80, 160, 7), mb(6, 3, 1, 160, 176, 14), mb(6, 3, 2, 176, 304, 18),
                mb(6, 3, 1, 304, 512, 5)], 1280
    if arch == "efficientnet_v2_l":
        return [fused(1, 3, 1, 32, 32, 4), fused(4, 3, 2, 32, 64, 7), fused(4, 3, 2, 64, 96, 7),
                mb(4, 3, 2, 96, 192, 10), mb(6, 3, 1, 192, 224, 19), mb(6, 3, 2, 224, 384, 25),
                mb(6, 3, 1, 384, 640, 7)], 1280
    raise ValueError(f"Unsupported model type {arch}")


# arch -> (width_mult, depth_mult, default dropout, norm layer); None: plain BatchNorm2d
_BN_EPS3_MOM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
_BN_EPS3 = partial(nn.BatchNorm2d, eps=1e-03)
_VARIANTS = {
    "efficientnet_b0": (1.0, 1.0, 0.2, None), "efficientnet_b1": (1.0, 1.1, 0.2, None),
    "efficientnet_b2": (1.1, 1.2, 0.3, None), "efficientnet_b3": (1.2, 1.4, 0.3, None),
    "efficientnet_b4": (1.4, 1.8, 0.4, None), "efficientnet_b5": (1.6, 2.2, 0.4, _BN_EPS3_MOM),
    "efficientnet_b6": (1.8, 2.6, 0.5, _BN_EPS3_MOM),
    "efficientnet_b7": (2.0, 3.1, 0.5, _BN_EPS3_MOM),
    "efficientnet_v2_s": (1.0, 1.0, 0.2, _BN_EPS3), "efficientnet_v2_m": (1.0, 1.0, 0.3, _BN_EPS3),
    "efficientnet_v2_l": (1.0, 1.0, 0.4, _BN_EPS3),
}


EfficientNet_B0_Weights = v1_weights("EfficientNet_B0_Weights",
                                     "efficientnet_b0_rwightman-7f5810bc.pth", 5_288_548,
                                     interpolation="bicubic")
EfficientNet_B1_Weights = weights_enum(
    "EfficientNet_B1_Weights",
    IMAGENET1K_V1=WeightInfo("efficientnet_b1_rwightman-bac287d4.pth", 7_794_184, crop_size=240,
                             interpolation="bicubic"),
    IMAGENET1K_V2=WeightInfo("efficientnet_b1-c27df63c.pth", 7_794_184, crop_size=240,
                             resize_size=255),
    DEFAULT="IMAGENET1K_V2",
)
EfficientNet_B2_Weights = v1_weights("EfficientNet_B2_Weights",
                                     "efficientnet_b2_rwightman-c35c1473.pth", 9_109_994,
                                     crop_size=288, resize_size=288, interpolation="bicubic")
EfficientNet_B3_Weights = v1_weights("EfficientNet_B3_Weights",
                                     "efficientnet_b3_rwightman-b3899882.pth", 12_233_232,
                                     crop_size=300, resize_size=320, interpolation="bicubic")
EfficientNet_B4_Weights = v1_weights("EfficientNet_B4_Weights",
                                     "efficientnet_b4_rwightman-23ab8bcd.pth", 19_341_616,
                                     crop_size=380, resize_size=384, interpolation="bicubic")
EfficientNet_B5_Weights = v1_weights("EfficientNet_B5_Weights",
                                     "efficientnet_b5_lukemelas-1a07897c.pth", 30_389_784,
                                     crop_size=456, resize_size=456, interpolation="bicubic")
EfficientNet_B6_Weights = v1_weights("EfficientNet_B6_Weights",
                                     "efficientnet_b6_lukemelas-24a108a5.pth", 43_040_704,
                                     crop_size=528, resize_size=528, interpolation="bicubic")
EfficientNet_B7_Weights = v1_weights("EfficientNet_B7_Weights",
                                     "efficientnet_b7_lukemelas-c5b4e57e.pth", 66_347_960,
                                     crop_size=600, resize_size=600, interpolation="bicubic")
EfficientNet_V2_S_Weights = v1_weights("EfficientNet_V2_S_Weights",
                                       "efficientnet_v2_s-dd5fe13b.pth", 21_458_488, crop_size=384,
                                       resize_size=384, min_size=(33, 33))
EfficientNet_V2_M_Weights = v1_weights("EfficientNet_V2_M_Weights",
                                       "efficientnet_v2_m-dc08266a.pth", 54_139_356, crop_size=480,
                                       resize_size=480, min_size=(33, 33))
EfficientNet_V2_L_Weights = v1_weights("EfficientNet_V2_L_Weights",
                                       "efficientnet_v2_l-59c71312.pth", 118_515_272, crop_size=480,
                                       resize_size=480, interpolation="bicubic",
                                       mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), min_size=(33, 33))


def _efficientnet(arch, weights_cls, weights, pretrained, kwargs):
    width_mult, depth_mult, dropout, norm_layer = _VARIANTS[arch]
    setting, last_channel = _efficientnet_conf(arch, width_mult, depth_mult)
    if norm_layer is not None:
        kwargs.setdefault("norm_layer", norm_layer)
    model = EfficientNet(setting, kwargs.pop("dropout", dropout), last_channel=last_channel,
                         **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(EfficientNet_B0_Weights)
def efficientnet_b0(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b0", EfficientNet_B0_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_B1_Weights)
def efficientnet_b1(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b1", EfficientNet_B1_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_B2_Weights)
def efficientnet_b2(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b2", EfficientNet_B2_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_B3_Weights)
def efficientnet_b3(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b3", EfficientNet_B3_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_B4_Weights)
def efficientnet_b4(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b4", EfficientNet_B4_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_B5_Weights)
def efficientnet_b5(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b5", EfficientNet_B5_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_B6_Weights)
def efficientnet_b6(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b6", EfficientNet_B6_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_B7_Weights)
def efficientnet_b7(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_b7", EfficientNet_B7_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_V2_S_Weights)
def efficientnet_v2_s(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_v2_s", EfficientNet_V2_S_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_V2_M_Weights)
def efficientnet_v2_m(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_v2_m", EfficientNet_V2_M_Weights, weights, pretrained,
                         kwargs)


@register_model(EfficientNet_V2_L_Weights)
def efficientnet_v2_l(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _efficientnet("efficientnet_v2_l", EfficientNet_V2_L_Weights, weights, pretrained,
                         kwargs)
