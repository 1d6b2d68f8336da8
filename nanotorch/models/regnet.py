"""RegNetX and RegNetY (400MF ... 32GF, Y-128GF) with torchvision's module tree and keys."""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from .. import nn
from ._conv_norm_act import Conv2dNormActivation
from ._ops import SqueezeExcitation
from ._registry import register_model
from ._weights import WeightInfo, load_pretrained, v2_weights, weights_enum
from .mobilenetv2 import _make_divisible


class SimpleStemIN(Conv2dNormActivation):
    """The ImageNet stem: 3x3 stride-2 conv, norm, activation."""

    def __init__(self, width_in, width_out, norm_layer, activation_layer):
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """1x1 (a) -> grouped 3x3 (b) -> [squeeze-excitation] -> 1x1 without activation (c)."""

    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer, group_width,
                 bottleneck_multiplier, se_ratio):
        w_b = int(round(width_out * bottleneck_multiplier))
        groups = w_b // group_width
        layers = OrderedDict()
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1, stride=1,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(w_b, w_b, kernel_size=3, stride=stride, groups=groups,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        if se_ratio:
            layers["se"] = SqueezeExcitation(w_b, int(round(se_ratio * width_in)),
                                             activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, stride=1,
                                           norm_layer=norm_layer, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """activation(shortcut(x) + f(x)); the shortcut projects when the shape changes."""

    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer,
                 group_width=1, bottleneck_multiplier=1.0, se_ratio=None):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer,
                                     group_width, bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x):
        out = self.f(x)
        out += x if self.proj is None else self.proj(x)
        return self.activation(out)


class AnyStage(nn.Sequential):
    """``depth`` blocks named ``block{stage_index}-{i}``; only the first one strides."""

    def __init__(self, width_in, width_out, stride, depth, block_constructor, norm_layer,
                 activation_layer, group_width, bottleneck_multiplier, se_ratio=None,
                 stage_index=0):
        super().__init__()
        for i in range(depth):
            self.add_module(f"block{stage_index}-{i}", block_constructor(
                width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio))


class BlockParams:
    """Per-stage depths, widths, group widths, bottleneck multipliers and strides."""

    def __init__(self, depths, widths, group_widths, bottleneck_multipliers, strides,
                 se_ratio=None):
        self.depths = depths
        self.widths = widths
        self.group_widths = group_widths
        self.bottleneck_multipliers = bottleneck_multipliers
        self.strides = strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(cls, depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0,
                         se_ratio=None, **kwargs):
        """The stages of the RegNet design space: block j has width w_0 + w_a * j, snapped
        to w_0 * w_m^k (k integer) and to a multiple of 8; blocks of equal width form a
        stage. Computed in float32 as torchvision does, so the rounding matches."""
        quant, stride = 8, 2
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        f32 = np.float32
        widths_cont = np.arange(depth, dtype=f32) * f32(w_a) + f32(w_0)
        capacity = np.round(np.log(widths_cont / f32(w_0)) / f32(math.log(w_m)))
        block_widths = (np.round(f32(w_0) * np.power(f32(w_m), capacity) / f32(quant))
                        * quant).astype(np.int32).tolist()
        # a new stage starts wherever the width changes
        starts = [i for i in range(depth + 1)
                  if i in (0, depth) or block_widths[i] != block_widths[i - 1]]
        stage_widths = [block_widths[i] for i in starts[:-1]]
        stage_depths = [b - a for a, b in zip(starts, starts[1:])]
        n = len(stage_widths)
        bottlenecks = [bottleneck_multiplier] * n
        stage_widths, group_widths = cls._adjust_widths_groups_compatibilty(
            stage_widths, bottlenecks, [group_width] * n)
        return cls(stage_depths, stage_widths, group_widths, bottlenecks, [stride] * n,
                   se_ratio)

    def _get_expanded_params(self):
        return zip(self.widths, self.strides, self.depths, self.group_widths,
                   self.bottleneck_multipliers)

    @staticmethod
    def _adjust_widths_groups_compatibilty(stage_widths, bottleneck_ratios, group_widths):
        """Make each bottleneck width a multiple of its group width."""
        widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
        group_widths_min = [min(g, w) for g, w in zip(group_widths, widths)]
        ws_bot = [_make_divisible(w, g) for w, g in zip(widths, group_widths_min)]
        return [int(w / b) for w, b in zip(ws_bot, bottleneck_ratios)], group_widths_min


