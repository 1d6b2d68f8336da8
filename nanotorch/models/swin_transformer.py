"""Swin Transformer (Swin-T/S/B) and Swin Transformer V2 (V2-T/S/B) with torchvision's module
tree, state_dict keys, constructor signatures and weight sets: shifted-window attention with
a relative position bias table (V2: a log-spaced continuous position bias from a small MLP
and cosine attention with a learned logit scale) and patch merging between stages."""
from __future__ import annotations

import math
from functools import partial

import numpy as np

from .. import creation, nn
from .. import functions as _T
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ._mlp import MLP
from ._ops import Permute, StochasticDepth
from ._registry import register_model
from ._weights import WeightInfo, load_pretrained, weights_enum


def _patch_merging_pad(x):
    """(..., H, W, C) -> (..., ceil(H/2), ceil(W/2), 4C): each 2x2 neighbourhood's features
    side by side, in torchvision's order (0,0), (1,0), (0,1), (1,1)."""
    h, w = x.shape[-3], x.shape[-2]
    if h % 2 or w % 2:
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    return _T.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :],
                   x[..., 1::2, 1::2, :]], -1)


class PatchMerging(nn.Module):
    """Halve the resolution and double the channels: merge 2x2 patches, LayerNorm, Linear."""

    def __init__(self, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x):
        return self.reduction(self.norm(_patch_merging_pad(x)))


class PatchMergingV2(nn.Module):
    """V2's patch merging: Linear first, then LayerNorm."""

    def __init__(self, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x):
        return self.norm(self.reduction(_patch_merging_pad(x)))


def _relative_position_bias(table, index, window_size):
    """(1, heads, N, N) bias for the N = wh * ww positions of a window."""
    n = window_size[0] * window_size[1]
    bias = table[index].reshape(n, n, -1)
    return bias.permute(2, 0, 1).unsqueeze(0)


