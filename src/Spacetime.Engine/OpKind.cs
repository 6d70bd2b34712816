// Every op the engine can record on the autograd tape, in one place (tinygrad's single gradient table, ggml's
// GGML_OP_COUNT). Adding a member here makes the OpKind registry test fail until the op has forward, backward and
// thread-count test cases (tests/Spacetime.Tests/Engine/OpRegistryTests.cs).
namespace Spacetime.Engine;

/// <summary>The ops of the engine. Each has a forward kernel and a backward rule next to it in Ops/.</summary>
public enum OpKind
{
    // Movement (Ops/Movement.cs): views and copies
    Reshape, Permute, Expand, Slice, Contiguous, Concat, Pad, Gather, Embedding,
    // Elementwise, binary with broadcasting (Ops/Elementwise.cs)
    Add, Sub, Mul, Div,
    // Elementwise with a scalar (Ops/Elementwise.cs)
    AddScalar, MulScalar, Pow, Clamp,
    // Elementwise, unary (Ops/Elementwise.cs)
    Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Silu, GeluTanh, GeluErf, Relu, Abs,
    // Reductions over axes (Ops/Reduce.cs)
    Sum, Mean, Max, Var,
    // Matrix products (Ops/MatMul.cs)
    MatMul, Linear,
    // Softmax and normalisation (Ops/Norm.cs)
    Softmax, LogSoftmax, LayerNorm, RmsNorm, GroupNorm,
    // Convolution, pooling, resampling (Ops/Conv.cs)
    Conv2d, Conv3d, AvgPool, UpsampleNearest,
    // Attention (Ops/Attention.cs)
    Attention,
    // Regularisation and losses (Ops/Loss.cs)
    Dropout, MseLoss, L1Loss, CrossEntropy,
    // Fused DiT ops (Ops/Fused.cs): fc1 + bias + GELU, adaLN-Zero's gated residual, the adaLN branch's SiLU + linear
    LinearGelu, GatedAdd, SiluLinear,
}
