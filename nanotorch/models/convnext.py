"""ConvNeXt Tiny/Small/Base/Large with torchvision's module tree and state_dict keys."""
from __future__ import annotations

from functools import partial

from .. import creation, nn
from ._conv_norm_act import Conv2dNormActivation
from ._ops import LayerNorm2d, Permute, StochasticDepth
from ._registry import register_model
from ._weights import load_pretrained, v1_weights


class CNBlock(nn.Module):
    """Depthwise 7x7 -> LayerNorm -> Linear 4x -> GELU -> Linear, scaled per channel by
    ``layer_scale``, through stochastic depth, plus the input."""

    def __init__(self, dim, layer_scale, stochastic_depth_prob, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),   # channels last for LayerNorm and the Linear layers
            norm_layer(dim),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(creation.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x):
        out = self.stochastic_depth(self.layer_scale * self.block(x))
        out += x
        return out


class CNBlockConfig:
    """One stage: ``num_layers`` blocks at ``input_channels``, then a downsampling layer to
    ``out_channels`` (none after the last stage)."""

    def __init__(self, input_channels, out_channels, num_layers):
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self):
        return (f"CNBlockConfig(input_channels={self.input_channels}, "
                f"out_channels={self.out_channels}, num_layers={self.num_layers})")


class ConvNeXt(nn.Module):
    """4x4 patchify stem, stages of ConvNeXt blocks separated by LayerNorm + 2x2 stride-2
    conv, pooled and classified by LayerNorm-Flatten-Linear."""

    def __init__(self, block_setting, stochastic_depth_prob=0.0, layer_scale=1e-6,
                 num_classes=1000, block=None, norm_layer=None, **kwargs):
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not all(isinstance(s, CNBlockConfig) for s in block_setting):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = block or CNBlock
        norm_layer = norm_layer or partial(LayerNorm2d, eps=1e-6)
        layers = [Conv2dNormActivation(3, block_setting[0].input_channels, kernel_size=4,
                                       stride=4, padding=0, norm_layer=norm_layer,
                                       activation_layer=None, bias=True)]
        total_blocks = sum(cnf.num_layers for cnf in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage = []
            for _ in range(cnf.num_layers):
                # the drop probability grows linearly from 0 to stochastic_depth_prob
                sd_prob = stochastic_depth_prob * block_id / (total_blocks - 1.0)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(
                    norm_layer(cnf.input_channels),
                    nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        last_channels = last.out_channels if last.out_channels is not None else \
            last.input_channels
        self.classifier = nn.Sequential(norm_layer(last_channels), nn.Flatten(1),
                                        nn.Linear(last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))


# variant -> (stages as (channels, next channels, blocks), default stochastic depth)
_VARIANTS = {
    "tiny": ([(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)], 0.1),
    "small": ([(96, 192, 3), (192, 384, 3), (384, 768, 27), (768, None, 3)], 0.4),
    "base": ([(128, 256, 3), (256, 512, 3), (512, 1024, 27), (1024, None, 3)], 0.5),
    "large": ([(192, 384, 3), (384, 768, 3), (768, 1536, 27), (1536, None, 3)], 0.5),
}


ConvNeXt_Tiny_Weights = v1_weights("ConvNeXt_Tiny_Weights", "convnext_tiny-983f1562.pth",
                                   28_589_128, resize_size=236, min_size=(32, 32))
ConvNeXt_Small_Weights = v1_weights("ConvNeXt_Small_Weights", "convnext_small-0c510722.pth",
                                    50_223_688, resize_size=230, min_size=(32, 32))
ConvNeXt_Base_Weights = v1_weights("ConvNeXt_Base_Weights", "convnext_base-6075fbad.pth",
                                   88_591_464, resize_size=232, min_size=(32, 32))
ConvNeXt_Large_Weights = v1_weights("ConvNeXt_Large_Weights", "convnext_large-ea097f82.pth",
                                    197_767_336, resize_size=232, min_size=(32, 32))


def _convnext(variant, weights_cls, weights, pretrained, kwargs):
    stages, sd_prob = _VARIANTS[variant]
    model = ConvNeXt([CNBlockConfig(*s) for s in stages],
                     stochastic_depth_prob=kwargs.pop("stochastic_depth_prob", sd_prob), **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(ConvNeXt_Tiny_Weights)
def convnext_tiny(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _convnext("tiny", ConvNeXt_Tiny_Weights, weights, pretrained, kwargs)


@register_model(ConvNeXt_Small_Weights)
def convnext_small(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _convnext("small", ConvNeXt_Small_Weights, weights, pretrained, kwargs)


@register_model(ConvNeXt_Base_Weights)
def convnext_base(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _convnext("base", ConvNeXt_Base_Weights, weights, pretrained, kwargs)


@register_model(ConvNeXt_Large_Weights)
def convnext_large(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _convnext("large", ConvNeXt_Large_Weights, weights, pretrained, kwargs)
