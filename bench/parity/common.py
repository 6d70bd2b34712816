"""What the mirrors share: the bad-input error, config-field checks, and the layers both networks use."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class BadInput(Exception):
    """A problem with the parity folder or the config (reported as one line, exit 2)."""


def check_fields(cfg, known, what):
    """Refuses a config field the mirror does not implement, so a new option cannot be silently ignored."""
    unknown = sorted(set(cfg) - set(known))
    if unknown:
        raise BadInput(f"{what} has field(s) {', '.join(unknown)} that the PyTorch mirror does not implement; "
                       f"add them to bench/parity ({what} mirror)")


def attention(q, k, v, key_valid=None):
    """softmax(q k^T / sqrt(hd)) v over (B, NH, N, HD) heads; key_valid (B, L) bool hides padding keys."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])                      # (B, NH, N, L)
    if key_valid is not None:
        scores = scores.masked_fill(~key_valid[:, None, None, :], float("-inf"))
    return scores.softmax(dim=-1) @ v                                               # (B, NH, N, HD)


class Attention(nn.Module):
    """Self-attention (qkv, proj) or cross-attention (q, kv, proj), timm's layout (parts, heads, head dim)."""

    def __init__(self, dim, heads, context_dim=None, qkv_bias=True):
        super().__init__()
        self.heads = heads
        if context_dim is None:
            self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        else:
            self.q = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv = nn.Linear(context_dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def split(self, y, parts):                       # (B, T, parts·NH·HD) -> parts x (B, NH, T, HD)
        B, T, _ = y.shape
        return y.reshape(B, T, parts * self.heads, -1).transpose(1, 2).chunk(parts, dim=1)

    def forward(self, x, context=None, key_valid=None):
        B, N, D = x.shape
        if context is None:
            q, k, v = self.split(self.qkv(x), 3)
        else:
            (q,) = self.split(self.q(x), 1)
            k, v = self.split(self.kv(context), 2)
        o = attention(q, k, v, key_valid)                                           # (B, NH, N, HD)
        return self.proj(o.transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    """fc1 -> tanh GELU -> fc2 (timm's keys)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class Node(nn.Module):
    """A named container with no forward, for key paths such as `mid.block_1`."""
