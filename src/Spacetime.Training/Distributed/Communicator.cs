// Communicator: the processes of one data-parallel training run (MPI's world) and the few collectives the trainer
// needs. Rank r of N; rank 0, the root, alone writes the run folder. A process started without mpirun is a world of
// one (Communicator.Single): every collective is the identity, so one process runs the same trainer code.
//
// Failing together. A rank that throws while the others wait in a collective would hang the job, so:
//   during setup (building the task, reading the checkpoint, the latent cache: everything before the first step)
//     every synchronisation is a SetupPoint, one collective that also carries "did my setup fail, with which exit
//     code". A rank that fails reports it with ReportSetupFailure, the same collective, which meets the others at
//     whatever SetupPoint they wait in; there they all learn of it and stop (PeerFailedException). Only the failed
//     ranks print, and of those only rank 0 when it failed too (the same command line and folder fail the same way on
//     every rank, so N copies of one line say nothing more).
//   EndSetup is the last SetupPoint; it also checks that the ranks agree (same build, same command line, same
//     starting state) and refuses to start when they do not, on every rank at once.
//   after setup, a rank that fails prints its message and aborts the job (MPI_Abort): mpirun ends every rank; the
//     run folder keeps its last checkpoint, from which the same command resumes.
using System.Security.Cryptography;

namespace Spacetime.Training.Distributed;

/// <summary>The ranks of a data-parallel run and their collectives; see the file header for how they fail.</summary>
public abstract class Communicator : IDisposable
{
    /// <summary>A world of one process: no MPI, every collective a no-op.</summary>
    public static Communicator Single { get; } = new SingleProcess();

    /// <summary>This process's rank, 0..Size-1.</summary>
    public abstract int Rank { get; }
    /// <summary>The number of ranks.</summary>
    public abstract int Size { get; }
    /// <summary>Rank 0, which writes checkpoints, logs and plots.</summary>
    public bool IsRoot => Rank == 0;
    /// <summary>True once EndSetup has passed: from then on a failing rank aborts the job.</summary>
    public bool SetupDone { get; private set; }

    /// <summary>values[i] = the sum of values[i] over the ranks, in place; every rank gets the same result.</summary>
    public abstract void AllreduceSum(Span<float> values);
    /// <summary>values[i] = the largest values[i] over the ranks, in place.</summary>
    public abstract void AllreduceMax(Span<float> values);
    /// <summary>Rank 0's bytes into every rank's <paramref name="bytes"/> (same length everywhere).</summary>
    public abstract void Broadcast(Span<byte> bytes);
    /// <summary>Ends every rank of the job with <paramref name="exitCode"/>; does not return.</summary>
    public abstract void Abort(int exitCode);
    /// <summary>Leaves the world (MPI_Finalize); a no-op for a single process.</summary>
    public virtual void Dispose() { }

    /// <summary>A synchronisation point of setup: returns when every rank reached it healthy, else throws
    /// <see cref="PeerFailedException"/> on every healthy rank.</summary>
    public void SetupPoint()
    {
        var outcome = Settle(0);
        if (outcome.ExitCode != 0) throw new PeerFailedException(outcome.ExitCode);
    }

    /// <summary>Reports this rank's failed setup (exit code 1 or 2) to the others, who wait in a SetupPoint. Returns
    /// whether rank 0 failed too and the job's exit code (the largest reported).</summary>
    public (bool RootFailed, int ExitCode) ReportSetupFailure(int exitCode)
    {
        var outcome = Settle(exitCode);
        return (outcome.RootFailed, outcome.ExitCode);
    }

    // one allreduce of (failed anywhere, failed on rank 0, exit code)
    (bool RootFailed, int ExitCode) Settle(int exitCode)
    {
        if (Size == 1) return (exitCode != 0, exitCode);
        Span<float> flags = [exitCode, IsRoot ? exitCode : 0];
        AllreduceMax(flags);
        return (flags[1] > 0, (int)flags[0]);
    }

    /// <summary>
    /// The last SetupPoint, then a check that every rank holds the same <paramref name="facts"/> (digests compared with
    /// rank 0's); the first that differs stops every rank with a <see cref="DistributedException"/> naming a rank and
    /// what to do. After it, failures abort the job.
    /// </summary>
    public void EndSetup(params Fact[] facts)
    {
        SetupPoint();
        Agree(facts, exitCode: 2);
        SetupDone = true;
    }

    /// <summary>Stops every rank with a <see cref="DistributedException"/> (exit code <paramref name="exitCode"/>)
    /// when some rank's digest of a fact differs from rank 0's.</summary>
    public void Agree(IReadOnlyList<Fact> facts, int exitCode)
    {
        if (Size == 1 || facts.Count == 0) return;
        const int digestBytes = 32;                                                 // SHA-256
        var root = new byte[facts.Count * digestBytes];
        for (int i = 0; i < facts.Count; i++) facts[i].Digest.CopyTo(root, i * digestBytes);
        Broadcast(root);
        var differing = new float[facts.Count];                                     // the highest rank that differs
        for (int i = 0; i < facts.Count; i++)
            differing[i] = root.AsSpan(i * digestBytes, digestBytes).SequenceEqual(facts[i].Digest) ? -1 : Rank;
        AllreduceMax(differing);
        for (int i = 0; i < facts.Count; i++)
            if (differing[i] >= 0)
                throw new DistributedException($"ranks disagree about {facts[i].What}: rank {differing[i]}'s " +
                                               $"differs from rank 0's; {facts[i].Advice}", exitCode, onEveryRank: true);
    }

    /// <summary>Something every rank must hold the same: a name, a SHA-256 of it, and what to do when ranks differ.
    /// </summary>
    public sealed record Fact(string What, byte[] Digest, string Advice)
    {
        /// <summary>The fact whose digest is SHA-256 of <paramref name="write"/>'s bytes.</summary>
        public static Fact Of(string what, string advice, Action<IncrementalHash> write)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            write(hash);
            return new Fact(what, hash.GetHashAndReset(), advice);
        }
    }

    sealed class SingleProcess : Communicator
    {
        public override int Rank => 0;
        public override int Size => 1;
        public override void AllreduceSum(Span<float> values) { }
        public override void AllreduceMax(Span<float> values) { }
        public override void Broadcast(Span<byte> bytes) { }
        public override void Abort(int exitCode) => Environment.Exit(exitCode);
    }
}

/// <summary>A distributed run that cannot go on as launched: no MPI library, another MPI, ranks that disagree.
/// <see cref="OnEveryRank"/>: every rank raised it at the same point, so rank 0 alone reports it.</summary>
public sealed class DistributedException(string message, int exitCode = 2, bool onEveryRank = false) : Exception(message)
{
    /// <summary>2 for a launch the user can fix, 1 for a bug (ranks whose weights diverged).</summary>
    public int ExitCode { get; } = exitCode;
    /// <summary>Raised on every rank at once (rank 0 reports it; the others stay silent).</summary>
    public bool OnEveryRank { get; } = onEveryRank;
}

/// <summary>Another rank's setup failed (it printed why); this rank stops with the job's exit code.</summary>
public sealed class PeerFailedException(int exitCode) : Exception($"another rank failed to start (exit code {exitCode})")
{
    /// <summary>The exit code the failed rank reported.</summary>
    public int ExitCode { get; } = exitCode;
}
