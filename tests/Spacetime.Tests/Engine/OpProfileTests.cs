using Spacetime.Engine;

namespace Spacetime.Tests.Engine;

public class OpProfileTests
{
    // x: (4, 8) leaf -> y = sum(silu(x @ w)): three recorded ops, each with a forward and a backward
    static void Step(Tensor x, Tensor w)
    {
        using var s = TensorScope.Begin();
        F.Sum(F.Silu(F.MatMul(x, w))).Backward();
    }

    [Fact]
    public void Profile_CountsEachOpByShape_WithForwardAndBackwardTime()
    {
        var rng = new Rng(1);
        var x = rng.Normal(4, 8);
        var w = rng.Normal(8, 3);
        w.RequiresGrad = true;
        using var profile = OpProfile.Start();
        Step(x, w);
        Step(x, w);
        var rows = profile.Rows;
        Assert.Equal(new[] { OpKind.MatMul, OpKind.Silu, OpKind.Sum }.Order(), rows.Select(r => r.Kind).Order());
        var matmul = rows.Single(r => r.Kind == OpKind.MatMul);
        Assert.Equal("(4, 8) (8, 3) -> (4, 3)", matmul.Shapes);
        Assert.All(rows, r => Assert.Equal(2, r.Calls));
        Assert.All(rows, r => Assert.True(r.ForwardSeconds > 0 && r.BackwardSeconds > 0, $"{r.Kind} has no time"));
        string table = profile.Table(steps: 2);
        Assert.Contains("| MatMul | 1 |", table);              // calls per step
        Assert.Contains("(4, 8) (8, 3) -> (4, 3)", table);
        Assert.Contains("| MatMul | 0.5 |", profile.Table(steps: 4));    // made in some steps only: one decimal

        double recorded = rows.Sum(r => r.ForwardSeconds + r.BackwardSeconds);
        string summary = profile.Summary("two steps", 2, recorded + 3.0, ("optimizer", 1.0));
        Assert.StartsWith("## Profile: two steps, 2 steps\n\nWall time per step ", summary);
        Assert.Contains("; optimizer 500 ms (", summary);                 // per step: 1 s over 2 steps
        Assert.Contains("; the rest 1000 ms (", summary);                 // wall - recorded - optimizer, per step
        Assert.EndsWith(table, summary);
    }

    [Fact]
    public void Mark_KeepsUnrecordedWorkOffTheNextOp_AndNothingIsCollectedOutsideAProfile()
    {
        var x = new Rng(2).Normal(4, 8);
        x.RequiresGrad = true;
        Step(x, x.Transpose(0, 1));                             // outside a profile: no effect, no error
        using var profile = OpProfile.Start();
        Thread.Sleep(60);                                       // unrecorded work before the first op...
        profile.Mark();                                         // ...that Mark says not to charge
        using (TensorScope.Begin()) F.Silu(x);
        var silu = Assert.Single(profile.Rows);
        Assert.True(silu.ForwardSeconds < 0.05, $"charged {silu.ForwardSeconds:F3} s");
        Thread.Sleep(60);                                       // MarkCurrent: the same, for code without the profile
        OpProfile.MarkCurrent();
        using (TensorScope.Begin()) F.Silu(x);
        Assert.True(profile.Rows.Single().ForwardSeconds < 0.05, $"charged {profile.Rows.Single().ForwardSeconds:F3} s");
        Thread.Sleep(60);                                       // without Mark, the next op is charged the wait
        using (TensorScope.Begin()) F.Exp(x);
        Assert.True(profile.Rows.Single(r => r.Kind == OpKind.Exp).ForwardSeconds >= 0.05);
        profile.Dispose();
        OpProfile.MarkCurrent();                                // no profile open: nothing happens
        using (TensorScope.Begin()) F.Tanh(x);
        Assert.DoesNotContain(profile.Rows, r => r.Kind == OpKind.Tanh);
    }
}
