"""The trainer's rules in PyTorch (src/Spacetime.Training/Trainer.cs, src/Spacetime.Nn/Optim): per step, the
micro-batch losses scaled by 1/Accumulate and backpropagated, the global gradient norm clipped
(torch.nn.utils.clip_grad_norm_), the learning rate from warmup + cosine (LrSchedule.WarmupCosine, in float32 as
ours), and torch.optim.AdamW with weight decay on parameters of rank >= 2 only (AdamW.BiasesAndNorms).
"""
import math

import numpy as np
import torch

from common import BadInput, check_fields

# TrainConfig fields; those that do not change the optimisation (EMA, checkpoints, logging, time) are ignored
TRAIN_FIELDS = {"Steps", "Batch", "Accumulate", "Lr", "MinLrRatio", "WarmupSteps", "WeightDecay", "ClipNorm",
                "EmaDecay", "CaptionDropout", "Seed", "CheckpointEvery", "LogEvery", "MaxMinutes", "Ranks"}


class TrainSettings:
    def __init__(self, cfg):
        check_fields(cfg, TRAIN_FIELDS, "TrainConfig")
        if cfg.get("Ranks", 1) != 1:   # a parity dump is one process (`--dump-parity` refuses mpirun)
            raise BadInput(f"TrainConfig.Ranks is {cfg['Ranks']}; the mirror replays one process")
        self.steps, self.batch, self.accumulate = cfg["Steps"], cfg["Batch"], cfg["Accumulate"]
        self.lr, self.min_ratio = np.float32(cfg["Lr"]), np.float32(cfg["MinLrRatio"])
        self.warmup = min(cfg["WarmupSteps"], self.steps)
        self.weight_decay, self.clip = cfg["WeightDecay"], cfg["ClipNorm"]


def warmup_cosine(step, base, warmup, total, min_lr):
    """LrSchedule.WarmupCosine: linear warmup (step 0 already > 0), cosine to min_lr at `total`, then min_lr."""
    if step < warmup:
        return float(np.float32(base * np.float32(step + 1)) / np.float32(warmup + 1))
    if step >= total:
        return float(min_lr)
    coeff = 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup)))
    return float(np.float32(float(min_lr) + coeff * float(np.float32(base) - np.float32(min_lr))))


def run(task, cfg, read_inputs, tag="", stop=None, on_step=None):
    """Trains task.model for cfg.steps steps (or only the first `stop` of them, on the same schedule) on
    read_inputs(step) (1-based); returns the per-step log and the step-1 gradients before clipping, by parameter
    name. Runs in the model's precision (float32, or float64 for the exact reference); on_step(row) hears of each
    step as it ends."""
    model = task.model
    named = list(model.named_parameters())
    decay = [p for _, p in named if p.dim() >= 2]
    no_decay = [p for _, p in named if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=float(cfg.lr), betas=(0.9, 0.999), eps=1e-8)
    min_lr = np.float32(cfg.lr * cfg.min_ratio)
    log, grads1 = [], {}
    model.train()
    for step in range(cfg.steps if stop is None else min(stop, cfg.steps)):
        opt.zero_grad(set_to_none=True)
        inputs = read_inputs(step + 1)
        loss_sum = 0.0
        for m in range(cfg.accumulate):
            if f"m{m}.video" not in inputs and f"m{m}.x0" not in inputs:
                raise BadInput(f"inputs of step {step + 1} lack micro-batch {m}")
            loss = task.loss(inputs, m)
            (loss if cfg.accumulate == 1 else loss * (1.0 / cfg.accumulate)).backward()
            loss_sum += loss.item() / cfg.accumulate
        if step == 0:
            grads1 = {n: p.grad.detach().clone() for n, p in named if p.grad is not None}
        norm = torch.nn.utils.clip_grad_norm_([p for _, p in named], cfg.clip)
        lr = warmup_cosine(step, cfg.lr, cfg.warmup, cfg.steps, min_lr)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        log.append({"step": step + 1, "loss": loss_sum, "grad_norm": float(norm), "lr": lr})
        if on_step is not None:
            on_step(log[-1])
        print(f"{tag}step {step + 1} loss {loss_sum:.9g} grad norm {float(norm):.6g} lr {lr:.6g}", flush=True)
    return log, grads1
