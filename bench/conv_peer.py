# The PyTorch peer of `dotnet run -c Release --project bench/Spacetime.Benchmarks -- conv`: forward, dx and dW (+ db)
# of the same video VAE conv layers (kernel 3x3x3, padding (0, 1, 1), causal frames already in T), one JSON line per
# (layer, pass) with the same keys. dx and dW run as separate aten.convolution_backward calls (output_mask), as the
# engine's benchmark times them separately.
# Run: OMP_WAIT_POLICY=PASSIVE env -u OPENBLAS_CORETYPE /usr/bin/python3 bench/conv_peer.py [--threads 2] [--only NAME (a prefix, e.g. p2)]
#      [--clock cpu] (process CPU time / threads, like the engine's --clock cpu)
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

# (name, B, C, O, T incl. causal padding, H, W, stride T, stride H/W): the table of bench/Spacetime.Benchmarks/ConvQuick.cs
LAYERS = [
    ("train 3->16 32x32", 4, 3, 16, 7, 32, 32, 1, 1),
    ("train 16->16 32x32", 4, 16, 16, 7, 32, 32, 1, 1),
    ("train 16->16 s222 32x32", 4, 16, 16, 7, 32, 32, 2, 2),
    ("train 32->32 16x16", 4, 32, 32, 5, 16, 16, 1, 1),
    ("train 64->64 8x8", 4, 64, 64, 4, 8, 8, 1, 1),
    ("clip 3->16 128x128", 1, 3, 16, 19, 128, 128, 1, 1),
    ("clip 16->16 128x128", 1, 16, 16, 19, 128, 128, 1, 1),
    ("clip 16->32 s122 128x128", 1, 16, 32, 19, 128, 128, 1, 2),
    ("clip 32->32 64x64", 1, 32, 32, 11, 64, 64, 1, 1),
    ("clip 64->64 32x32", 1, 64, 64, 7, 32, 32, 1, 1),
    ("clip 128->128 32x32", 1, 128, 128, 7, 32, 32, 1, 1),
    # the world recipe's training step (VAE world-p2: 2x2 pixel fold, 32-64-128 channels; batch 8 of 64x64 x 9)
    ("p2 12->32 32x32", 8, 12, 32, 11, 32, 32, 1, 1),  # conv_in on the folded crop
    ("p2 32->32 32x32", 8, 32, 32, 11, 32, 32, 1, 1),  # level 0 ResNet convs
    ("p2 32->32 s122 32x32", 8, 32, 32, 11, 32, 32, 1, 2),  # level 0 downsample (space only)
    ("p2 64->64 16x16", 8, 64, 64, 11, 16, 16, 1, 1),  # level 1 ResNet convs
    ("p2 64->64 s222 16x16", 8, 64, 64, 11, 16, 16, 2, 2),  # level 1 downsample (time and space)
    ("p2 128->128 8x8", 8, 128, 128, 7, 8, 8, 1, 1),  # level 2 ResNet convs
    ("p2 128->128 s211 8x8", 8, 128, 128, 7, 8, 8, 2, 1),  # level 2's time-only downsample
    ("p2 128->128 8x8 t5", 8, 128, 128, 5, 8, 8, 1, 1),  # mid blocks
    ("p2 128->64 16x16", 8, 128, 64, 11, 16, 16, 1, 1),  # decoder upsample conv to level 1
    ("p2 64->32 32x32", 8, 64, 32, 11, 32, 32, 1, 1),  # decoder upsample conv to level 0
]


def median_seconds(fn, clock, samples=5, sample_seconds=0.1):
    # warm-up past oneDNN's first-call setup, then the median of samples of >= sample_seconds each
    start = time.perf_counter()
    calls = 0
    while calls < 5 or time.perf_counter() - start < 0.3:
        fn()
        calls += 1
    t0 = time.perf_counter()
    fn()
    inner = max(1, int(sample_seconds / max(1e-7, time.perf_counter() - t0)))
    times = []
    for _ in range(samples):
        t0 = clock()
        for _ in range(inner):
            fn()
        times.append((clock() - t0) / inner)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only")
    ap.add_argument("--clock", default="wall", help="wall, or cpu: process CPU time / threads (a busy machine)")
    args = ap.parse_args()
    clock = time.perf_counter if args.clock == "wall" else lambda: time.process_time() / args.threads
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    for name, B, C, O, T, H, W, st, ss in LAYERS:
        if args.only and not name.startswith(args.only):
            continue
        stride, padding = (st, ss, ss), (0, 1, 1)
        x = torch.rand(B, C, T, H, W) * 2 - 1
        w = torch.rand(O, C, 3, 3, 3) * 2 - 1
        b = torch.rand(O) * 2 - 1
        y = F.conv3d(x, w, b, stride, padding)
        dy = torch.rand_like(y) * 2 - 1
        L = y.shape[2] * y.shape[3] * y.shape[4]
        flops = 2.0 * B * O * L * C * 27

        def backward(mask):
            return torch.ops.aten.convolution_backward(dy, x, w, [O], list(stride), list(padding), [1, 1, 1], False,
                                                       [0, 0, 0], 1, mask)

        with torch.no_grad():
            passes = [("fwd", lambda: F.conv3d(x, w, b, stride, padding)),
                      ("dx", lambda: backward([True, False, False])),
                      ("dW", lambda: backward([False, True, True]))]
            for pass_name, fn in passes:
                seconds = median_seconds(fn, clock)
                print(json.dumps({"layer": name, "pass": pass_name, "engine": f"torch {torch.__version__}",
                                  "threads": args.threads, "ms": round(seconds * 1e3, 3),
                                  "gflops": round(flops / seconds / 1e9, 1)}), flush=True)


if __name__ == "__main__":
    main()
