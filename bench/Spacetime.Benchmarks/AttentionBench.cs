// BenchmarkDotNet: fused attention (AttentionKernels), v1 naive reference (baseline) against v2 tiled, forward and
// backward. Shape from shared/PERF.md's DiT-S run: batch 8, 512 tokens (latents (8, 4, 8, 16, 16), patch 1x2x2),
// 6 heads of dim 64, q/k/v as views of a fused (B, N, 3, NH, HD) projection. The reference takes seconds per call,
// so larger token counts are measured with the quick mode (`-- attention`) instead.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Spacetime.Engine.Kernels;

namespace Spacetime.Benchmarks;

[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AttentionBench
{
    const int Heads = 6, HeadDim = 64;
    [Params(512)] public int Tokens;
    [Params(8)] public int Batch;

    float[] qkv = [], dqkv = [], o = [], dout = [], lse = [];
    AttnStrides qkvS, outS;
    long k0, v0;
    float scale;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        long row = 3L * Heads * HeadDim;
        qkvS = new AttnStrides(Tokens * row, HeadDim, row);
        outS = new AttnStrides((long)Tokens * Heads * HeadDim, HeadDim, (long)Heads * HeadDim);
        qkv = new float[Batch * Tokens * row];
        for (int i = 0; i < qkv.Length; i++) qkv[i] = rng.NextSingle() * 2 - 1;
        dqkv = new float[qkv.Length];
        o = new float[(long)Batch * Tokens * Heads * HeadDim];
        dout = new float[o.Length];
        for (int i = 0; i < dout.Length; i++) dout[i] = rng.NextSingle() * 2 - 1;
        lse = new float[Batch * Heads * Tokens];
        k0 = (long)Heads * HeadDim;
        v0 = 2L * Heads * HeadDim;
        scale = 1f / MathF.Sqrt(HeadDim);
        V2_TiledForward();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Forward")]
    public void ForwardReference() => AttentionKernels.AttentionForwardReference(o, 0, outS, lse, qkv, 0, qkvS,
        qkv, k0, qkvS, qkv, v0, qkvS, null, null, null, Batch, Heads, Tokens, Tokens, HeadDim, scale);

    [Benchmark, BenchmarkCategory("Forward")]
    public void V2_TiledForward() => AttentionKernels.AttentionForward(o, 0, outS, lse, qkv, 0, qkvS,
        qkv, k0, qkvS, qkv, v0, qkvS, null, null, null, Batch, Heads, Tokens, Tokens, HeadDim, scale);

    [Benchmark(Baseline = true), BenchmarkCategory("Backward")]
    public void BackwardReference() => AttentionKernels.AttentionBackwardReference(dqkv, 0, qkvS, dqkv, k0, qkvS,
        dqkv, v0, qkvS, dout, 0, outS, qkv, 0, qkvS, qkv, k0, qkvS, qkv, v0, qkvS, o, 0, outS, lse,
        null, null, null, Batch, Heads, Tokens, Tokens, HeadDim, scale);

    [Benchmark, BenchmarkCategory("Backward")]
    public void V2_TiledBackward() => AttentionKernels.AttentionBackward(dqkv, 0, qkvS, dqkv, k0, qkvS,
        dqkv, v0, qkvS, dout, 0, outS, qkv, 0, qkvS, qkv, k0, qkvS, qkv, v0, qkvS, o, 0, outS, lse,
        null, null, null, Batch, Heads, Tokens, Tokens, HeadDim, scale);
}
