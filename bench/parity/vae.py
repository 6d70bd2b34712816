"""PyTorch mirror of src/Spacetime.Models/Vae (VideoVae, one pass, no chunking) and VaeLoss, built from the
VideoVaeConfig JSON. Same module tree, so the state-dict keys equal ours. One class per part, as in the C#:
a new config option is a field in FIELDS and a few lines in the part it changes.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import BadInput, Node, check_fields

# VideoVaeConfig fields this mirror implements (LatentScale, ChannelMean and ChannelStd only map latents for the DiT:
# not in training)
FIELDS = {"LatentChannels", "BaseChannels", "ChannelMultipliers", "ResBlocks", "TemporalCompression", "NormGroups",
          "LatentScale", "ChannelMean", "ChannelStd", "Shortcut", "Patch", "Norm", "TimeHalvingLevels"}


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


def frame_norm(cfg, channels):
    """FrameGroupNorm for VaeNorm Group; None (no module, no keys) for VaeNorm None."""
    return FrameGroupNorm(cfg["NormGroups"], channels) if cfg.get("Norm", "Group") == "Group" else None


def normed(norm, x):
    return x if norm is None else norm(x)


class ResnetBlock3d(nn.Module):
    def __init__(self, cin, cout, cfg):
        super().__init__()
        self.norm1 = frame_norm(cfg, cin)
        self.conv1 = CausalConv3d(cin, cout, (3, 3, 3))
        self.norm2 = frame_norm(cfg, cout)
        self.conv2 = CausalConv3d(cout, cout, (3, 3, 3))
        self.nin_shortcut = CausalConv3d(cin, cout, (1, 1, 1)) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(normed(self.norm1, x)))
        h = self.conv2(F.silu(normed(self.norm2, h)))
        return (self.nin_shortcut(x) if self.nin_shortcut is not None else x) + h


class Downsample(nn.Module):
    def __init__(self, channels, time, space=True):
        super().__init__()
        s = 2 if space else 1
        self.conv = CausalConv3d(channels, channels, (3, 3, 3), stride=(2 if time else 1, s, s))

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest 2x in space (unless not `space`) and time (when `time`, then frame 0 kept single), then a causal conv
    to the next level's width."""

    def __init__(self, cin, cout, time, space=True):
        super().__init__()
        self.time, self.space = time, space
        self.conv = CausalConv3d(cin, cout, (3, 3, 3))

    def forward(self, x):
        if self.time:
            x = x.repeat_interleave(2, dim=2)[:, :, 1:]
        if self.space:
            x = x.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)
        return self.conv(x)


def channels(cfg, level):
    return cfg["BaseChannels"] * cfg["ChannelMultipliers"][level]


def halves_time(cfg, level):
    """VideoVaeConfig.HalvesTime: the named levels, else the first log2(TemporalCompression)."""
    if cfg.get("TimeHalvingLevels") is not None:
        return level in cfg["TimeHalvingLevels"]
    return level < int(np.log2(cfg["TemporalCompression"]))


def patch(cfg):
    return cfg.get("Patch", 1)


def spatial_compression(cfg):
    return patch(cfg) * 2 ** (len(cfg["ChannelMultipliers"]) - 1)


