#!/usr/bin/python3
"""Makes the reference-layout DiT checkpoint that Models/DitReferenceTests.cs checks us against.

A class-conditional DiT written here from the paper and the reference's documented structure (facebookresearch/DiT,
models.py: patch embed conv, fixed 2-D sin-cos positions, timestep MLP, label table with a null row, adaLN-Zero
blocks with timm-style attention and tanh-GELU MLP, final layer, unpatchify, learned sigma), with the reference's
state-dict keys. Every weight is drawn at random (not zero-initialised), so adaLN, gates and the final layer all
matter. Run once with Debian's python3-torch:

    /usr/bin/python3 make_dit_reference.py

Writes, next to this script:
  model.safetensors   the state dict, reference keys and layouts (F32)
  config.json         the reference constructor's arguments
  io.safetensors      inputs x (B, C, H, W), t (B), y (B, labels as F32, the null label = num_classes) and `out`
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn

CONFIG = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=64, depth=2, num_heads=4,
              mlp_ratio=4.0, class_dropout_prob=0.1, num_classes=10, learn_sigma=True)


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden, freq=256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(freq, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.freq = freq

    def forward(self, t):
        half = self.freq // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c):
        sm, cm, gm, sf, cf, gf = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gm.unsqueeze(1) * self.attn(modulate(self.norm1(x), sm, cm))
        return x + gf.unsqueeze(1) * self.mlp(modulate(self.norm2(x), sf, cf))


class Final(nn.Module):
    def __init__(self, dim, patch, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch * patch * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


def sincos_2d(dim, grid):
    def one_d(d, pos):
        omega = np.arange(d // 2, dtype=np.float64) / (d / 2.0)
        out = np.einsum("m,d->md", pos.reshape(-1), 1.0 / 10000 ** omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    gw, gh = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64))  # w first, as DiT
    return np.concatenate([one_d(dim // 2, gw), one_d(dim // 2, gh)], axis=1)


class DiT(nn.Module):
    def __init__(self, input_size, patch_size, in_channels, hidden_size, depth, num_heads, mlp_ratio,
                 class_dropout_prob, num_classes, learn_sigma):
        super().__init__()
        self.p, self.c_in = patch_size, in_channels
        self.c_out = in_channels * 2 if learn_sigma else in_channels
        self.x_embedder = nn.Module()
        self.x_embedder.proj = nn.Conv2d(in_channels, hidden_size, patch_size, stride=patch_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = nn.Module()
        self.y_embedder.embedding_table = nn.Embedding(num_classes + (class_dropout_prob > 0), hidden_size)
        n = (input_size // patch_size) ** 2
        self.pos_embed = nn.Parameter(torch.from_numpy(sincos_2d(hidden_size, input_size // patch_size))
                                      .float().unsqueeze(0), requires_grad=False)
        assert self.pos_embed.shape == (1, n, hidden_size)
        self.blocks = nn.ModuleList([Block(hidden_size, num_heads, mlp_ratio) for _ in range(depth)])
        self.final_layer = Final(hidden_size, patch_size, self.c_out)

    def forward(self, x, t, y):
        x = self.x_embedder.proj(x).flatten(2).transpose(1, 2) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder.embedding_table(y)
        for block in self.blocks:
            x = block(x, c)
        x = self.final_layer(x, c)
        h = w = int(x.shape[1] ** 0.5)
        x = x.reshape(x.shape[0], h, w, self.p, self.p, self.c_out)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], self.c_out, h * self.p, w * self.p)


def save(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob + b"".join(chunks))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    model = DiT(**CONFIG)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name != "pos_embed":
                p.normal_(0.0, 0.2)
    model.eval()
    x = torch.randn(3, CONFIG["in_channels"], CONFIG["input_size"], CONFIG["input_size"])
    t = torch.tensor([0.0, 250.0, 999.0])
    y = torch.tensor([3, 7, CONFIG["num_classes"]])            # the last one is the null label
    with torch.no_grad():
        out = model(x, t, y)
    save(os.path.join(here, "model.safetensors"), dict(model.state_dict()))
    save(os.path.join(here, "io.safetensors"), {"x": x, "t": t, "y": y.float(), "out": out})
    with open(os.path.join(here, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    print("out", tuple(out.shape), "mean abs", out.abs().mean().item())


if __name__ == "__main__":
    main()
