#!/usr/bin/python3
"""An independent PyTorch implementation of the HyperCLIP model, and the reference dumps that the
C++ engine's parity tests (tests/test_model_parity.cpp) compare against.

The model follows docs/model.md (names, shapes, generated-norm layout) and ../shared/SPEC.md. It is
written only with torch's own ops (F.conv2d, F.batch_norm, F.layer_norm, hand-written attention,
torch.optim.AdamW, clip_grad_norm_), so that it shares no code with the engine.

For each (image tower, mode) it writes tests/data/reference_<tower>_<mode>.safetensors holding:
  input.images [n,3,H,W], input.tokens int32 [n,T], input.eot int32 [n]
  param.<name>  every parameter and buffer of the initial model (state-dict names)
  out.image_emb, out.text_emb [n,E] (L2-normalised), out.hyper [S,P] (hyper mode), out.loss []
(weights and inputs are float32 values; the reference computation itself runs in float64)
  grad.<name>   the gradient of out.loss for every parameter (before clipping)
  out.step_losses [10]: the losses of 10 AdamW steps on the same batch from the initial state
  out.folded_image_emb [n,E] (MCi only): the folded tower (FoldedMCi, an independent fold of every BN
                with the hypernetwork's output for one set of the batch's captions, and of every
                branch) in evaluation mode on input.images, L2-normalised
The header's __metadata__ holds format, version and the configuration as JSON.

reference_distill.safetensors checks the distillation loss of reinforced training (SPEC 2.2); its
layout is described at reference_distill() below.

Regenerate (needs Debian's python3-torch; the tests never need PyTorch):
    /usr/bin/python3 tools/torch_reference.py [--out tests/data]
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_VERSION = "1"


# ---------------------------------------------------------------------------------------------
# Normalisation layers whose scale and shift may be offset by hypernetwork output (SPEC 1.4).
# `offset` is the layer's position in the hypernetwork output ([dγ, dβ] per layer, in layer
# order); None when the layer is not generated.
# ---------------------------------------------------------------------------------------------
def per_sample_affine(layer, gen, sets, n):
    """γ and β per sample, [n, C]: γ0 (+ dγ of the sample's set)."""
    if gen is None or layer.offset is None:
        return layer.weight.expand(n, -1), layer.bias.expand(n, -1)
    c, o = layer.weight.shape[0], layer.offset
    gamma = layer.weight + gen[:, o:o + c]          # [S, C]
    beta = layer.bias + gen[:, o + c:o + 2 * c]     # [S, C]
    return gamma[sets], beta[sets]


class GenBatchNorm2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.offset = None

    def forward(self, x, gen=None, sets=None):
        # Statistics never depend on the generated values: normalise first, then scale per sample.
        xhat = F.batch_norm(x, self.running_mean, self.running_var, None, None, self.training, 0.1, 1e-5)
        g, b = per_sample_affine(self, gen, sets, x.shape[0])
        return xhat * g[:, :, None, None] + b[:, :, None, None]


class GenLayerNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.offset = None

    def forward(self, x, gen=None, sets=None):
        xhat = F.layer_norm(x, (x.shape[-1],), None, None, 1e-5)
        g, b = per_sample_affine(self, gen, sets, x.shape[0])
        shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
        return xhat * g.reshape(shape) + b.reshape(shape)


# ---------------------------------------------------------------------------------------------
# Transformer block (ViT, text tower, hypernetwork), pre-norm.
# ---------------------------------------------------------------------------------------------
class Attention(nn.Module):
    def __init__(self, d, heads, qkv_bias=True):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d, bias=qkv_bias)
        self.proj = nn.Linear(d, d)

    def forward(self, x, causal):
        n, length, d = x.shape
        h, dh = self.heads, d // self.heads
        q, k, v = self.qkv(x).reshape(n, length, 3, h, dh).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
        if causal:
            mask = torch.ones(length, length, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        out = scores.softmax(-1) @ v                                   # [n, h, L, dh]
        return self.proj(out.transpose(1, 2).reshape(n, length, d))


class Mlp(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.norm1 = GenLayerNorm(d)
        self.attn = Attention(d, heads)
        self.norm2 = GenLayerNorm(d)
        self.mlp = Mlp(d, 4 * d)

    def forward(self, x, causal=False, gen=None, sets=None):
        x = x + self.attn(self.norm1(x, gen, sets), causal)
        return x + self.mlp(self.norm2(x, gen, sets))


# ---------------------------------------------------------------------------------------------
# ConvNet image tower (EfficientNet topology, SPEC 1.1).
# ---------------------------------------------------------------------------------------------
def round8(v):
    r = max(8, int(math.floor((v + 4) / 8)) * 8)
    return r + 8 if r < 0.9 * v else r


STAGES = [  # kernel, stride, expand, channels, repeats (SPEC 1.1 stages 1-7)
    (3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]


class ConvBnAct(nn.Module):
    def __init__(self, cin, cout, k, stride, groups, act):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = GenBatchNorm2d(cout)
        self.act = act

    def forward(self, x, gen, sets):
        y = self.bn(self.conv(x), gen, sets)
        return F.silu(y) if self.act else y


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.reduce = nn.Conv2d(c, r, 1)
        self.expand = nn.Conv2d(r, c, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(s))))


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, e):
        super().__init__()
        mid = cin * e
        self.expand = ConvBnAct(cin, mid, 1, 1, 1, True) if e != 1 else None
        self.dw = ConvBnAct(mid, mid, k, stride, mid, True)
        self.se = SqueezeExcite(mid, max(1, cin // 4))
        self.project = ConvBnAct(mid, cout, 1, 1, 1, False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x, gen, sets):
        h = self.expand(x, gen, sets) if self.expand is not None else x
        h = self.project(self.se(self.dw(h, gen, sets)), gen, sets)
        return h + x if self.residual else h


class ConvNet(nn.Module):
    def __init__(self, width, depth, embed):
        super().__init__()
        c = round8(32 * width)
        self.stem = ConvBnAct(3, c, 3, 2, 1, True)
        self.blocks = nn.ModuleList()
        for k, s, e, ch, reps in STAGES:
            out = round8(ch * width)
            stage = nn.ModuleList()
            for j in range(int(math.ceil(reps * depth))):
                stage.append(MBConv(c, out, k, s if j == 0 else 1, e))
                c = out
            self.blocks.append(stage)
        c_head = round8(1280 * width)
        self.head = ConvBnAct(c, c_head, 1, 1, 1, True)
        self.proj = nn.Linear(c_head, embed, bias=False)

    def generated_norms(self):
        out = [self.stem.bn]
        for stage in self.blocks:
            for b in stage:
                if b.expand is not None:
                    out.append(b.expand.bn)
                out += [b.dw.bn, b.project.bn]
        return out + [self.head.bn]

    def forward(self, x, gen=None, sets=None):
        x = self.stem(x, gen, sets)
        for stage in self.blocks:
            for b in stage:
                x = b(x, gen, sets)
        return self.proj(self.head(x, gen, sets).mean((2, 3)))


# ---------------------------------------------------------------------------------------------
# ViT image tower (SPEC 1.2).
# ---------------------------------------------------------------------------------------------
class ViT(nn.Module):
    def __init__(self, dim, depth, heads, patch, image_size, embed):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.pos_embed = nn.Parameter(torch.zeros((image_size // patch) ** 2, dim))
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = GenLayerNorm(dim)
        self.proj = nn.Linear(dim, embed, bias=False)

    def generated_norms(self):
        out = []
        for b in self.blocks:
            out += [b.norm1, b.norm2]
        return out + [self.norm]

    def forward(self, x, gen=None, sets=None):
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed   # [n, P, D]
        for b in self.blocks:
            x = b(x, False, gen, sets)
        return self.proj(self.norm(x, gen, sets).mean(1))


# ---------------------------------------------------------------------------------------------
# MobileCLIP's MCi image towers and the Text-RepMixer (SPEC 2.1), written from apple/ml-mobileclip's
# mci.py and timm's fastvit.py (timm's parameter names). Every batch norm is a GenBatchNorm2d, so
# the hypernetwork can generate it; `generated_norms` lists them in module order.
# ---------------------------------------------------------------------------------------------
def make_divisible8(v):
    return max(8, int(v + 4) // 8 * 8)


class ConvNorm(nn.Module):
    """conv (no bias) then BN; k = (kh, kw), padding kh//2 x kw//2."""

    def __init__(self, cin, cout, k, stride, groups):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k[0] // 2, k[1] // 2), groups=groups, bias=False)
        self.bn = GenBatchNorm2d(cout)

    def forward(self, x, gen, sets):
        return self.bn(self.conv(x), gen, sets)


class SEModule(nn.Module):
    """mean -> fc1 (bias) -> ReLU -> fc2 (bias) -> sigmoid -> scale."""

    def __init__(self, c, r):
        super().__init__()
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class LayerScale(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((c, 1, 1), 1e-5))


class MobileOne(nn.Module):
    """act(se(scale branch + identity BN + k×k branch)); modules in timm's order."""

    def __init__(self, cin, cout, k, stride=1, groups=1, se=False, act=True, scale=True, conv_branches=1):
        super().__init__()
        self.k, self.stride, self.groups, self.act = k, stride, groups, act
        self.se = SEModule(cout, max(1, int(cout / 16 + 0.5))) if se else None
        self.identity = GenBatchNorm2d(cin) if cin == cout and stride == 1 else None
        self.conv_kxk = nn.ModuleList([ConvNorm(cin, cout, k, stride, groups) for _ in range(conv_branches)]) \
            if conv_branches else None
        self.conv_scale = ConvNorm(cin, cout, (1, 1), stride, groups) if scale and k[0] > 1 and k[1] > 1 else None

    def forward(self, x, gen, sets):
        out = 0
        if self.conv_scale is not None:
            out = out + self.conv_scale(x, gen, sets)
        if self.identity is not None:
            out = out + self.identity(x, gen, sets)
        if self.conv_kxk is not None:
            for c in self.conv_kxk:
                out = out + c(x, gen, sets)
        if self.se is not None:
            out = self.se(out)
        return F.gelu(out) if self.act else out


class RepMixer(nn.Module):
    def __init__(self, dim, k):
        super().__init__()
        self.norm = MobileOne(dim, dim, k, groups=dim, act=False, scale=False, conv_branches=0)
        self.mixer = MobileOne(dim, dim, k, groups=dim, act=False)
        self.layer_scale = LayerScale(dim)

    def forward(self, x, gen, sets):
        return x + self.layer_scale.gamma * (self.mixer(x, gen, sets) - self.norm(x, gen, sets))


class ConvMlp(nn.Module):
    def __init__(self, dim, hidden, k):
        super().__init__()
        self.conv = ConvNorm(dim, dim, k, 1, dim)
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x, gen, sets):
        return self.fc2(F.gelu(self.fc1(self.conv(x, gen, sets))))


class RepMixerBlock(nn.Module):
    def __init__(self, dim, k_mix, k_ffn, ratio):
        super().__init__()
        self.token_mixer = RepMixer(dim, k_mix)
        self.mlp = ConvMlp(dim, dim * ratio, k_ffn)
        self.layer_scale = LayerScale(dim)

    def forward(self, x, gen=None, sets=None):
        x = self.token_mixer(x, gen, sets)
        return x + self.layer_scale.gamma * self.mlp(x, gen, sets)


class LargeKernelConv(nn.Module):
    """GELU(se(7×7 conv-BN + 3×3 conv-BN)), stride 2, groups cin."""

    def __init__(self, cin, cout, se):
        super().__init__()
        self.large_conv = ConvNorm(cin, cout, (7, 7), 2, cin)
        self.small_conv = ConvNorm(cin, cout, (3, 3), 2, cin)
        self.se = SEModule(cout, make_divisible8(cout * 0.25)) if se else None

    def forward(self, x, gen, sets):
        out = self.large_conv(x, gen, sets) + self.small_conv(x, gen, sets)
        return F.gelu(self.se(out) if self.se is not None else out)


class PatchEmbed(nn.Module):
    def __init__(self, cin, cout, se):
        super().__init__()
        self.proj = nn.ModuleList([LargeKernelConv(cin, cout, se), MobileOne(cout, cout, (1, 1))])

    def forward(self, x, gen, sets):
        return self.proj[1](self.proj[0](x, gen, sets), gen, sets)


class RepCPE(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.pos_enc = nn.Conv2d(dim, dim, 7, 1, 3, groups=dim)

    def forward(self, x):
        return x + self.pos_enc(x)


def attention_2d(attn, x):
    """MHSA over the H·W tokens of x [n, C, H, W] (row-major), back to [n, C, H, W]."""
    n, c, h, w = x.shape
    return attn(x.flatten(2).transpose(1, 2), False).transpose(1, 2).reshape(n, c, h, w)


class AttentionBlock(nn.Module):
    def __init__(self, dim, ratio):
        super().__init__()
        self.norm = GenBatchNorm2d(dim)
        self.token_mixer = Attention(dim, dim // 32, qkv_bias=False)
        self.layer_scale_1 = LayerScale(dim)
        self.mlp = ConvMlp(dim, dim * ratio, (7, 7))
        self.layer_scale_2 = LayerScale(dim)

    def forward(self, x, gen=None, sets=None):
        x = x + self.layer_scale_1.gamma * attention_2d(self.token_mixer, self.norm(x, gen, sets))
        return x + self.layer_scale_2.gamma * self.mlp(x, gen, sets)


class Stage(nn.Module):
    def __init__(self, cin, cout, depth, attention, downsample, se, pos_emb, ratio):
        super().__init__()
        self.downsample = PatchEmbed(cin, cout, se) if downsample else None
        self.pos_emb = RepCPE(cout) if pos_emb else None
        self.blocks = nn.ModuleList([AttentionBlock(cout, ratio) if attention else RepMixerBlock(cout, (3, 3), (7, 7), ratio)
                                     for _ in range(depth)])

    def forward(self, x, gen, sets):
        if self.downsample is not None:
            x = self.downsample(x, gen, sets)
        if self.pos_emb is not None:
            x = self.pos_emb(x)
        for b in self.blocks:
            x = b(x, gen, sets)
        return x


class Head(nn.Module):
    def __init__(self, cin, embed):
        super().__init__()
        self.fc = nn.Linear(cin, embed, bias=False)


class MCi(nn.Module):
    def __init__(self, widths, depths, ratio, embed):
        super().__init__()
        c0 = widths[0]
        self.stem = nn.ModuleList([MobileOne(3, c0, (3, 3), 2), MobileOne(c0, c0, (3, 3), 2, groups=c0),
                                   MobileOne(c0, c0, (1, 1))])
        self.stages = nn.ModuleList()
        prev = c0
        for i in range(4):
            self.stages.append(Stage(prev, widths[i], depths[i], i == 3, i > 0, i >= 2, i == 3, ratio))
            prev = widths[i]
        self.final_conv = MobileOne(prev, 2 * prev, (3, 3), groups=prev, se=True)
        self.head = Head(2 * prev, embed)

    def generated_norms(self):
        return [m for m in self.modules() if isinstance(m, GenBatchNorm2d)]

    def forward(self, x, gen=None, sets=None):
        for b in self.stem:
            x = b(x, gen, sets)
        for st in self.stages:
            x = st(x, gen, sets)
        return self.head.fc(self.final_conv(x, gen, sets).mean((2, 3)))


# ---------------------------------------------------------------------------------------------
# The folded MCi tower (SPEC 2.1, 1.7): every BN (with the generated γ, β of one set and the
# running statistics) and every branch folded into one convolution per block, written apart from
# the engine's models/reparam.cpp. `FoldedMCi(visual, gen)` is a plain network of convolutions,
# products and attention (no normalisation layer), evaluated like any nn.Module.
# ---------------------------------------------------------------------------------------------
def bn_affine(bn, gen):
    """y = s·x + t of a GenBatchNorm2d in evaluation mode; gen [1, P] or None."""
    gamma, beta = bn.weight, bn.bias
    if gen is not None and bn.offset is not None:
        c, o = gamma.shape[0], bn.offset
        gamma, beta = gamma + gen[0, o:o + c], beta + gen[0, o + c:o + 2 * c]
    s = gamma / torch.sqrt(bn.running_var + 1e-5)
    return s, beta - bn.running_mean * s


def fused_conv_bn(cn, gen):
    s, t = bn_affine(cn.bn, gen)
    return cn.conv.weight * s[:, None, None, None], t


def identity_kernel(c, in_g, kh, kw, s=None, t=None):
    w = torch.zeros(c, in_g, kh, kw, dtype=torch.float64)
    for i in range(c):
        w[i, i % in_g, kh // 2, kw // 2] = 1.0 if s is None else s[i]
    return w, torch.zeros(c, dtype=torch.float64) if t is None else t


def pad_to(w, kh, kw):
    dy, dx = (kh - w.shape[2]) // 2, (kw - w.shape[3]) // 2
    return F.pad(w, [dx, dx, dy, dy])


def mobileone_kernel(m, gen):
    kh, kw = m.k
    w, b = 0, 0
    if m.conv_kxk is not None:
        for c in m.conv_kxk:
            cw, cb = fused_conv_bn(c, gen)
            w, b = w + cw, b + cb
    if m.conv_scale is not None:
        cw, cb = fused_conv_bn(m.conv_scale, gen)
        w, b = w + pad_to(cw, kh, kw), b + cb
    if m.identity is not None:
        s, t = bn_affine(m.identity, gen)
        c = s.shape[0]
        iw, ib = identity_kernel(c, c // m.groups, kh, kw, s, t)
        w, b = w + iw, b + ib
    return w, b


def folded_conv(w, b, stride, groups):
    conv = nn.Conv2d(w.shape[1] * groups, w.shape[0], (w.shape[2], w.shape[3]), stride,
                     (w.shape[2] // 2, w.shape[3] // 2), groups=groups).double()
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.copy_(b)
    return conv


class FConv(nn.Module):
    """A folded block: act(se(conv(x)))."""

    def __init__(self, conv, se=None, act=True):
        super().__init__()
        self.conv, self.se, self.act = conv, se, act

    def forward(self, x):
        y = self.conv(x)
        if self.se is not None:
            y = self.se(y)
        return F.gelu(y) if self.act else y


def folded_mobileone(m, gen):
    w, b = mobileone_kernel(m, gen)
    return FConv(folded_conv(w, b, m.stride, m.groups), m.se, m.act)


class FMlp(nn.Module):
    """ConvFFN with its BN in the depthwise conv and the block's layer scale in fc2."""

    def __init__(self, mlp, ls, gen):
        super().__init__()
        w, b = fused_conv_bn(mlp.conv, gen)
        self.conv = folded_conv(w, b, 1, w.shape[0])
        self.fc1 = mlp.fc1
        g = ls.gamma.reshape(-1)
        self.fc2 = folded_conv(mlp.fc2.weight * g[:, None, None, None], mlp.fc2.bias * g, 1, 1)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(self.conv(x))))


class FRepMixerBlock(nn.Module):
    def __init__(self, blk, gen):
        super().__init__()
        tm = blk.token_mixer
        wm, bm = mobileone_kernel(tm.mixer, gen)
        wn, bn_ = mobileone_kernel(tm.norm, gen)
        g = tm.layer_scale.gamma.reshape(-1)
        iw, _ = identity_kernel(wm.shape[0], 1, wm.shape[2], wm.shape[3])
        self.mixer = folded_conv(iw + g[:, None, None, None] * (wm - wn), g * (bm - bn_), 1, wm.shape[0])
        self.mlp = FMlp(blk.mlp, blk.layer_scale, gen)

    def forward(self, x):
        x = self.mixer(x)
        return x + self.mlp(x)


class FAttentionBlock(nn.Module):
    def __init__(self, blk, gen):
        super().__init__()
        s, t = bn_affine(blk.norm, gen)
        tm = blk.token_mixer
        d = s.shape[0]
        self.attn = Attention(d, tm.heads).double()
        g = blk.layer_scale_1.gamma.reshape(-1)
        with torch.no_grad():
            self.attn.qkv.weight.copy_(tm.qkv.weight * s[None, :])
            self.attn.qkv.bias.copy_(tm.qkv.weight @ t)
            self.attn.proj.weight.copy_(tm.proj.weight * g[:, None])
            self.attn.proj.bias.copy_(tm.proj.bias * g)
        self.mlp = FMlp(blk.mlp, blk.layer_scale_2, gen)

    def forward(self, x):
        x = x + attention_2d(self.attn, x)
        return x + self.mlp(x)


class FoldedMCi(nn.Module):
    def __init__(self, visual, gen=None):
        super().__init__()
        with torch.no_grad():
            layers = [folded_mobileone(b, gen) for b in visual.stem]
            for st in visual.stages:
                if st.downsample is not None:
                    lk = st.downsample.proj[0]
                    w, b = fused_conv_bn(lk.large_conv, gen)
                    ws, bs = fused_conv_bn(lk.small_conv, gen)
                    layers.append(FConv(folded_conv(w + pad_to(ws, 7, 7), b + bs, 2, lk.large_conv.conv.groups), lk.se))
                    layers.append(folded_mobileone(st.downsample.proj[1], gen))
                if st.pos_emb is not None:
                    pe = st.pos_emb.pos_enc
                    iw, _ = identity_kernel(pe.weight.shape[0], 1, 7, 7)
                    layers.append(FConv(folded_conv(pe.weight + iw, pe.bias, 1, pe.groups), act=False))
                for blk in st.blocks:
                    layers.append(FAttentionBlock(blk, gen) if isinstance(blk, AttentionBlock) else FRepMixerBlock(blk, gen))
            layers.append(folded_mobileone(visual.final_conv, gen))
        self.layers = nn.ModuleList(layers)
        self.fc = visual.head.fc

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.fc(x.mean((2, 3)))


# ---------------------------------------------------------------------------------------------
# Text tower (SPEC 1.3) and hypernetwork (SPEC 1.4).
# ---------------------------------------------------------------------------------------------
class TextTower(nn.Module):
    """kind "transformer" (SPEC 1.3) or "mct", the Text-RepMixer (SPEC 2.1): a RepMixer block with
    1×11 kernels (the sequence as a 1×T image) before and after the transformer blocks."""

    def __init__(self, dim, layers, heads, context, vocab, embed, kind="transformer", causal=True):
        super().__init__()
        self.causal = causal
        self.token_embedding = nn.Embedding(vocab, dim)
        self.positional_embedding = nn.Parameter(torch.zeros(context, dim))
        blocks = [Block(dim, heads) for _ in range(layers)]
        if kind == "mct":
            blocks = [RepMixerBlock(dim, (1, 11), (1, 11), 4)] + blocks + [RepMixerBlock(dim, (1, 11), (1, 11), 4)]
        self.blocks = nn.ModuleList(blocks)
        self.ln_final = GenLayerNorm(dim)
        self.proj = nn.Linear(dim, embed, bias=False)

    def forward(self, tokens, eot):
        x = self.token_embedding(tokens) + self.positional_embedding[:tokens.shape[1]]
        for b in self.blocks:
            if isinstance(b, RepMixerBlock):
                x = b(x.transpose(1, 2).unsqueeze(2)).squeeze(2).transpose(1, 2)
            else:
                x = b(x, causal=self.causal)
        x = self.ln_final(x)
        return self.proj(x[torch.arange(x.shape[0]), eot])


class HyperNetwork(nn.Module):
    def __init__(self, dim, layers, heads, bottleneck, embed, P, input_mode="raw", input_scale=1.0):
        super().__init__()
        self.input_mode, self.input_scale = input_mode, input_scale  # docs/hypernetwork.md
        self.input = nn.Linear(embed, dim)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.norm = GenLayerNorm(dim)
        self.bottleneck = nn.Linear(dim, bottleneck)
        self.output = nn.Linear(bottleneck, P)

    def forward(self, sets):  # [S, m, E] -> [S, P]
        if self.input_mode == "center":
            sets = sets - sets.mean(1, keepdim=True)
        x = self.input(sets * self.input_scale)
        for b in self.blocks:
            x = b(x, causal=False)
        return self.output(self.bottleneck(self.norm(x)).mean(1))


def select_generated(norms, which):
    """The norm layers the hypernetwork generates: "all", "first:N" or "last:N" of `norms`."""
    if which == "all":
        return norms
    kind, n = which.split(":")
    return norms[:int(n)] if kind == "first" else norms[len(norms) - int(n):]


class HyperCLIP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        im, tx, hy, E = cfg["image"], cfg["text"], cfg["hyper"], cfg["embed"]
        if im["kind"] == "convnet":
            self.visual = ConvNet(im["width"], im["depth"], E)
        elif im["kind"] == "mci":
            self.visual = MCi(im["widths"], im["depths"], im["mlp_ratio"], E)
        else:
            self.visual = ViT(im["dim"], im["depth"], im["heads"], im["patch"], im["image_size"], E)
        self.text = TextTower(tx["dim"], tx["layers"], tx["heads"], tx["context"], cfg["vocab"], E,
                              tx.get("kind", "transformer"), tx.get("causal", True))
        self.mode, self.set_size = cfg["mode"], cfg["set_size"]
        self.hyper = None
        if self.mode == "hyper":
            offset = 0
            for layer in select_generated(self.visual.generated_norms(), cfg.get("generated", "all")):
                layer.offset = offset                      # [dγ, dβ] per layer, in layer order
                offset += 2 * layer.weight.shape[0]
            self.hyper = HyperNetwork(hy["dim"], hy["layers"], hy["heads"], hy["bottleneck"], E, offset,
                                      cfg.get("hyper_input", "raw"), cfg.get("hyper_input_scale", 1.0))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.logit_bias = nn.Parameter(torch.tensor(-10.0))

    def forward(self, images, tokens, eot):
        n = images.shape[0]
        e = F.normalize(self.text(tokens, eot), dim=-1)
        gen = sets = None
        if self.hyper is not None:
            m = self.set_size if self.set_size > 0 else n
            gen = self.hyper(e.reshape(n // m, m, -1))
            sets = torch.arange(n) // m
        v = F.normalize(self.visual(images, gen, sets), dim=-1)
        logits = v @ e.t() * self.logit_scale.exp() + self.logit_bias
        z = 2 * torch.eye(n) - 1
        loss = -F.logsigmoid(z * logits).sum() / n
        return v, e, gen, loss


# ---------------------------------------------------------------------------------------------
# Initialisation (docs/model.md), optimiser and schedule.
# ---------------------------------------------------------------------------------------------
def init_parameters(model, hyper_output_std):
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name == "logit_scale":
                p.fill_(math.log(10.0))
            elif name == "logit_bias":
                p.fill_(-10.0)
            elif name.endswith(".gamma") and p.dim() == 3:
                p.fill_(1e-5)  # layer scales
            elif name.startswith("hyper.output."):
                # Zero in a real model; non-zero here so that every hypernetwork and text-tower
                # gradient through it is exercised by the parity test.
                nn.init.normal_(p, std=hyper_output_std)
            elif p.dim() == 4:
                nn.init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")
            elif p.dim() == 2:
                nn.init.trunc_normal_(p, std=0.02, a=-0.04, b=0.04)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                p.fill_(1.0)


def randomise_mci_state(model, gen):
    """A state as after training for the MCi references: every BN's affine and running statistics
    and every layer scale random (a new model has 1, 0, 0, 1 and 1e-5, which would leave the
    branches and the folding nearly untested)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, GenBatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.5)
            elif isinstance(m, LayerScale):
                m.gamma.copy_(torch.rand(m.gamma.shape, generator=gen) * 0.45 + 0.05)


def decays(name, p):
    embeddings = ("token_embedding.weight", "positional_embedding", "pos_embed", "tokens")
    return p.dim() >= 2 and not any(name == e or name.endswith("." + e) for e in embeddings)


def lr_at(step, base, warmup, total):
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) * base


# ---------------------------------------------------------------------------------------------
# safetensors, written by hand (8-byte little-endian header length, JSON header, raw data).
# ---------------------------------------------------------------------------------------------
def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        t = t.detach().contiguous()
        if t.dtype == torch.float64:
            t = t.float()
        dtype = {torch.float32: "F32", torch.int32: "I32"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def make_inputs(cfg, gen):
    n, T, V = cfg["batch"], cfg["text"]["context"], cfg["vocab"]
    size = cfg["image"]["image_size"]
    images = torch.randn(n, 3, size, size, generator=gen)
    sot, eot_id = V - 2, V - 1
    eot = torch.randint(2, T, (n,), generator=gen, dtype=torch.int32)     # positions in [2, T-1]
    tokens = torch.zeros(n, T, dtype=torch.int32)
    for i in range(n):
        e = int(eot[i])
        tokens[i, 0] = sot
        tokens[i, 1:e] = torch.randint(1, V - 2, (e - 1,), generator=gen, dtype=torch.int32)
        tokens[i, e] = eot_id
    return images, tokens, eot


def reference(cfg, path):
    torch.manual_seed(cfg["seed"])
    model = HyperCLIP(cfg)
    init_parameters(model, cfg["hyper_output_std"])
    mci = cfg["image"]["kind"] == "mci"
    if mci:
        randomise_mci_state(model, torch.Generator().manual_seed(cfg["seed"] + 2))
    images, tokens, eot = make_inputs(cfg, torch.Generator().manual_seed(cfg["seed"] + 1))
    # The weights and inputs are float32 values (what the engine loads); the computation runs in
    # float64, so that the reference carries no float32 rounding of its own and the tests measure
    # the engine's error alone.
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    model.double().train()
    images = images.double()

    v, e, gen, loss = model(images, tokens.long(), eot.long())
    loss.backward()
    tensors = [("input.images", images.float()), ("input.tokens", tokens), ("input.eot", eot)]
    tensors += [("param." + k, initial[k]) for k in initial]
    tensors += [("out.image_emb", v), ("out.text_emb", e), ("out.loss", loss)]
    if gen is not None:
        tensors.append(("out.hyper", gen))
    tensors += [("grad." + k, p.grad) for k, p in model.named_parameters()]

    if mci:
        # The folded tower (FoldedMCi, evaluation mode) for the hypernetwork's output on one set of
        # the batch's captions, from the initial state; checked here against the branch form.
        model.load_state_dict({k: v.double() for k, v in initial.items()})
        model.eval()
        with torch.no_grad():
            e_eval = F.normalize(model.text(tokens.long(), eot.long()), dim=-1)
            gen1 = model.hyper(e_eval[None]) if model.hyper is not None else None
            sets1 = torch.zeros(images.shape[0], dtype=torch.long)
            branches = F.normalize(model.visual(images, gen1, sets1), dim=-1)
            folded = F.normalize(FoldedMCi(model.visual, gen1)(images), dim=-1)
        err = ((folded - branches).abs().max() / branches.abs().max()).item()
        assert err < 1e-12, f"FoldedMCi differs from the branch form by {err}"
        tensors.append(("out.folded_image_emb", folded))
        model.train()

    # Ten AdamW steps from the same initial state (running statistics included).
    model.load_state_dict({k: v.double() for k, v in initial.items()})
    o = cfg["optim"]
    named = list(model.named_parameters())
    opt = torch.optim.AdamW(
        [{"params": [p for k, p in named if decays(k, p)], "weight_decay": o["weight_decay"]},
         {"params": [p for k, p in named if not decays(k, p)], "weight_decay": 0.0}],
        lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    losses = []
    for step in range(o["steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, o["lr"], o["warmup"], o["steps"])
        opt.zero_grad(set_to_none=True)
        loss = model(images, tokens.long(), eot.long())[3]
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in named], o["clip"])
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, math.log(100.0))
        losses.append(loss.item())
    tensors.append(("out.step_losses", torch.tensor(losses, dtype=torch.float32)))

    meta = {"format": "hyperclip-reference", "version": FORMAT_VERSION, "config": json.dumps(cfg),
            "torch_version": torch.__version__,
            "note": "hyper.output initialised with normal(std=hyper_output_std) instead of zero" +
                    ("; every BN's affine and running statistics and every layer scale randomised" if mci else "")}
    write_safetensors(path, tensors, meta)
    count = lambda m: sum(p.numel() for p in m.parameters()) if m is not None else 0
    print(f"{path}: {os.path.getsize(path)} bytes; params image {count(model.visual)} "
          f"text {count(model.text)} hyper {count(model.hyper)}; P "
          f"{model.hyper.output.out_features if model.hyper is not None else 0}; "
          f"loss {losses[0]:.6f} -> {losses[-1]:.6f}")


def configs():
    common = {
        "text": {"dim": 32, "layers": 2, "heads": 2, "context": 8},
        "hyper": {"dim": 32, "layers": 1, "heads": 2, "bottleneck": 16},
        "embed": 16, "vocab": 50, "seed": 0, "hyper_output_std": 0.05,
        "optim": {"lr": 1e-3, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.98, "eps": 1e-6,
                  "clip": 1.0, "warmup": 2, "steps": 10},
    }
    towers = {
        # 48 px and 8 images: the last stages still see 2x2 maps, so every batch norm averages over
        # at least 32 values (at 32 px and 4 images they see 4, which leaves the float32 result
        # ill-conditioned at the 1e-5 level whatever the implementation).
        "convnet": {"kind": "convnet", "width": 0.125, "depth": 0.5, "image_size": 48, "batch": 8},
        "vit": {"kind": "vit", "dim": 32, "depth": 2, "heads": 2, "patch": 8, "image_size": 32, "batch": 4},
    }
    for tower, image in towers.items():
        for mode in ("hyper", "baseline"):
            batch = image["batch"]
            cfg = dict(common, image=image, mode=mode, batch=batch, set_size=batch // 2 if mode == "hyper" else 0)
            yield f"reference_{tower}_{mode}.safetensors", cfg
    # MobileCLIP: mci-nano at its 64 px (the last stage sees 2×2 maps, every BN averages over at
    # least 32 values) with a Text-RepMixer-shaped text tower (non-causal, 1×11 RepMixer blocks).
    mci = {"kind": "mci", "widths": [24, 48, 96, 192], "depths": [1, 1, 2, 1], "mlp_ratio": 3, "image_size": 64}
    mct = {"dim": 32, "layers": 2, "heads": 2, "context": 8, "kind": "mct", "causal": False}
    for mode in ("hyper", "baseline"):
        yield f"reference_mci_{mode}.safetensors", dict(common, image=mci, text=mct, mode=mode, batch=8,
                                                         set_size=4 if mode == "hyper" else 0)
    # A generated-layer subset: only the last four batch norms (of the last block and the head).
    image = towers["convnet"]
    yield "reference_convnet_hyper_last4.safetensors", dict(common, image=image, mode="hyper", batch=image["batch"],
                                                            set_size=image["batch"] // 2, generated="last:4")
    # The hypernetwork input option: each set centred, then scaled (docs/hypernetwork.md).
    image = towers["vit"]
    yield "reference_vit_hyper_center.safetensors", dict(common, image=image, mode="hyper", batch=image["batch"],
                                                         set_size=image["batch"] // 2, hyper_input="center",
                                                         hyper_input_scale=2.0)


# ---------------------------------------------------------------------------------------------
# Multi-modal distillation (SPEC 2.2), the loss alone and in the reinforced training objective:
# tests/data/reference_distill.safetensors (tests/test_distillation_loss.cpp).
#   input.v [n,E], input.e_real, input.e_extra [n,E] (L2-normalised student embeddings),
#   input.t_prime, input.bias [], input.teacher_image, input.teacher_real, input.teacher_extra
#   [n,D] (two teachers side by side, each L2-normalised), input.teacher_dims int32 [2],
#   input.weight [] (λ)
#   out.target_i2t, out.target_t2i [n,n] (real captions), out.distill_real, out.siglip_real,
#   out.total = Σ over real and extra of (1−λ)·SigLIP + λ·distillation;
#   grad.v, grad.e_real, grad.e_extra, grad.t_prime, grad.bias: gradients of out.total.
# ---------------------------------------------------------------------------------------------
def distill_targets(rows, cols, dims, scale=100.0):
    """Average over teachers of the row softmax of scale·rows_k cols_kᵀ."""
    total, at = 0, 0
    for d in dims:
        total = total + torch.softmax(scale * (rows[:, at:at + d] @ cols[:, at:at + d].t()), dim=1)
        at += d
    return total / len(dims)


def distill_loss(v, e, t_prime, target_i2t, target_t2i):
    logits = t_prime.exp() * (v @ e.t())
    i2t = -(target_i2t * F.log_softmax(logits, dim=1)).sum(1).mean()
    t2i = -(target_t2i * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
    return 0.5 * (i2t + t2i)


def siglip(v, e, t_prime, bias):
    n = v.shape[0]
    z = 2 * torch.eye(n, dtype=v.dtype) - 1
    return -F.logsigmoid(z * (t_prime.exp() * (v @ e.t()) + bias)).sum() / n


def reference_distill(path):
    gen = torch.Generator().manual_seed(21)
    n, E, dims, weight = 6, 5, [4, 3], 0.75
    unit = lambda *shape: F.normalize(torch.randn(*shape, generator=gen), dim=-1).float()

    def teachers():  # each teacher's block normalised on its own, as `hyperclip reinforce` stores them
        return torch.cat([unit(n, d) for d in dims], dim=1)

    inputs = {"v": unit(n, E), "e_real": unit(n, E), "e_extra": unit(n, E),
              "t_prime": torch.tensor(math.log(10.0) + 0.3), "bias": torch.tensor(-9.5),
              "teacher_image": teachers(), "teacher_real": teachers(), "teacher_extra": teachers()}
    x = {k: t.double().requires_grad_(k in ("v", "e_real", "e_extra", "t_prime", "bias")) for k, t in inputs.items()}
    total, parts = 0, {}
    for which in ("real", "extra"):
        ti2t = distill_targets(x["teacher_image"], x["teacher_" + which], dims)
        tt2i = distill_targets(x["teacher_" + which], x["teacher_image"], dims)
        d = distill_loss(x["v"], x["e_" + which], x["t_prime"], ti2t, tt2i)
        s = siglip(x["v"], x["e_" + which], x["t_prime"], x["bias"])
        parts[which] = (ti2t, tt2i, d, s)
        total = total + (1 - weight) * s + weight * d
    total.backward()
    ti2t, tt2i, d, s = parts["real"]
    tensors = [("input." + k, t) for k, t in inputs.items()]
    tensors += [("input.teacher_dims", torch.tensor(dims, dtype=torch.int32)),
                ("input.weight", torch.tensor(weight))]
    tensors += [("out.target_i2t", ti2t), ("out.target_t2i", tt2i), ("out.distill_real", d),
                ("out.siglip_real", s), ("out.total", total)]
    tensors += [("grad." + k, x[k].grad) for k in ("v", "e_real", "e_extra", "t_prime", "bias")]
    meta = {"format": "hyperclip-reference-distill", "version": FORMAT_VERSION, "torch_version": torch.__version__}
    write_safetensors(path, [(k, t.detach()) for k, t in tensors], meta)
    print(f"{path}: {os.path.getsize(path)} bytes; distillation {d.item():.6f}, total {total.item():.6f}")


# Dumps that are not whole-model configurations: file name -> writer.
EXTRA_REFERENCES = {"reference_distill.safetensors": reference_distill}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data"))
    ap.add_argument("only", nargs="*", help="write only these files (default: all)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    known = [name for name, _ in configs()] + list(EXTRA_REFERENCES)
    for name in args.only:
        if name not in known:
            sys.exit(f"torch_reference.py: unknown reference file {name} (known: {', '.join(known)})")
    for name, cfg in configs():
        if not args.only or name in args.only:
            reference(cfg, os.path.join(args.out, name))
    for name, write in EXTRA_REFERENCES.items():
        if not args.only or name in args.only:
            write(os.path.join(args.out, name))


if __name__ == "__main__":
    main()