def _shift_mask(pad_h, pad_w, window_size, shift_size):
    """(windows, N, N) additive mask: -100 between positions that came from different regions
    of the image before the cyclic shift, else 0 (torchvision's construction)."""
    regions = np.zeros((pad_h, pad_w), np.float32)
    h_slices = ((0, -window_size[0]), (-window_size[0], -shift_size[0]), (-shift_size[0], None))
    w_slices = ((0, -window_size[1]), (-window_size[1], -shift_size[1]), (-shift_size[1], None))
    count = 0
    for h in h_slices:
        for w in w_slices:
            regions[h[0]:h[1], w[0]:w[1]] = count
            count += 1
    wh, ww = window_size
    regions = regions.reshape(pad_h // wh, wh, pad_w // ww, ww).transpose(0, 2, 1, 3)
    regions = regions.reshape(-1, wh * ww)
    diff = regions[:, None, :] - regions[:, :, None]
    return creation.from_numpy(np.where(diff != 0, np.float32(-100.0), np.float32(0.0)))


def shifted_window_attention(input, qkv_weight, proj_weight, relative_position_bias,
                             window_size, num_heads, shift_size, attention_dropout=0.0,
                             dropout=0.0, qkv_bias=None, proj_bias=None, logit_scale=None,
                             training=True):
    """Multi-head self-attention within (shifted) windows of a (B, H, W, C) input."""
    b, h, w, c = input.shape
    wh, ww = window_size
    pad_r, pad_b = (ww - w % ww) % ww, (wh - h % wh) % wh
    x = F.pad(input, (0, 0, 0, pad_r, 0, pad_b)) if pad_r or pad_b else input
    pad_h, pad_w = x.shape[1], x.shape[2]
    shift_size = list(shift_size)
    if wh >= pad_h:   # one window covers the height: nothing to shift
        shift_size[0] = 0
    if ww >= pad_w:
        shift_size[1] = 0
    shifted = sum(shift_size) > 0
    if shifted:
        x = _T.roll(x, (-shift_size[0], -shift_size[1]), (1, 2))
    num_windows = (pad_h // wh) * (pad_w // ww)
    x = x.reshape(b, pad_h // wh, wh, pad_w // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(b * num_windows, wh * ww, c)
    if logit_scale is not None and qkv_bias is not None:
        length = qkv_bias.numel() // 3   # V2 has no key bias
        qkv_bias = _T.cat([qkv_bias[:length], qkv_bias[length:2 * length] * 0,
                           qkv_bias[2 * length:]])
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.shape[0], x.shape[1], 3, num_heads, c // num_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    if logit_scale is not None:
        attn = _normalize(q).matmul(_normalize(k).transpose(-2, -1))
        attn = attn * _T.clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        attn = (q * (c // num_heads) ** -0.5).matmul(k.transpose(-2, -1))
    attn = attn + relative_position_bias
    if shifted:
        n = x.shape[1]
        mask = _shift_mask(pad_h, pad_w, window_size, shift_size)
        attn = attn.reshape(x.shape[0] // num_windows, num_windows, num_heads, n, n)
        attn = (attn + mask.unsqueeze(1).unsqueeze(0)).reshape(-1, num_heads, n, n)
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], x.shape[1], c)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)
    x = x.reshape(b, pad_h // wh, pad_w // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(b, pad_h, pad_w, c)
    if shifted:
        x = _T.roll(x, (shift_size[0], shift_size[1]), (1, 2))
    if pad_r or pad_b:
        x = x[:, :h, :w, :]
    return x


def _normalize(x, eps=1e-12):
    """``F.normalize(x, dim=-1)``: x / max(||x||, eps), with the norm's zero gradient at a
    zero row (the keys of padded tokens are zero: sqrt's backward there gave NaN)."""
    return F.normalize(x, dim=-1, eps=eps)


class ShiftedWindowAttention(nn.Module):
    """Window attention with a learned (2*wh-1)*(2*ww-1) x heads relative position table."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True,
                 attention_dropout=0.0, dropout=0.0):
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError("window_size and shift_size must be of length 2")
        self.window_size = list(window_size)
        self.shift_size = list(shift_size)
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        self.define_relative_position_index()

    def define_relative_position_bias_table(self):
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            creation.zeros((2 * wh - 1) * (2 * ww - 1), self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self):
        wh, ww = self.window_size
        coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij")).reshape(2, -1)
        rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0)   # (N, N, 2)
        index = (rel[..., 0] + wh - 1) * (2 * ww - 1) + (rel[..., 1] + ww - 1)
        self.register_buffer("relative_position_index",
                             creation.from_numpy(index.reshape(-1).astype(np.int64)))

    def get_relative_position_bias(self):
        return _relative_position_bias(self.relative_position_bias_table,
                                       self.relative_position_index, self.window_size)

    def forward(self, x):
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
            self.window_size, self.num_heads, shift_size=self.shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """V2: cosine attention with a per-head learned temperature, and the position bias from
    an MLP over log-spaced relative coordinates (16 * sigmoid of it)."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True,
                 attention_dropout=0.0, dropout=0.0):
        super().__init__(dim, window_size, shift_size, num_heads, qkv_bias=qkv_bias,
                         proj_bias=proj_bias, attention_dropout=attention_dropout,
                         dropout=dropout)
        self.logit_scale = nn.Parameter((10 * creation.ones(num_heads, 1, 1)).log())
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, num_heads, bias=False))
        if qkv_bias:
            length = self.qkv.bias.numel() // 3
            with no_grad():
                self.qkv.bias[length:2 * length].zero_()

    def define_relative_position_bias_table(self):
        wh, ww = self.window_size
        grid = np.stack(np.meshgrid(np.arange(-(wh - 1), wh, dtype=np.float32),
                                    np.arange(-(ww - 1), ww, dtype=np.float32), indexing="ij"))
        table = grid.transpose(1, 2, 0)[None].copy()   # (1, 2*wh-1, 2*ww-1, 2)
        table[..., 0] /= wh - 1
        table[..., 1] /= ww - 1
        table *= 8   # to [-8, 8], then log-spaced
        table = np.sign(table) * np.log2(np.abs(table) + 1.0) / 3.0
        self.register_buffer("relative_coords_table",
                             creation.from_numpy(table.astype(np.float32)))

    def get_relative_position_bias(self):
        table = self.cpb_mlp(self.relative_coords_table).reshape(-1, self.num_heads)
        bias = _relative_position_bias(table, self.relative_position_index, self.window_size)
        return 16 * bias.sigmoid()

    def forward(self, x):
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
            self.window_size, self.num_heads, shift_size=self.shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, logit_scale=self.logit_scale,
            training=self.training)


class SwinTransformerBlock(nn.Module):
    """x + attn(norm1(x)), then + mlp(norm2(.)), each through stochastic depth."""

    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio=4.0, dropout=0.0,
                 attention_dropout=0.0, stochastic_depth_prob=0.0, norm_layer=nn.LayerNorm,
                 attn_layer=ShiftedWindowAttention):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(dim, window_size, shift_size, num_heads,
                               attention_dropout=attention_dropout, dropout=dropout)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU, inplace=None,
                       dropout=dropout)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x):
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformerBlockV2(SwinTransformerBlock):
    """V2 block: the norms come after attention and MLP (res-post-norm)."""

    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio=4.0, dropout=0.0,
                 attention_dropout=0.0, stochastic_depth_prob=0.0, norm_layer=nn.LayerNorm,
                 attn_layer=ShiftedWindowAttentionV2):
        super().__init__(dim, num_heads, window_size, shift_size, mlp_ratio=mlp_ratio,
                         dropout=dropout, attention_dropout=attention_dropout,
                         stochastic_depth_prob=stochastic_depth_prob, norm_layer=norm_layer,
                         attn_layer=attn_layer)

    def forward(self, x):
        x = x + self.stochastic_depth(self.norm1(self.attn(x)))
        return x + self.stochastic_depth(self.norm2(self.mlp(x)))


