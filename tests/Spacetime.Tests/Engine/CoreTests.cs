using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Engine;

public class CoreTests
{
    [Fact]
    public void Rng_SameSeed_SameNumbersWhateverTheThreadCount()
    {
        float[] Draw(int threads)
        {
            using var _ = Par.UseThreads(threads, splitSmallLoops: true);
            return new Rng(42).Normal(1000).ToArray();
        }
        TensorAssert.BitwiseEqual(Draw(1), Draw(2));
        Assert.NotEqual(new Rng(42).Normal(8).ToArray(), new Rng(43).Normal(8).ToArray());
    }

    [Fact]
    public void Rng_Normal_HasUnitMoments()
    {
        var x = new Rng(7).Normal(200_000).ToArray();
        double m = x.Average(v => (double)v), v2 = x.Average(v => (double)v * v) - m * m;
        Assert.InRange(m, -0.01, 0.01);          // standard error 0.0022
        Assert.InRange(v2, 0.98, 1.02);
    }

    [Fact]
    public void Rng_StreamContinues_WhereItLeftOff()
    {
        var a = new Rng(5);
        var first = a.Uniform(0, 1, 10).ToArray();
        var second = a.Uniform(0, 1, 10).ToArray();
        var b = new Rng(5) { Counter = 10 };
        TensorAssert.BitwiseEqual(second, b.Uniform(0, 1, 10).ToArray());
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void TensorScope_ReusesBuffers_AndKeepSurvives()
    {
        Tensor kept;
        float[] firstBuffer;
        using (var scope = TensorScope.Begin())
        {
            var t = Tensor.Ones(1234);
            firstBuffer = t.Storage.Data;
            kept = scope.Keep(t * 2f);
        }
        Assert.Equal(2f, kept[0]);
        using (TensorScope.Begin())
        {
            var again = Tensor.Zeros(1234);
            Assert.Same(firstBuffer, again.Storage.Data);      // pooled buffer reused, and cleared by Zeros
            Assert.Equal(0f, again[5]);
        }
    }

    [Fact]
    public void BufferPool_SizeClasses_CoverTheRequest_WasteAtMostAQuarter_AndAreTheirOwnClass()
    {
        int previous = 0;
        foreach (int n in Enumerable.Range(0, 70_000).Concat([1 << 20, (1 << 20) + 1, 3_000_001, 1 << 30]))
        {
            int c = BufferPool.SizeClass(n);
            Assert.True(c >= n, $"class {c} of {n} is shorter");
            Assert.True(c <= n + Math.Max(15, n / 4), $"class {c} of {n} wastes more than a quarter");
            Assert.Equal(c, BufferPool.SizeClass(c));            // a returned array goes back to the class it serves
            if (n < 70_000) { Assert.True(c >= previous, $"class of {n} below the class of {n - 1}"); previous = c; }
        }
        Assert.Equal(1024, BufferPool.SizeClass(1000));
        Assert.Equal(1280, BufferPool.SizeClass(1025));
    }

    [Fact]
    public void BufferPool_ARequestWhoseClassIsEmpty_TakesAnArrayUpToTwoClassesUp_ButNoLarger()
    {
        // sizes no other test rents: class 14,680,064 (2^23 x 1.75), the class two below it and the class three below
        int big = 14_680_064, twoDown = 10_485_760, threeDown = 8_388_608;
        Assert.Equal(big, BufferPool.SizeClass(big));
        Assert.Equal(big, BufferPool.SizeClass(BufferPool.SizeClass(twoDown + 1) + 1));   // two classes up
        Assert.Equal(twoDown, BufferPool.SizeClass(BufferPool.SizeClass(threeDown + 1)));  // three classes up
        var array = BufferPool.Rent(big);
        BufferPool.Return(array);
        Assert.NotSame(array, BufferPool.Rent(threeDown - 100));     // three classes up: a new array of its own class
        Assert.Same(array, BufferPool.Rent(twoDown - 100));          // its own class empty: the larger array serves
        BufferPool.Return(array);
        Assert.Same(array, BufferPool.Rent(big));                    // returned to its own class, not the request's
    }

    [Fact]
    public void TensorScope_NearbySizes_ShareOneBuffer_AndSeeOnlyTheirOwnLength()
    {
        float[] firstBuffer;
        using (TensorScope.Begin())
        {
            var t = Tensor.Full(7f, 4001);                     // class 4096 (or up to two classes above, if free)
            firstBuffer = t.Storage.Data;
            Assert.InRange(firstBuffer.Length, 4096, 6144);
        }
        using (TensorScope.Begin())
        {
            var again = Tensor.Zeros(4090);                    // another shape of the same class reuses the array
            Assert.Same(firstBuffer, again.Storage.Data);
            Assert.Equal(4090, again.Count);
            Assert.Equal(0f, again.Sum().Item());               // cleared, and only its own 4,090 elements counted
            var y = (again + 1f).Sum().Item();
            Assert.Equal(4090f, y);
        }
    }

    [Fact]
    public void TensorScope_UseAfterEnd_ThrowsClearly()
    {
        Tensor t;
        using (TensorScope.Begin()) t = Tensor.Ones(10);
        var e = Assert.Throws<ObjectDisposedException>(() => t.ToArray());
        Assert.Contains("Keep", e.Message);
    }

    [Fact]
    public void Autograd_NoGrad_RecordsNothing()
    {
        var x = Tensor.Ones(3);
        x.RequiresGrad = true;
        using (Autograd.NoGrad())
        {
            var y = x * 2f;
            Assert.False(y.RequiresGrad);
        }
        Assert.True((x * 2f).RequiresGrad);
    }

    [Fact]
    public void Autograd_ReusedTensor_AccumulatesGradients()
    {
        var x = Tensor.From([1f, 2f, 3f]);
        x.RequiresGrad = true;
        var y = x * x + x;                  // dy/dx = 2x + 1
        y.Sum().Backward();
        Assert.Equal([3f, 5f, 7f], x.Grad!.ToArray());
        (x * 3f).Sum().Backward();         // leaf gradients accumulate until zeroed, as in PyTorch
        Assert.Equal([6f, 8f, 10f], x.Grad!.ToArray());
    }

    [Fact]
    public void Autograd_ScopedTrainingStep_LeafGradientsOutliveTheScope()
    {
        var w = Tensor.From([0.5f, -1f]);
        w.RequiresGrad = true;
        using (TensorScope.Begin())
        {
            var loss = (w * w).Sum();
            loss.Backward();
        }
        Assert.Equal([1f, -2f], w.Grad!.ToArray());
    }

    [Fact]
    public void RecycleGrad_LeavesNoGradient_ThenTheNextBackwardWritesIntoTheSameBuffer()
    {
        var x = Tensor.From([1f, 2f, 3f]);
        x.RequiresGrad = true;
        (x * x).Sum().Backward();
        var first = x.Grad!;
        float[] buffer = first.Storage.Data;
        x.RecycleGrad();
        Assert.Null(x.Grad);                                  // as zero_grad(set_to_none=True)
        (x * 3f).Sum().Backward();
        Assert.Same(buffer, x.Grad!.Storage.Data);           // no new array
        Assert.Equal([3f, 3f, 3f], x.Grad!.ToArray());       // written, not added to the old [2, 4, 6]
        (x * x).Sum().Backward();
        Assert.Equal([5f, 7f, 9f], x.Grad!.ToArray());       // and accumulating as before

        // a gradient set from outside is the caller's: recycling drops it but never writes into it
        var mine = Tensor.From([9f, 9f, 9f]);
        x.Grad = mine;
        x.RecycleGrad();
        (x * 2f).Sum().Backward();
        Assert.Equal([9f, 9f, 9f], mine.ToArray());
        Assert.NotSame(mine.Storage.Data, x.Grad!.Storage.Data);
        Assert.Equal([2f, 2f, 2f], x.Grad!.ToArray());
    }

    [Fact]
    public void Backward_OnNonScalarWithoutGradient_Throws()
    {
        var x = Tensor.Ones(3);
        x.RequiresGrad = true;
        Assert.Throws<ArgumentException>(() => (x * 2f).Backward());
    }
}
