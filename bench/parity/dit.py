"""PyTorch mirror of the text-to-video model (src/Spacetime.Pipelines/TextVideoModel: `dit.*` = Models/Dit/VideoDit,
`text.*` = Models/Text/TextEncoder) and of DitTrainer's loss, built from the DitConfig and TextEncoderConfig JSON.
Same module tree, so the state-dict keys equal ours. The loss replays our draws (x0, noise, t, known frames,
caption tokens with dropout) from the parity folder.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import Attention, BadInput, Mlp, check_fields

# DitConfig fields this mirror implements. NumClasses and ClassDropoutProb belong to the class-conditional image DiT,
# and the derived sizes (OutChannels, MlpHidden, HeadDim) are recomputed here.
DIT_FIELDS = {"Hidden", "Depth", "Heads", "MlpRatio", "InChannels", "Patch", "PatchT", "LearnSigma", "NumClasses",
              "ClassDropoutProb", "TextHidden", "Attention", "PooledText", "OutChannels", "MlpHidden", "HeadDim"}
TEXT_FIELDS = {"Width", "Depth", "Heads", "MlpRatio", "MaxTokens", "VocabSize", "NullTokens", "NormEps", "MlpHidden",
               "TokenSkip"}


########## text encoder

class TextBlock(nn.Module):
    """Pre-LN transformer block: x + attn(norm1(x)), x + mlp(norm2(x)); padding keys masked."""

    def __init__(self, cfg):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg["Width"], eps=cfg["NormEps"])
        self.attn = Attention(cfg["Width"], cfg["Heads"])
        self.norm2 = nn.LayerNorm(cfg["Width"], eps=cfg["NormEps"])
        self.mlp = Mlp(cfg["Width"], int(cfg["Width"] * cfg["MlpRatio"]))

    def forward(self, x, valid):
        x = x + self.attn(self.norm1(x), key_valid=valid)
        return x + self.mlp(self.norm2(x))


class TextEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        check_fields(cfg, TEXT_FIELDS, "TextEncoderConfig")
        self.cfg = cfg
        self.pos_embed = nn.Parameter(torch.zeros(cfg["MaxTokens"], cfg["Width"]))
        self.null_tokens = nn.Parameter(torch.zeros(cfg["NullTokens"], cfg["Width"]))
        self.token_embedding = nn.Embedding(cfg["VocabSize"], cfg["Width"])
        self.blocks = nn.ModuleList(TextBlock(cfg) for _ in range(cfg["Depth"]))
        self.norm = nn.LayerNorm(cfg["Width"], eps=cfg["NormEps"])
        # TokenSkip: each token's own embedding, LayerNorm'd without affine and mapped by a D x D map (zero at the start),
        # added to the output
        self.token_skip = nn.Linear(cfg["Width"], cfg["Width"], bias=False) if cfg.get("TokenSkip") else None

    def forward(self, ids, valid, empty):
        """ids, valid: (B, L); empty: (B) -> tokens (B, L, D). Only captions that are not empty run the transformer
        (so a batch of empty captions leaves its weights without a gradient, as ours); empty ones are null_tokens."""
        B, L = ids.shape
        rows = (~empty).nonzero().flatten().tolist()
        text = None
        if rows:
            e = self.token_embedding(ids[rows])                                     # (Bt, L, D)
            x = e + self.pos_embed[:L]
            for block in self.blocks:
                x = block(x, valid[rows])
            text = self.norm(x)
            if self.token_skip is not None:
                text = text + self.token_skip(F.layer_norm(e, (e.shape[-1],), eps=self.cfg["NormEps"]))
        if len(rows) == B:
            return text
        null_row = F.pad(self.null_tokens.unsqueeze(0), (0, 0, 0, L - self.cfg["NullTokens"]))   # (1, L, D)
        parts, k = [], 0
        for b in range(B):
            if empty[b]:
                parts.append(null_row)
            else:
                parts.append(text[k:k + 1])
                k += 1
        return torch.cat(parts, dim=0)


########## DiT

def sincos_1d(dim, pos):
    """(N, dim) [sin(pos w_k), cos(pos w_k)], w_k = 10000^(-k / (dim/2)), in float64."""
    half = dim // 2
    omega = 1.0 / 10000.0 ** (np.arange(half, dtype=np.float64) / half)
    a = pos[:, None].astype(np.float64) * omega[None]
    return np.concatenate([np.sin(a), np.cos(a)], axis=1)


def sincos_3d(dim, T, H, W):
    """(T H W, dim) fixed positions, channels split [t | h | w] with dh = dw = 2 floor(dim / 6)."""
    dh = dim // 6 * 2
    dt = dim - 2 * dh
    i = np.arange(T * H * W)
    table = np.concatenate([sincos_1d(dt, i // (H * W)), sincos_1d(dh, i // W % H), sincos_1d(dh, i % W)], axis=1)
    return torch.from_numpy(table.astype(np.float32))


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def norm(x):
    return F.layer_norm(x, x.shape[-1:], eps=1e-6)


class TwoLayer(nn.Module):
    """mlp.0 -> SiLU -> mlp.2, the key layout of DiT's TimestepEmbedder."""

    def __init__(self, cin, hidden):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(cin, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, x):
        return self.mlp(x)