class RegNet(nn.Module):
    """Stem, stages of residual bottleneck blocks (widths from :class:`BlockParams`), pooled
    and classified by ``fc``."""

    def __init__(self, block_params, num_classes=1000, stem_width=32, stem_type=None,
                 block_type=None, norm_layer=None, activation=None):
        super().__init__()
        stem_type = stem_type or SimpleStemIN
        norm_layer = norm_layer or nn.BatchNorm2d
        block_type = block_type or ResBottleneckBlock
        activation = activation or nn.ReLU
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        width = stem_width
        stages = []
        for i, (width_out, stride, depth, group_width, bottleneck) in enumerate(
                block_params._get_expanded_params()):
            stages.append((f"block{i + 1}", AnyStage(
                width, width_out, stride, depth, block_type, norm_layer, activation,
                group_width, bottleneck, block_params.se_ratio, stage_index=i + 1)))
            width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(1))


# name -> (depth, w_0, w_a, w_m, group_width, se_ratio)
_DESIGNS = {
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56, 0.25),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112, 0.25),
    "regnet_y_32gf": (20, 232, 115.89, 2.53, 232, 0.25),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264, 0.25),
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, None),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, None),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, None),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, None),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120, None),
    "regnet_x_16gf": (22, 216, 55.59, 2.1, 128, None),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168, None),
}


def _swag_sets(e2e_file, linear_file, num_params):
    """torchvision's two SWAG weight sets: fine-tuned end to end at 384, linear probe at 224."""
    return {"IMAGENET1K_SWAG_E2E_V1": WeightInfo(e2e_file, num_params, crop_size=384,
                                                 resize_size=384, interpolation="bicubic"),
            "IMAGENET1K_SWAG_LINEAR_V1": WeightInfo(linear_file, num_params, resize_size=224,
                                                    interpolation="bicubic")}


RegNet_Y_400MF_Weights = v2_weights("RegNet_Y_400MF_Weights", "regnet_y_400mf-c65dace8.pth",
                                    "regnet_y_400mf-e6988f5f.pth", 4_344_144)
RegNet_Y_800MF_Weights = v2_weights("RegNet_Y_800MF_Weights", "regnet_y_800mf-1b27b58c.pth",
                                    "regnet_y_800mf-58fc7688.pth", 6_432_512)
RegNet_Y_1_6GF_Weights = v2_weights("RegNet_Y_1_6GF_Weights", "regnet_y_1_6gf-b11a554e.pth",
                                    "regnet_y_1_6gf-0d7bc02a.pth", 11_202_430)
RegNet_Y_3_2GF_Weights = v2_weights("RegNet_Y_3_2GF_Weights", "regnet_y_3_2gf-b5a9779c.pth",
                                    "regnet_y_3_2gf-9180c971.pth", 19_436_338)
RegNet_Y_8GF_Weights = v2_weights("RegNet_Y_8GF_Weights", "regnet_y_8gf-d0d0e4a8.pth",
                                  "regnet_y_8gf-dc2b1b54.pth", 39_381_472)
RegNet_Y_16GF_Weights = v2_weights("RegNet_Y_16GF_Weights", "regnet_y_16gf-9e6ed7dd.pth",
                                   "regnet_y_16gf-3e4a00f9.pth", 83_590_140,
                                   **_swag_sets("regnet_y_16gf_swag-43afe44d.pth",
                                                "regnet_y_16gf_lc_swag-f3ec0043.pth", 83_590_140))
RegNet_Y_32GF_Weights = v2_weights("RegNet_Y_32GF_Weights", "regnet_y_32gf-4dee3f7a.pth",
                                   "regnet_y_32gf-8db6d4b5.pth", 145_046_770,
                                   **_swag_sets("regnet_y_32gf_swag-04fdfa75.pth",
                                                "regnet_y_32gf_lc_swag-e1583746.pth", 145_046_770))
