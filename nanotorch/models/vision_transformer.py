"""Vision Transformer (ViT-B/16, B/32, L/16, L/32, H/14) with torchvision's module tree,
state_dict keys, constructor signatures and weight sets."""
from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial

from .. import creation, nn
from .. import functions as _T
from ._conv_norm_act import Conv2dNormActivation
from ._mlp import MLP
from ._registry import register_model
from ._weights import WeightInfo, load_pretrained, weights_enum

_LAYER_NORM = partial(nn.LayerNorm, eps=1e-6)


class ConvStemConfig:
    """One conv-norm-activation layer of an optional convolutional stem."""

    def __init__(self, out_channels, kernel_size, stride, norm_layer=nn.BatchNorm2d,
                 activation_layer=nn.ReLU):
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.norm_layer = norm_layer
        self.activation_layer = activation_layer


class MLPBlock(MLP):
    """Linear -> GELU -> Dropout -> Linear -> Dropout, Xavier-initialised, biases ~N(0, 1e-6)."""

    def __init__(self, in_dim, mlp_dim, dropout):
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None,
                         dropout=dropout)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attention(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(self, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                 norm_layer=_LAYER_NORM):
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads,
                                                    dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input):
        if input.ndim != 3:
            raise AssertionError(f"Expected (batch_size, seq_length, hidden_dim) got "
                                 f"{tuple(input.shape)}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Learned position embedding, dropout, ``num_layers`` EncoderBlocks, final LayerNorm."""

    def __init__(self, seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                 attention_dropout, norm_layer=_LAYER_NORM):
        super().__init__()
        self.pos_embedding = nn.Parameter(
            creation.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        layers = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout,
                                                        attention_dropout, norm_layer)
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input):
        if input.ndim != 3:
            raise AssertionError(f"Expected (batch_size, seq_length, hidden_dim) got "
                                 f"{tuple(input.shape)}")
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """Image -> non-overlapping patches (a strided conv) -> class token + patch tokens ->
    transformer encoder -> classifier on the class token."""

    def __init__(self, image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim,
                 dropout=0.0, attention_dropout=0.0, num_classes=1000, representation_size=None,
                 norm_layer=_LAYER_NORM, conv_stem_configs=None):
        super().__init__()
        if image_size % patch_size:
            raise AssertionError("Input shape indivisible by patch size!")
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.mlp_dim = mlp_dim
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.num_classes = num_classes
        self.representation_size = representation_size
        self.norm_layer = norm_layer
        if conv_stem_configs is not None:
            stem = nn.Sequential()
            prev = 3
            for i, cfg in enumerate(conv_stem_configs):
                stem.add_module(f"conv_bn_relu_{i}", Conv2dNormActivation(
                    prev, cfg.out_channels, kernel_size=cfg.kernel_size, stride=cfg.stride,
                    norm_layer=cfg.norm_layer, activation_layer=cfg.activation_layer))
                prev = cfg.out_channels
            stem.add_module("conv_last", nn.Conv2d(prev, hidden_dim, kernel_size=1))
            self.conv_proj = stem
        else:
            self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size,
                                       stride=patch_size)
        seq_length = (image_size // patch_size) ** 2
        self.class_token = nn.Parameter(creation.zeros(1, 1, hidden_dim))
        seq_length += 1
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                               attention_dropout, norm_layer)
        self.seq_length = seq_length
        heads = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)
        self._init_weights()

    def _init_weights(self):
        if isinstance(self.conv_proj, nn.Conv2d):
            fan_in = (self.conv_proj.in_channels * self.conv_proj.kernel_size[0]
                      * self.conv_proj.kernel_size[1])
            nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
            if self.conv_proj.bias is not None:
                nn.init.zeros_(self.conv_proj.bias)
        else:
            last = self.conv_proj.conv_last
            nn.init.normal_(last.weight, mean=0.0, std=math.sqrt(2.0 / last.out_channels))
            if last.bias is not None:
                nn.init.zeros_(last.bias)
        if hasattr(self.heads, "pre_logits"):
            fan_in = self.heads.pre_logits.in_features
            nn.init.trunc_normal_(self.heads.pre_logits.weight, std=math.sqrt(1 / fan_in))
            nn.init.zeros_(self.heads.pre_logits.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x):
        n, _, h, w = x.shape
        if h != self.image_size:
            raise AssertionError(f"Wrong image height! Expected {self.image_size} but got {h}!")
        if w != self.image_size:
            raise AssertionError(f"Wrong image width! Expected {self.image_size} but got {w}!")
        p = self.patch_size
        x = self.conv_proj(x)   # (n, hidden_dim, h / p, w / p)
        return x.reshape(n, self.hidden_dim, (h // p) * (w // p)).permute(0, 2, 1)

    def forward(self, x):
        x = self._process_input(x)
        token = self.class_token.expand(x.shape[0], -1, -1)
        x = self.encoder(_T.cat([token, x], 1))
        return self.heads(x[:, 0])


def _info(file, num_params, size=224, resize=256, interpolation="bilinear"):
    return WeightInfo(file, num_params, crop_size=size, resize_size=resize,
                      interpolation=interpolation, min_size=(size, size))


ViT_B_16_Weights = weights_enum(
    "ViT_B_16_Weights",
    IMAGENET1K_V1=_info("vit_b_16-c867db91.pth", 86_567_656),
    IMAGENET1K_SWAG_E2E_V1=_info("vit_b_16_swag-9ac1b537.pth", 86_859_496, 384, 384, "bicubic"),
    IMAGENET1K_SWAG_LINEAR_V1=_info("vit_b_16_lc_swag-4e70ced5.pth", 86_567_656, 224, 224,
                                    "bicubic"),
    DEFAULT="IMAGENET1K_V1",
)
ViT_B_32_Weights = weights_enum(
    "ViT_B_32_Weights",
    IMAGENET1K_V1=_info("vit_b_32-d86f8d99.pth", 88_224_232),
    DEFAULT="IMAGENET1K_V1",
)
ViT_L_16_Weights = weights_enum(
    "ViT_L_16_Weights",
    IMAGENET1K_V1=_info("vit_l_16-852ce7e3.pth", 304_326_632, 224, 242),
    IMAGENET1K_SWAG_E2E_V1=_info("vit_l_16_swag-4f3808c9.pth", 305_174_504, 512, 512,
                                 "bicubic"),
    IMAGENET1K_SWAG_LINEAR_V1=_info("vit_l_16_lc_swag-4d563306.pth", 304_326_632, 224, 224,
                                    "bicubic"),
    DEFAULT="IMAGENET1K_V1",
)
ViT_L_32_Weights = weights_enum(
    "ViT_L_32_Weights",
    IMAGENET1K_V1=_info("vit_l_32-c7638314.pth", 306_535_400),
    DEFAULT="IMAGENET1K_V1",
)
ViT_H_14_Weights = weights_enum(
    "ViT_H_14_Weights",
    IMAGENET1K_SWAG_E2E_V1=_info("vit_h_14_swag-80465313.pth", 633_470_440, 518, 518,
                                 "bicubic"),
    IMAGENET1K_SWAG_LINEAR_V1=_info("vit_h_14_lc_swag-c1eb923e.pth", 632_045_800, 224, 224,
                                    "bicubic"),
    DEFAULT="IMAGENET1K_SWAG_E2E_V1",
)

# name -> (patch_size, num_layers, num_heads, hidden_dim, mlp_dim)
_CONFIGS = {
    "vit_b_16": (16, 12, 12, 768, 3072),
    "vit_b_32": (32, 12, 12, 768, 3072),
    "vit_l_16": (16, 24, 16, 1024, 4096),
    "vit_l_32": (32, 24, 16, 1024, 4096),
    "vit_h_14": (14, 32, 16, 1280, 5120),
}


def _weight_member(weights_cls, weights):
    """The weight set named by ``weights`` (a member or its name), else None (a path)."""
    if isinstance(weights, weights_cls):
        return weights
    if isinstance(weights, str):
        prefix = weights_cls.__name__ + "."
        return weights_cls.__members__.get(weights[len(prefix):] if weights.startswith(prefix)
                                           else weights)
    return None


def _vision_transformer(name, weights_cls, weights, pretrained, kwargs):
    member = _weight_member(weights_cls, weights)
    if member is not None:
        # the weights fix the image size (the length of their position embedding)
        size = member.value.min_size[0]
        if kwargs.get("image_size", size) != size:
            raise ValueError(f"The parameter 'image_size' expected value {size} but got "
                             f"{kwargs['image_size']} instead.")
        kwargs["image_size"] = size
    patch, layers, heads, hidden, mlp = _CONFIGS[name]
    image_size = kwargs.pop("image_size", 224)
    model = VisionTransformer(image_size, patch, layers, heads, hidden, mlp, **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(ViT_B_16_Weights)
def vit_b_16(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vision_transformer("vit_b_16", ViT_B_16_Weights, weights, pretrained, kwargs)


@register_model(ViT_B_32_Weights)
def vit_b_32(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vision_transformer("vit_b_32", ViT_B_32_Weights, weights, pretrained, kwargs)


@register_model(ViT_L_16_Weights)
def vit_l_16(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vision_transformer("vit_l_16", ViT_L_16_Weights, weights, pretrained, kwargs)


@register_model(ViT_L_32_Weights)
def vit_l_32(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vision_transformer("vit_l_32", ViT_L_32_Weights, weights, pretrained, kwargs)


@register_model(ViT_H_14_Weights)
def vit_h_14(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _vision_transformer("vit_h_14", ViT_H_14_Weights, weights, pretrained, kwargs)