def fold(x, p):
    """PixelFold.Fold: (B, C, T, H, W) -> (B, C p p, T, H/p, W/p), channel c p^2 + i p + j = pixel (p y + i, p x + j)."""
    if p == 1:
        return x
    B, C, T, H, W = x.shape
    return (x.reshape(B, C, T, H // p, p, W // p, p).permute(0, 1, 4, 6, 2, 3, 5)
            .reshape(B, C * p * p, T, H // p, W // p))


def unfold(x, p):
    """PixelFold.Unfold, the inverse of fold."""
    if p == 1:
        return x
    B, Cpp, T, h, w = x.shape
    C = Cpp // (p * p)
    return x.reshape(B, C, p, p, T, h, w).permute(0, 1, 4, 5, 2, 6, 3).reshape(B, C, T, h * p, w * p)


class EncoderLevel(nn.Module):
    def __init__(self, cfg, level):
        super().__init__()
        cin, ch = channels(cfg, max(level - 1, 0)), channels(cfg, level)
        self.block = nn.ModuleList(ResnetBlock3d(cin if j == 0 else ch, ch, cfg) for j in range(cfg["ResBlocks"]))
        last = level == len(cfg["ChannelMultipliers"]) - 1
        has = not last or halves_time(cfg, level)      # the last level may have a time-only step
        self.downsample = Downsample(ch, halves_time(cfg, level), space=not last) if has else None

    def forward(self, x):
        for b in self.block:
            x = b(x)
        return x if self.downsample is None else self.downsample(x)


class DecoderLevel(nn.Module):
    def __init__(self, cfg, level):
        super().__init__()
        ch = channels(cfg, level)
        deepest = level == len(cfg["ChannelMultipliers"]) - 1
        self.upsample_time = Upsample(ch, ch, True, space=False) if deepest and halves_time(cfg, level) else None
        self.block = nn.ModuleList(ResnetBlock3d(ch, ch, cfg) for _ in range(cfg["ResBlocks"] + 1))
        self.upsample = Upsample(ch, channels(cfg, level - 1), halves_time(cfg, level - 1)) if level > 0 else None

    def forward(self, x):
        if self.upsample_time is not None:
            x = self.upsample_time(x)
        for b in self.block:
            x = b(x)
        return x if self.upsample is None else self.upsample(x)


def mid_blocks(top, cfg):
    mid = Node()
    mid.block_1 = ResnetBlock3d(top, top, cfg)
    mid.block_2 = ResnetBlock3d(top, top, cfg)
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
        self.conv_in = CausalConv3d(3 * patch(cfg) ** 2, channels(cfg, 0), (3, 3, 3))
        self.down = nn.ModuleList(EncoderLevel(cfg, i) for i in range(levels))
        self.mid = mid_blocks(top, cfg)
        self.norm_out = frame_norm(cfg, top)
        self.conv_out = CausalConv3d(top, 2 * cfg["LatentChannels"], (3, 3, 3))

    def forward(self, x):                                    # (B, 3, T, H, W) -> (B, 2z, T', H/f, W/f)
        h = self.conv_in(fold(x, patch(self.cfg)))
        for level in self.down:
            h = level(h)
        h = self.mid.block_2(self.mid.block_1(h))
        moments = self.conv_out(F.silu(normed(self.norm_out, h)))
        if not self.cfg["Shortcut"]:
            return moments
        means = shortcut_means(x, spatial_compression(self.cfg), self.cfg["TemporalCompression"])
        return moments + F.pad(means, (0, 0, 0, 0, 0, 0, 0, 2 * self.cfg["LatentChannels"] - 3))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        levels = len(cfg["ChannelMultipliers"])
        top = channels(cfg, levels - 1)
        self.conv_in = CausalConv3d(cfg["LatentChannels"], top, (3, 3, 3))
        self.mid = mid_blocks(top, cfg)
        self.up = nn.ModuleList(DecoderLevel(cfg, i) for i in range(levels))
        self.norm_out = frame_norm(cfg, channels(cfg, 0))
        self.conv_out = CausalConv3d(channels(cfg, 0), 3 * patch(cfg) ** 2, (3, 3, 3))

    def forward(self, z):                                    # (B, z, T', h, w) -> (B, 3, T, f h, f w)
        h = self.mid.block_2(self.mid.block_1(self.conv_in(z)))
        for level in reversed(self.up):
            h = level(h)
        video = unfold(self.conv_out(F.silu(normed(self.norm_out, h))), patch(self.cfg))
        if not self.cfg["Shortcut"]:
            return video
        return video + shortcut_repeat(z, spatial_compression(self.cfg), self.cfg["TemporalCompression"])


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
    """One micro-batch's loss, as VaeTrainer's task: reconstruction (MSE or L1) + KlWeight * KL / pixel values
    (+ TemporalWeight * the mean square of the error's change between neighbouring frames)."""

    LOSS_FIELDS = {"KlWeight", "AdversarialWeight", "Distance", "TemporalWeight"}

    def __init__(self, header):
        loss = header["loss"]
        check_fields(loss, self.LOSS_FIELDS, "VaeLoss")
        if loss["AdversarialWeight"] > 0:
            raise BadInput("VaeLoss.AdversarialWeight > 0: the discriminator is not mirrored")
        if header.get("sample_latent"):
            raise BadInput("the recipe decodes a posterior sample, whose noise is not dumped; use a mode recipe")
        self.kl_weight = np.float32(loss["KlWeight"])
        self.mse = loss["Distance"] == "Mse"
        self.temporal = float(loss.get("TemporalWeight", 0))
        self.model = VideoVae(header["model"])

    def loss(self, inputs, m):
        video = inputs[f"m{m}.video"]                                                # (B, 3, T, c, c)
        rec, mean, logvar = self.model(video)
        distance = F.mse_loss(rec, video) if self.mse else F.l1_loss(rec, video)
        kl = (mean * mean + logvar.exp() - 1.0 - logvar).sum() * float(np.float32(0.5) / np.float32(video.shape[0]))
        scale = np.float32(self.kl_weight * np.float32(video.shape[0]) / np.float32(video.numel()))
        total = distance + kl * float(scale)
        if self.temporal > 0 and video.shape[2] > 1:                                 # Nn/Losses.TemporalDifference
            e = rec - video
            change = e[:, :, 1:] - e[:, :, :-1]                                      # (B, 3, T-1, c, c)
            total = total + (change * change).mean() * self.temporal
        return total