class SwinTransformer(nn.Module):
    """Patch embedding (conv, channels last, LayerNorm), stages of Swin blocks with patch
    merging between them, LayerNorm, average pool and a Linear head."""

    def __init__(self, patch_size, embed_dim, depths, num_heads, window_size, mlp_ratio=4.0,
                 dropout=0.0, attention_dropout=0.0, stochastic_depth_prob=0.1,
                 num_classes=1000, norm_layer=None, block=None, downsample_layer=PatchMerging):
        super().__init__()
        self.num_classes = num_classes
        block = block or SwinTransformerBlock
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-5)
        layers = [nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=(patch_size[0], patch_size[1]),
                      stride=(patch_size[0], patch_size[1])),
            Permute([0, 2, 3, 1]),
            norm_layer(embed_dim))]
        total_blocks = sum(depths)
        block_id = 0
        for i_stage, depth in enumerate(depths):
            dim = embed_dim * 2 ** i_stage
            stage = []
            for i_layer in range(depth):
                # the drop probability grows linearly from 0 to stochastic_depth_prob
                sd_prob = stochastic_depth_prob * float(block_id) / (total_blocks - 1)
                stage.append(block(dim, num_heads[i_stage], window_size=window_size,
                                   shift_size=[0 if i_layer % 2 == 0 else s // 2
                                               for s in window_size],
                                   mlp_ratio=mlp_ratio, dropout=dropout,
                                   attention_dropout=attention_dropout,
                                   stochastic_depth_prob=sd_prob, norm_layer=norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


def _info(file, num_params, size, resize):
    return WeightInfo(file, num_params, crop_size=size, resize_size=resize,
                      interpolation="bicubic", min_size=(size, size))


Swin_T_Weights = weights_enum(
    "Swin_T_Weights", IMAGENET1K_V1=_info("swin_t-704ceda3.pth", 28_288_354, 224, 232),
    DEFAULT="IMAGENET1K_V1")
Swin_S_Weights = weights_enum(
    "Swin_S_Weights", IMAGENET1K_V1=_info("swin_s-5e29d889.pth", 49_606_258, 224, 246),
    DEFAULT="IMAGENET1K_V1")
Swin_B_Weights = weights_enum(
    "Swin_B_Weights", IMAGENET1K_V1=_info("swin_b-68c6b09e.pth", 87_768_224, 224, 238),
    DEFAULT="IMAGENET1K_V1")
Swin_V2_T_Weights = weights_enum(
    "Swin_V2_T_Weights", IMAGENET1K_V1=_info("swin_v2_t-b137f0e2.pth", 28_351_570, 256, 260),
    DEFAULT="IMAGENET1K_V1")
Swin_V2_S_Weights = weights_enum(
    "Swin_V2_S_Weights", IMAGENET1K_V1=_info("swin_v2_s-637d8ceb.pth", 49_737_442, 256, 260),
    DEFAULT="IMAGENET1K_V1")
Swin_V2_B_Weights = weights_enum(
    "Swin_V2_B_Weights", IMAGENET1K_V1=_info("swin_v2_b-781e5279.pth", 87_930_848, 256, 272),
    DEFAULT="IMAGENET1K_V1")

# name -> (embed_dim, depths, num_heads, window, stochastic depth, v2)
_CONFIGS = {
    "swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7], 0.2, False),
    "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], [7, 7], 0.3, False),
    "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], [7, 7], 0.5, False),
    "swin_v2_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], [8, 8], 0.2, True),
    "swin_v2_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], [8, 8], 0.3, True),
    "swin_v2_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], [8, 8], 0.5, True),
}


def _swin(name, weights_cls, weights, pretrained, kwargs):
    embed_dim, depths, heads, window, sd_prob, v2 = _CONFIGS[name]
    if v2:
        kwargs.setdefault("block", SwinTransformerBlockV2)
        kwargs.setdefault("downsample_layer", PatchMergingV2)
    model = SwinTransformer(patch_size=[4, 4], embed_dim=embed_dim, depths=depths,
                            num_heads=heads, window_size=window,
                            stochastic_depth_prob=kwargs.pop("stochastic_depth_prob", sd_prob),
                            **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(Swin_T_Weights)
def swin_t(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _swin("swin_t", Swin_T_Weights, weights, pretrained, kwargs)


@register_model(Swin_S_Weights)
def swin_s(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _swin("swin_s", Swin_S_Weights, weights, pretrained, kwargs)


@register_model(Swin_B_Weights)
def swin_b(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _swin("swin_b", Swin_B_Weights, weights, pretrained, kwargs)


@register_model(Swin_V2_T_Weights)
def swin_v2_t(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _swin("swin_v2_t", Swin_V2_T_Weights, weights, pretrained, kwargs)


@register_model(Swin_V2_S_Weights)
def swin_v2_s(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _swin("swin_v2_s", Swin_V2_S_Weights, weights, pretrained, kwargs)


@register_model(Swin_V2_B_Weights)
def swin_v2_b(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _swin("swin_v2_b", Swin_V2_B_Weights, weights, pretrained, kwargs)
