// GradientAllreduce: sums the step's gradients over the ranks of a data-parallel run, after the backward pass. Every
// rank scaled its micro-batches' losses by 1 / (micro-batches of the step, all ranks together), so the sum is the mean
// gradient of the global batch, as one process accumulating every micro-batch would hold it, up to the order of the
// float additions. Two stages per step:
//   1. one small allreduce: which parameters have a gradient on some rank, plus the step's loss and metrics. A
//      parameter that no micro-batch of a rank touched has no gradient there and gets zeros; one touched on no rank
//      keeps none on every rank (AdamW skips it), as in one process.
//   2. the gradients in buckets of BucketFloats: tensors smaller than a bucket are packed into one buffer, so each
//      call moves megabytes rather than paying MPI's per-call latency once per bias; a tensor of a bucket or more is
//      reduced in place, without a copy.
// Stage 1 doubles as the point where ranks wait for each other, so its time (WaitSeconds) is load imbalance and
// stage 2 (TransferSeconds) is the communication itself.
// The reduction runs after the whole backward pass, not overlapped with it: on one machine it measured a few percent
// of a step (docs/distributed.md), and an overlap would need autograd hooks per parameter.
using Spacetime.Engine;

namespace Spacetime.Training.Distributed;

/// <summary>Sums parameter gradients (and a few scalars) over the ranks, in buckets.</summary>
internal sealed class GradientAllreduce(Communicator comm, IReadOnlyList<Tensor> parameters,
                                        int bucketFloats = GradientAllreduce.BucketFloats)
{
    /// <summary>4 MiB of floats a call: large enough that latency (microseconds) is small beside the copy through
    /// shared memory or the wire, small enough that packing adds little memory.</summary>
    public const int BucketFloats = 1 << 20;

    readonly float[] bucket = new float[bucketFloats];

    /// <summary>Seconds of the last Run in stage 1, where ranks that finished their backward pass early wait for the
    /// others (load imbalance, not communication).</summary>
    public double WaitSeconds { get; private set; }
    /// <summary>Seconds of the last Run in stage 2: moving and summing the gradients.</summary>
    public double TransferSeconds { get; private set; }

    /// <summary>Sums every parameter's gradient and <paramref name="scalars"/> over the ranks, in place.</summary>
    public void Run(Span<float> scalars)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var header = new float[parameters.Count + scalars.Length];                 // presence flags, then scalars
        for (int i = 0; i < parameters.Count; i++) header[i] = parameters[i].Grad is null ? 0 : 1;
        scalars.CopyTo(header.AsSpan(parameters.Count));
        comm.AllreduceSum(header);
        header.AsSpan(parameters.Count).CopyTo(scalars);
        WaitSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        start = System.Diagnostics.Stopwatch.GetTimestamp();

        var pending = new List<Tensor>();                                           // packed into bucket[0..used)
        int used = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            if (header[i] == 0) continue;                                            // no gradient on any rank
            var g = LocalGradient(parameters[i]);
            if (g.Count >= bucket.Length) { comm.AllreduceSum(g.AsSpan()); continue; }
            if (used + g.Count > bucket.Length) used = Flush(pending, used);
            g.AsSpan().CopyTo(bucket.AsSpan(used));
            pending.Add(g);
            used += g.Count;
        }
        Flush(pending, used);
        TransferSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    // the parameter's gradient as a dense tensor, zeros when this rank has none
    static Tensor LocalGradient(Tensor p)
    {
        if (p.Grad is null) p.Grad = Tensor.Zeros(p.Shape.ToArray());
        else if (!p.Grad.IsContiguous) p.Grad = p.Grad.CopyUnscoped();
        return p.Grad;
    }

    // reduces bucket[0..used) and copies each packed gradient back; returns 0 (the bucket is empty again)
    int Flush(List<Tensor> pending, int used)
    {
        if (used == 0) return 0;
        comm.AllreduceSum(bucket.AsSpan(0, used));
        int at = 0;
        foreach (var g in pending)
        {
            bucket.AsSpan(at, g.Count).CopyTo(g.AsSpan());
            at += g.Count;
        }
        pending.Clear();
        return 0;
    }
}
