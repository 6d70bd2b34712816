"""PyTorch mirror of src/Spacetime.Models/Vae (VideoVae, one pass, no chunking) and VaeLoss, built from the
VideoVaeConfig JSON. Same module tree, so the state-dict keys equal ours. One class per part, as in the C#:
a new config option is a field in FIELDS and a few lines in the part it changes.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import BadInput, Node, check_fields

# VideoVaeConfig fields this mirror implements (LatentScale only scales latents for the DiT: not in training)
FIELDS = {"LatentChannels", "BaseChannels", "ChannelMultipliers", "ResBlocks", "TemporalCompression", "NormGroups",
          "LatentScale", "Shortcut"}


class CausalConv3d(nn.Module):
    """StreamingCausalConv3d in one pass: kt - 1 zero frames in front, symmetric (kh/2, kw/2) spatial padding."""

    def __init__(self, cin, cout, kernel, stride=(1, 1, 1)):
        super().__init__()
        self.time_pad = kernel[0] - 1
        self.conv = nn.Conv3d(cin, cout, kernel, stride=stride, padding=(0, kernel[1] // 2, kernel[2] // 2))

    def forward(self, x):                                    # (B, C, T, H, W) -> (B, O, T', H', W')
        return self.conv(F.pad(x, (0, 0, 0, 0, self.time_pad, 0)) if self.time_pad else x)


class FrameGroupNorm(nn.Module):
    """GroupNorm over each frame's channels and pixels (eps 1e-6)."""

    def __init__(self, groups, channels):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        B, C, T, H, W = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W)
        y = F.group_norm(frames, self.groups, self.weight, self.bias, eps=1e-6)
        return y.reshape(B, T, C, H, W).permute(0, 2, 1, 3, 4)


class ResnetBlock3d(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = FrameGroupNorm(groups, cin)
        self.conv1 = CausalConv3d(cin, cout, (3, 3, 3))
        self.norm2 = FrameGroupNorm(groups, cout)
        self.conv2 = CausalConv3d(cout, cout, (3, 3, 3))
        self.nin_shortcut = CausalConv3d(cin, cout, (1, 1, 1)) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if self.nin_shortcut is not None else x) + h


class Downsample(nn.Module):
    def __init__(self, channels, time):
        super().__init__()
        self.conv = CausalConv3d(channels, channels, (3, 3, 3), stride=(2 if time else 1, 2, 2))

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest 2x (time too when `time`, then frame 0 kept single), then a causal conv to the next level's width."""

    def __init__(self, cin, cout, time):
        super().__init__()
        self.time = time
        self.conv = CausalConv3d(cin, cout, (3, 3, 3))

    def forward(self, x):
        if self.time:
            x = x.repeat_interleave(2, dim=2)[:, :, 1:]
        return self.conv(x.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4))


def channels(cfg, level):
    return cfg["BaseChannels"] * cfg["ChannelMultipliers"][level]


def halves_time(cfg, level):
    return level < int(np.log2(cfg["TemporalCompression"]))


class EncoderLevel(nn.Module):
    def __init__(self, cfg, level):
        super().__init__()
        cin, ch = channels(cfg, max(level - 1, 0)), channels(cfg, level)
        self.block = nn.ModuleList(ResnetBlock3d(cin if j == 0 else ch, ch, cfg["NormGroups"])
                                   for j in range(cfg["ResBlocks"]))
        last = level == len(cfg["ChannelMultipliers"]) - 1
        self.downsample = None if last else Downsample(ch, halves_time(cfg, level))

    def forward(self, x):
        for b in self.block:
            x = b(x)
        return x if self.downsample is None else self.downsample(x)


class DecoderLevel(nn.Module):
    def __init__(self, cfg, level):
        super().__init__()
        ch = channels(cfg, level)
        self.block = nn.ModuleList(ResnetBlock3d(ch, ch, cfg["NormGroups"]) for _ in range(cfg["ResBlocks"] + 1))
        self.upsample = Upsample(ch, channels(cfg, level - 1), halves_time(cfg, level - 1)) if level > 0 else None

    def forward(self, x):
        for b in self.block:
            x = b(x)
        return x if self.upsample is None else self.upsample(x)


def mid_blocks(top, groups):
    mid = Node()
    mid.block_1 = ResnetBlock3d(top, top, groups)
    mid.block_2 = ResnetBlock3d(top, top, groups)
    return mid


def shortcut_means(x, f, k):
    """Area means of f x f pixels; frame 0 alone, then groups of k frames: (B, 3, T', H/f, W/f)."""
    pooled = F.avg_pool3d(x, (1, f, f))
    if k == 1 or pooled.shape[2] == 1:
        return pooled
    return torch.cat([pooled[:, :, :1], F.avg_pool3d(pooled[:, :, 1:], (k, 1, 1))], dim=2)


