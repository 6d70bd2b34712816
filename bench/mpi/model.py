#!/usr/bin/env python3
"""bench/mpi/model.py: data parallelism on paper, for docs/distributed.md.

One optimizer step of synchronous data parallelism over N machines costs (no overlap of backward and allreduce):
    T(N) = T_compute + T_allreduce(N)
    T_compute   = 6 * G * b / F                 G forward multiply-adds per clip (the DiT paper's "GFLOPs", as
                                                `spacetime model info` prints them), x2 FLOPs per multiply-add, x3 for
                                                forward + backward; b clips per rank and step; F FLOP/s sustained
    T_allreduce = 2 (N-1)/N * S / BW  +  2 (N-1) * k * alpha
                                                ring allreduce (reduce-scatter, then all-gather) of S gradient bytes
                                                over links of BW bytes/s; k buckets, alpha latency per message
Efficiency E = T_compute / T(N): the fraction of a lone machine's throughput each machine keeps. Accumulating A
micro-batches per step divides the allreduce's share by A (one allreduce per A backward passes): the smallest A for
E >= 90% is printed too. Run: python3 bench/mpi/model.py
"""

# DiT-S/B/L/XL with patch 2 as video DiTs on 17 frames of 256x256 (latent 5x32x32, 1280 tokens, 32 caption tokens):
# `spacetime model info DiT-X/2 --frames 17 --size 256x256 --json`
MODELS = {  # name: (parameters, forward G multiply-adds per clip)
    "DiT-S/2": (38_400_400, 47.31),
    "DiT-B/2": (148_464_400, 158.05),
    "DiT-L/2": (519_861_264, 534.21),
    "DiT-XL/2": (764_689_552, 775.15),
}
BYTES_PER_GRAD = 4                 # fp32 gradients, as the trainer sums them
BUCKET = 4 * 2**20                 # GradientAllreduce.BucketFloats * 4 bytes
ALPHA = 25e-6                      # seconds per message: MPI over TCP/Ethernet (InfiniBand: ~2 us)
LINKS = {"1 Gbit/s": 1e9 / 8, "10 Gbit/s": 10e9 / 8, "100 Gbit/s": 100e9 / 8}
MACHINES = {
    # name: (sustained training FLOP/s, clips per rank and step)
    # this project's 2-core AVX2 EPYC: the engine's DiT-S/DiT-B training steps measured 113/95 GFLOP/s (README,
    # bench/compare_dit.sh); one clip of 1280 tokens per step
    "2-core CPU (measured ~100 GFLOP/s)": (100e9, 1),
    # an accelerator node: an assumption, not a measurement (this engine has no GPU backend): 400 TFLOP/s sustained,
    # about 40% of a current GPU's dense bf16 peak; 8 clips per step
    "GPU-class node (assumed 400 TFLOP/s)": (400e12, 8),
}
RANKS = 16


def allreduce_seconds(grad_bytes, n, bandwidth):
    buckets = -(-grad_bytes // BUCKET)
    return 2 * (n - 1) / n * grad_bytes / bandwidth + 2 * (n - 1) * buckets * ALPHA


def main():
    for machine, (flops, batch) in MACHINES.items():
        print(f"\n{machine}, {batch} clip(s) per rank, {RANKS} ranks\n")
        print("| model | gradient | step compute | " + " | ".join(
            f"allreduce / E / A for 90% at {name}" for name in LINKS) + " |")
        print("|---|---|---|" + "---|" * len(LINKS))
        for model, (params, gmacs) in MODELS.items():
            grad = params * BYTES_PER_GRAD
            compute = 6 * gmacs * 1e9 * batch / flops
            cells = []
            for bandwidth in LINKS.values():
                ar = allreduce_seconds(grad, RANKS, bandwidth)
                need = max(1, -(-int(ar / compute * 9 * 1000) // 1000))   # A with compute·A / (compute·A + ar) >= 0.9
                cells.append(f"{ar:.2f} s / {compute / (compute + ar):.0%} / {need}")
            print(f"| {model} | {grad / 1e9:.2f} GB | {compute:.2f} s | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
