// ThreadWorld: the ranks of a data-parallel run as threads of the test process, so the trainer's distributed path
// is tested in seconds without mpirun (MpiTests run the real thing too). Every collective meets at a barrier; a sum
// is taken in rank order (rank 0's value + rank 1's + ...), the same on every rank, as MPI promises.
using Spacetime.Training.Distributed;

namespace Spacetime.Tests.TestKit;

internal sealed class ThreadWorld
{
    readonly Barrier barrier;
    readonly float[][] posted;
    byte[] broadcast = [];

    ThreadWorld(int size) => (barrier, posted) = (new Barrier(size), new float[size][]);

    /// <summary>Runs <paramref name="body"/> on <paramref name="size"/> ranks, each on its own thread, and returns
    /// what each returned or threw.</summary>
    public static (T? Result, Exception? Error)[] Run<T>(int size, Func<Communicator, T> body)
    {
        var world = new ThreadWorld(size);
        var outcomes = new (T?, Exception?)[size];
        var threads = Enumerable.Range(0, size).Select(r => new Thread(() =>
        {
            try { outcomes[r] = (body(new Member(world, r)), null); }
            catch (Exception e) { outcomes[r] = (default, e); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return outcomes;
    }

    void Meet()
    {
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60)))
            throw new TimeoutException("ThreadWorld: a rank never reached the collective (mismatched collectives)");
    }

    sealed class Member(ThreadWorld world, int rank) : Communicator
    {
        public override int Rank => rank;
        public override int Size => world.posted.Length;

        public override void AllreduceSum(Span<float> values) => Reduce(values, (a, b) => a + b);
        public override void AllreduceMax(Span<float> values) => Reduce(values, MathF.Max);

        void Reduce(Span<float> values, Func<float, float, float> op)
        {
            world.posted[rank] = values.ToArray();
            world.Meet();
            for (int i = 0; i < values.Length; i++)
            {
                float acc = world.posted[0][i];
                for (int r = 1; r < Size; r++) acc = op(acc, world.posted[r][i]);
                values[i] = acc;
            }
            world.Meet();                                  // nobody posts again before everyone has read
        }

        public override void Broadcast(Span<byte> bytes)
        {
            if (rank == 0) world.broadcast = bytes.ToArray();
            world.Meet();
            world.broadcast.CopyTo(bytes);
            world.Meet();
        }

        public override void Abort(int exitCode) => throw new InvalidOperationException($"rank {rank} aborted ({exitCode})");
    }
}
