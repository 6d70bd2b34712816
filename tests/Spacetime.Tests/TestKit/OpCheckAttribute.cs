// Marks a test as covering one of the three checks of an op (ggml test-backend-ops' modes). The registry test in
// Engine/OpRegistryTests.cs fails when some OpKind lacks any of the three.
using Spacetime.Engine;

namespace Spacetime.Tests.TestKit;

public enum Check
{
    /// <summary>Forward output against a float64 reference.</summary>
    Forward,
    /// <summary>Backward against central finite differences.</summary>
    Backward,
    /// <summary>1 thread and 2 threads give bitwise-identical outputs and gradients.</summary>
    Threads,
}

[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class OpCheckAttribute(OpKind kind, Check check) : Attribute
{
    public OpKind Kind { get; } = kind;
    public Check Check { get; } = check;
}