def timestep_frequencies(t, dim=256, max_period=10000):
    """(B, dim) [cos(t w_k), sin(t w_k)], w_k = exp(-ln(max_period) k / half) in t's precision (ours: float32)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=t.dtype) / half)
    args = t[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class PatchEmbed(nn.Module):
    def __init__(self, cin, hidden, p, pt):
        super().__init__()
        self.proj = nn.Conv3d(cin, hidden, (pt, p, p), stride=(pt, p, p))

    def forward(self, x):                                      # (B, C, T, H, W) -> (B, N, D)
        return self.proj(x).flatten(2).transpose(1, 2)


class VideoDitBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg["Hidden"]
        self.attn = Attention(D, cfg["Heads"])
        self.norm_cross = nn.LayerNorm(D, eps=1e-6)
        self.cross_attn = Attention(D, cfg["Heads"], context_dim=cfg["TextHidden"])
        self.mlp = Mlp(D, int(D * cfg["MlpRatio"]))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(D, 6 * D))

    def forward(self, x, c, text, text_valid):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(norm(x), shift_msa, scale_msa))
        x = x + self.cross_attn(self.norm_cross(x), text, key_valid=text_valid)
        return x + gate_mlp.unsqueeze(1) * self.mlp(modulate(norm(x), shift_mlp, scale_mlp))


class FinalLayer(nn.Module):
    def __init__(self, hidden, out):
        super().__init__()
        self.linear = nn.Linear(hidden, out)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(norm(x), shift, scale))


class VideoDit(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        check_fields(cfg, DIT_FIELDS, "DitConfig")
        if cfg["Attention"] != "Full":
            raise BadInput(f"DitConfig.Attention {cfg['Attention']}: only Full attention is mirrored")
        self.cfg = cfg
        D, p, pt = cfg["Hidden"], cfg["Patch"], cfg["PatchT"]
        self.out_channels = 2 * cfg["InChannels"] if cfg["LearnSigma"] else cfg["InChannels"]
        self.x_embedder = PatchEmbed(cfg["InChannels"], D, p, pt)
        self.t_embedder = TwoLayer(256, D)
        self.y_embedder = TwoLayer(cfg["TextHidden"], D) if cfg["PooledText"] else None
        self.blocks = nn.ModuleList(VideoDitBlock(cfg) for _ in range(cfg["Depth"]))
        self.final_layer = FinalLayer(D, pt * p * p * self.out_channels)

    def forward(self, x, t, text, text_valid):
        """x (B, C, T, H, W), t (B) embedder times, text (B, L, Dt), text_valid (B, L) bool -> (B, C', T, H, W)."""
        B, p, pt = x.shape[0], self.cfg["Patch"], self.cfg["PatchT"]
        T, h, w = x.shape[2] // pt, x.shape[3] // p, x.shape[4] // p
        tokens = self.x_embedder(x) + sincos_3d(self.cfg["Hidden"], T, h, w).to(x.dtype).unsqueeze(0)   # (B, N, D)
        c = self.t_embedder(timestep_frequencies(t))                                         # (B, D)
        if self.y_embedder is not None:
            weights = text_valid.to(x.dtype) / text_valid.to(x.dtype).sum(dim=1, keepdim=True)  # (B, L)
            c = c + self.y_embedder((text * weights.unsqueeze(-1)).sum(dim=1))
        for block in self.blocks:
            tokens = block(tokens, c, text, text_valid)
        tokens = self.final_layer(tokens, c)                                                 # (B, N, pt·p·p·C')
        C = self.out_channels
        return (tokens.reshape(B, T, h, w, pt, p, p, C).permute(0, 7, 1, 4, 2, 5, 3, 6)
                      .reshape(B, C, T * pt, h * p, w * p))


class TextVideoModel(nn.Module):
    def __init__(self, dit_cfg, text_cfg):
        super().__init__()
        self.dit = VideoDit(dit_cfg)
        self.text = TextEncoder(text_cfg)


class DitTask:
    """One micro-batch's loss, as DitTrainer's task with the rectified-flow path (velocity target):
    x_t = (1 - t) x0 + t noise, target = noise - x0; known frames clean in the input and out of the loss."""

    def __init__(self, header):
        model = header["model"]
        if model.get("path") != "RF":
            raise BadInput(f"path {model.get('path')}: only the rectified-flow path (RF) is mirrored")
        self.time_scale = float(model["time_scale"])
        self.model = TextVideoModel(model["dit"], model["text"])

    def loss(self, inputs, m):
        x0, noise, t = inputs[f"m{m}.x0"], inputs[f"m{m}.noise"], inputs[f"m{m}.t"]
        shape = (-1,) + (1,) * (x0.dim() - 1)
        alpha = (1.0 - t.double()).to(t.dtype).reshape(shape)                              # as our double -> float
        xt = x0 * alpha + noise * t.reshape(shape)
        target = x0 * -1.0 + noise * 1.0
        weight = None
        if f"m{m}.known" in inputs:
            known = inputs[f"m{m}.known"]                                                # (B, 1, T', 1, 1)
            xt = x0 * known + xt * (1.0 - known)
            weight = 1.0 - known
        if f"m{m}.objects" in inputs:
            weight = inputs[f"m{m}.objects"] if weight is None else weight * inputs[f"m{m}.objects"]
        ids = inputs[f"m{m}.ids"].long()
        valid, empty = inputs[f"m{m}.valid"] > 0.5, inputs[f"m{m}.empty"] > 0.5
        text = self.model.text(ids, valid, empty)                                        # (B, L, Dt)
        prediction = self.model.dit(xt, t * self.time_scale, text, valid)
        squared = (prediction - target) ** 2
        if weight is None:
            return squared.mean()
        total = np.float32(weight.sum().item()) * np.float32(np.float32(squared.numel()) / np.float32(weight.numel()))
        return (squared * weight).sum() * (float(np.float32(1.0) / total) if total > 0 else 0.0)