def shortcut_repeat(z, f, k):
    """Latent channels 0..2 repeated over their pixels and frames: (B, 3, 1 + k (T' - 1), f h, f w)."""
    up = z[:, :3].repeat_interleave(k, dim=2).repeat_interleave(f, dim=3).repeat_interleave(f, dim=4)
    return up[:, :, k - 1:] if k > 1 else up


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        levels = len(cfg["ChannelMultipliers"])
        top = channels(cfg, levels - 1)
        self.conv_in = CausalConv3d(3, channels(cfg, 0), (3, 3, 3))
        self.down = nn.ModuleList(EncoderLevel(cfg, i) for i in range(levels))
        self.mid = mid_blocks(top, cfg["NormGroups"])
        self.norm_out = FrameGroupNorm(cfg["NormGroups"], top)
        self.conv_out = CausalConv3d(top, 2 * cfg["LatentChannels"], (3, 3, 3))

    def forward(self, x):                                    # (B, 3, T, H, W) -> (B, 2z, T', H/f, W/f)
        h = self.conv_in(x)
        for level in self.down:
            h = level(h)
        h = self.mid.block_2(self.mid.block_1(h))
        moments = self.conv_out(F.silu(self.norm_out(h)))
        if not self.cfg["Shortcut"]:
            return moments
        means = shortcut_means(x, 2 ** (len(self.cfg["ChannelMultipliers"]) - 1), self.cfg["TemporalCompression"])
        return moments + F.pad(means, (0, 0, 0, 0, 0, 0, 0, 2 * self.cfg["LatentChannels"] - 3))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        levels = len(cfg["ChannelMultipliers"])
        top = channels(cfg, levels - 1)
        self.conv_in = CausalConv3d(cfg["LatentChannels"], top, (3, 3, 3))
        self.mid = mid_blocks(top, cfg["NormGroups"])
        self.up = nn.ModuleList(DecoderLevel(cfg, i) for i in range(levels))
        self.norm_out = FrameGroupNorm(cfg["NormGroups"], channels(cfg, 0))
        self.conv_out = CausalConv3d(channels(cfg, 0), 3, (3, 3, 3))

    def forward(self, z):                                    # (B, z, T', h, w) -> (B, 3, T, f h, f w)
        h = self.mid.block_2(self.mid.block_1(self.conv_in(z)))
        for level in reversed(self.up):
            h = level(h)
        video = self.conv_out(F.silu(self.norm_out(h)))
        if not self.cfg["Shortcut"]:
            return video
        return video + shortcut_repeat(z, 2 ** (len(self.cfg["ChannelMultipliers"]) - 1),
                                       self.cfg["TemporalCompression"])


class VideoVae(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        check_fields(cfg, FIELDS, "VideoVaeConfig")
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, video):
        """The training pass on the posterior mode: (reconstruction, mean, clamped logvar)."""
        mean, logvar = self.encoder(video).chunk(2, dim=1)
        logvar = logvar.clamp(-30.0, 20.0)
        return self.decoder(mean), mean, logvar


class VaeTask:
    """One micro-batch's loss, as VaeTrainer's task: reconstruction (MSE or L1) + KlWeight * KL / pixel values."""

    LOSS_FIELDS = {"KlWeight", "AdversarialWeight", "Distance"}

    def __init__(self, header):
        loss = header["loss"]
        check_fields(loss, self.LOSS_FIELDS, "VaeLoss")
        if loss["AdversarialWeight"] > 0:
            raise BadInput("VaeLoss.AdversarialWeight > 0: the discriminator is not mirrored")
        if header.get("sample_latent"):
            raise BadInput("the recipe decodes a posterior sample, whose noise is not dumped; use a mode recipe")
        self.kl_weight = np.float32(loss["KlWeight"])
        self.mse = loss["Distance"] == "Mse"
        self.model = VideoVae(header["model"])

    def loss(self, inputs, m):
        video = inputs[f"m{m}.video"]                                                # (B, 3, T, c, c)
        rec, mean, logvar = self.model(video)
        distance = F.mse_loss(rec, video) if self.mse else F.l1_loss(rec, video)
        kl = (mean * mean + logvar.exp() - 1.0 - logvar).sum() * float(np.float32(0.5) / np.float32(video.shape[0]))
        scale = np.float32(self.kl_weight * np.float32(video.shape[0]) / np.float32(video.numel()))
        return distance + kl * float(scale)