RegNet_Y_128GF_Weights = weights_enum(
    "RegNet_Y_128GF_Weights",
    **_swag_sets("regnet_y_128gf_swag-c8ce3e52.pth", "regnet_y_128gf_lc_swag-cbe8ce12.pth",
                 644_812_894),
    DEFAULT="IMAGENET1K_SWAG_E2E_V1",
)
RegNet_X_400MF_Weights = v2_weights("RegNet_X_400MF_Weights", "regnet_x_400mf-adf1edd5.pth",
                                    "regnet_x_400mf-62229a5f.pth", 5_495_976)
RegNet_X_800MF_Weights = v2_weights("RegNet_X_800MF_Weights", "regnet_x_800mf-ad17e45c.pth",
                                    "regnet_x_800mf-94a99ebd.pth", 7_259_656)
RegNet_X_1_6GF_Weights = v2_weights("RegNet_X_1_6GF_Weights", "regnet_x_1_6gf-e3633e7f.pth",
                                    "regnet_x_1_6gf-a12f2b72.pth", 9_190_136)
RegNet_X_3_2GF_Weights = v2_weights("RegNet_X_3_2GF_Weights", "regnet_x_3_2gf-f342aeae.pth",
                                    "regnet_x_3_2gf-7071aa85.pth", 15_296_552)
RegNet_X_8GF_Weights = v2_weights("RegNet_X_8GF_Weights", "regnet_x_8gf-03ceed89.pth",
                                  "regnet_x_8gf-2b70d774.pth", 39_572_648)
RegNet_X_16GF_Weights = v2_weights("RegNet_X_16GF_Weights", "regnet_x_16gf-2007eb11.pth",
                                   "regnet_x_16gf-ba3796d7.pth", 54_278_536)
RegNet_X_32GF_Weights = v2_weights("RegNet_X_32GF_Weights", "regnet_x_32gf-9d47f8d0.pth",
                                   "regnet_x_32gf-6eb8fdc6.pth", 107_811_560)


def _regnet(name, weights_cls, weights, pretrained, kwargs):
    depth, w_0, w_a, w_m, group_width, se_ratio = _DESIGNS[name]
    params = BlockParams.from_init_params(depth, w_0, w_a, w_m, group_width,
                                          se_ratio=se_ratio)
    model = RegNet(params, **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(RegNet_Y_400MF_Weights)
def regnet_y_400mf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_400mf", RegNet_Y_400MF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_Y_800MF_Weights)
def regnet_y_800mf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_800mf", RegNet_Y_800MF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_Y_1_6GF_Weights)
def regnet_y_1_6gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_1_6gf", RegNet_Y_1_6GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_Y_3_2GF_Weights)
def regnet_y_3_2gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_3_2gf", RegNet_Y_3_2GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_Y_8GF_Weights)
def regnet_y_8gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_8gf", RegNet_Y_8GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_Y_16GF_Weights)
def regnet_y_16gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_16gf", RegNet_Y_16GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_Y_32GF_Weights)
def regnet_y_32gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_32gf", RegNet_Y_32GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_Y_128GF_Weights)
def regnet_y_128gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_y_128gf", RegNet_Y_128GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_X_400MF_Weights)
def regnet_x_400mf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_x_400mf", RegNet_X_400MF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_X_800MF_Weights)
def regnet_x_800mf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_x_800mf", RegNet_X_800MF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_X_1_6GF_Weights)
def regnet_x_1_6gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_x_1_6gf", RegNet_X_1_6GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_X_3_2GF_Weights)
def regnet_x_3_2gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_x_3_2gf", RegNet_X_3_2GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_X_8GF_Weights)
def regnet_x_8gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_x_8gf", RegNet_X_8GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_X_16GF_Weights)
def regnet_x_16gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_x_16gf", RegNet_X_16GF_Weights, weights, pretrained, kwargs)


@register_model(RegNet_X_32GF_Weights)
def regnet_x_32gf(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _regnet("regnet_x_32gf", RegNet_X_32GF_Weights, weights, pretrained, kwargs)
