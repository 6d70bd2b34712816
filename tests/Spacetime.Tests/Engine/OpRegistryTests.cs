// Our static_assert(GGML_OP_COUNT == ...): every OpKind must have a forward, a backward and a thread-count test.
using System.Reflection;
using Spacetime.Engine;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Engine;

public class OpRegistryTests
{
    [Fact]
    public void EveryOpKind_HasForwardBackwardAndThreadTests()
    {
        var covered = typeof(OpRegistryTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .SelectMany(m => m.GetCustomAttributes<OpCheckAttribute>())
            .Select(a => (a.Kind, a.Check))
            .ToHashSet();
        var missing = (from kind in Enum.GetValues<OpKind>()
                       from check in Enum.GetValues<Check>()
                       where !covered.Contains((kind, check))
                       select $"{kind}.{check}").ToList();
        Assert.True(missing.Count == 0, "ops without tests: " + string.Join(", ", missing));
    }
}
