"""ShuffleNetV2 x0.5/x1.0/x1.5/x2.0 with torchvision's module tree and state_dict keys."""
from __future__ import annotations

from .. import nn
from ..functions import cat
from ._ops import channel_shuffle
from ._registry import register_model
from ._weights import load_pretrained, v1_weights


def _depthwise_conv(channels, stride):
    return nn.Conv2d(channels, channels, 3, stride, 1, bias=False, groups=channels)


class InvertedResidual(nn.Module):
    """Stride 1: half the channels pass through, the other half go through ``branch2``.
    Stride 2: both branches see the whole input. Then the halves are interleaved."""

    def __init__(self, inp, oup, stride):
        super().__init__()
        if not 1 <= stride <= 3:
            raise ValueError("illegal stride value")
        self.stride = stride
        branch = oup // 2
        if stride == 1 and inp != branch << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} "
                             "values. If stride == 1 then inp should be equal to oup // 2 << 1.")
        if stride > 1:
            self.branch1 = nn.Sequential(
                _depthwise_conv(inp, stride), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch, 1, 1, 0, bias=False), nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch, branch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch), nn.ReLU(inplace=True),
            _depthwise_conv(branch, stride), nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, 1, 0, bias=False), nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = cat((x1, self.branch2(x2)), 1)
        else:
            out = cat((self.branch1(x), self.branch2(x)), 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """conv1 + max-pool, three stages of shuffle blocks, conv5, global average, ``fc``."""

    def __init__(self, stages_repeats, stages_out_channels, num_classes=1000,
                 inverted_residual=InvertedResidual):
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        channels = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels, 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for i, (repeats, out) in enumerate(zip(stages_repeats, stages_out_channels[1:4])):
            blocks = [inverted_residual(channels, out, 2)]
            blocks += [inverted_residual(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{i + 2}", nn.Sequential(*blocks))
            channels = out
        last = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(channels, last, 1, 1, 0, bias=False),
                                   nn.BatchNorm2d(last), nn.ReLU(inplace=True))
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x).mean((2, 3))   # global average pool
        return self.fc(x)


ShuffleNet_V2_X0_5_Weights = v1_weights("ShuffleNet_V2_X0_5_Weights",
                                        "shufflenetv2_x0.5-f707e7126e.pth", 1_366_792)
ShuffleNet_V2_X1_0_Weights = v1_weights("ShuffleNet_V2_X1_0_Weights",
                                        "shufflenetv2_x1-5666bf0f80.pth", 2_278_604)
ShuffleNet_V2_X1_5_Weights = v1_weights("ShuffleNet_V2_X1_5_Weights",
                                        "shufflenetv2_x1_5-3c479a10.pth", 3_503_624,
                                        resize_size=232)
ShuffleNet_V2_X2_0_Weights = v1_weights("ShuffleNet_V2_X2_0_Weights",
                                        "shufflenetv2_x2_0-8be3c8ee.pth", 7_393_996,
                                        resize_size=232)


def _shufflenetv2(out_channels, weights_cls, weights, pretrained, kwargs):
    model = ShuffleNetV2([4, 8, 4], out_channels, **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(ShuffleNet_V2_X0_5_Weights)
def shufflenet_v2_x0_5(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _shufflenetv2([24, 48, 96, 192, 1024], ShuffleNet_V2_X0_5_Weights, weights, pretrained,
                         kwargs)


@register_model(ShuffleNet_V2_X1_0_Weights)
def shufflenet_v2_x1_0(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _shufflenetv2([24, 116, 232, 464, 1024], ShuffleNet_V2_X1_0_Weights, weights, pretrained,
                         kwargs)


@register_model(ShuffleNet_V2_X1_5_Weights)
def shufflenet_v2_x1_5(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _shufflenetv2([24, 176, 352, 704, 1024], ShuffleNet_V2_X1_5_Weights, weights, pretrained,
                         kwargs)


@register_model(ShuffleNet_V2_X2_0_Weights)
def shufflenet_v2_x2_0(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _shufflenetv2([24, 244, 488, 976, 2048], ShuffleNet_V2_X2_0_Weights, weights, pretrained,
                         kwargs)
