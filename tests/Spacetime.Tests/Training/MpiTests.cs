// Data-parallel training. In process (ranks as threads, TestKit/ThreadWorld): N ranks equal one process accumulating
// N micro-batches, in loss curve and weights up to the order of float additions; a stopped and resumed run equals the
// straight one, also when it moves between rank counts; a resume the ranks cannot share, ranks that disagree and a
// rank whose setup fails stop every rank with a message. Through mpirun (Open MPI, the CLI in its own processes): the
// same equality, and the refusals as one line with exit code 2. Without mpirun those fail, saying what to install.
using System.Diagnostics;
using System.Globalization;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Tests.TestKit;
using Spacetime.Training;
using Spacetime.Training.Distributed;

namespace Spacetime.Tests.Training;

public sealed class MpiTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-mpi-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    // the tiny VAE with an EMA, one clip per micro-batch, a checkpoint every 2 steps
    static readonly TrainConfig Six = new() { Steps = 6, Batch = 1, WarmupSteps = 1, EmaDecay = 0.9f, CheckpointEvery = 2,
                                              Seed = 4 };
    static readonly VaeRecipe Vae = VaeRecipe.Preset("tiny");
    static readonly string[] Files = ["model.safetensors", "ema.safetensors", "optimizer.safetensors"];

    string Dir(string name) => Path.Combine(root, name);

    static T[] OnRanks<T>(int ranks, Func<Communicator, T> body)
    {
        var outcomes = ThreadWorld.Run(ranks, body);
        foreach (var (_, error) in outcomes)
            if (error is not null) throw new Exception("a rank failed", error);
        return outcomes.Select(o => o.Result!).ToArray();
    }

    //////// the gradient allreduce

    [Fact]
    public void GradientAllreduce_SmallBucket_SumsEveryGradientOnce()
    {
        // sizes 3, 10 (over the 8-float bucket: reduced in place), 5, 2 (a gradient on rank 1 only), 4 (on no rank)
        int[] sizes = [3, 10, 5, 2, 4];
        var outcomes = OnRanks(2, comm =>
        {
            var parameters = sizes.Select(n => Tensor.Zeros(n)).ToList();
            for (int p = 0; p < 4; p++)
                if (p != 3 || comm.Rank == 1)
                    parameters[p].Grad = Tensor.From(Enumerable.Range(0, sizes[p]).Select(i => (comm.Rank + 1) * (10f * p + i))
                                                               .ToArray(), sizes[p]);
            var reduce = new GradientAllreduce(comm, parameters, bucketFloats: 8);
            float[] scalars = [comm.Rank + 0.5f];
            reduce.Run(scalars);
            return (parameters.Select(p => p.Grad?.ToArray()).ToArray(), scalars[0]);
        });
        foreach (var (grads, scalar) in outcomes)
        {
            Assert.Equal(2f, scalar);                                            // 0.5 + 1.5
            for (int p = 0; p < 3; p++)
                Assert.Equal(Enumerable.Range(0, sizes[p]).Select(i => 3 * (10f * p + i)), grads[p]!);   // 1x + 2x
            Assert.Equal([2 * 30f, 2 * 31f], grads[3]!);                          // rank 0 took zeros for its share
            Assert.Null(grads[4]);                                                // AdamW skips it on every rank
        }
    }

    //////// N ranks = one process accumulating N micro-batches

    [Fact]
    public void TwoRanks_EqualOneProcessAccumulatingTwo_Vae()
    {
        VaeTrainer.Train(Vae, Six with { Accumulate = 2 }, Dir("one"));
        var results = OnRanks(2, comm => VaeTrainer.Train(Vae, Six with { Ranks = 2 }, Dir("two"), comm: comm));
        Assert.Equal(results[0].LastLoss, results[1].LastLoss);                  // every rank logs the global mean
        AssertSameRun(Dir("one"), Dir("two"));
        Assert.Contains("\"Ranks\": 2", File.ReadAllText(Trainer.CheckpointFile(Dir("two"), "state.json")));
    }

    [Fact]
    public void TwoRanks_EqualOneProcessAccumulatingTwo_DitOnTheLatentCache()
    {
        string vae = Dir("vae");
        VaeTrainer.Train(Vae, new TrainConfig { Steps = 1, Batch = 1, EmaDecay = 0, Seed = 1 }, vae);
        var cfg = new TrainConfig { Steps = 3, Batch = 2, WarmupSteps = 1, CheckpointEvery = 100, Seed = 2 };
        var recipe = DitRecipe.Preset("tiny-vae");
        DitTrainer.Train(recipe, cfg with { Accumulate = 2 }, Dir("one"), vaeDir: vae);
        OnRanks(2, comm => DitTrainer.Train(recipe, cfg with { Ranks = 2 }, Dir("two"), vaeDir: vae, comm: comm));
        AssertSameRun(Dir("one"), Dir("two"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(Dir("one"), "train", "latents.safetensors")),
                     File.ReadAllBytes(Path.Combine(Dir("two"), "train", "latents.safetensors")));
    }

    [Fact]
    public void TwoRanks_EqualOneProcessAccumulatingTwo_Captioner()
    {
        string vae = Dir("vae");
        VaeTrainer.Train(Vae, new TrainConfig { Steps = 1, Batch = 1, EmaDecay = 0, Seed = 1 }, vae);
        var cfg = new TrainConfig { Steps = 3, Batch = 2, WarmupSteps = 1, CheckpointEvery = 100, Seed = 2 };
        var recipe = CaptionerRecipe.Preset("tiny");
        CaptionerTrainer.Train(recipe, cfg with { Accumulate = 2 }, Dir("one"), vae);
        OnRanks(2, comm => CaptionerTrainer.Train(recipe, cfg with { Ranks = 2 }, Dir("two"), vae, comm: comm));
        AssertSameRun(Dir("one"), Dir("two"));                                  // rank 0 copied the VAE, the others read it
    }

    //////// resume

    [Fact]
    public void TwoRanks_StoppedAndResumed_EqualTheStraightRun_AlsoOnOneProcess()
    {
        OnRanks(2, comm => VaeTrainer.Train(Vae, Six with { Ranks = 2 }, Dir("straight"), comm: comm));
        var stopped = OnRanks(2, comm => VaeTrainer.Train(Vae, Six with { Ranks = 2 }, Dir("split"), stopAt: 3, comm: comm));
        Assert.All(stopped, r => Assert.Equal(3, r.Step));
        var resumed = OnRanks(2, comm => VaeTrainer.Train(Vae, Six with { Ranks = 2 }, Dir("split"), comm: comm));
        Assert.All(resumed, r => Assert.Equal((3, 6), (r.FirstStep, r.Step)));
        foreach (var f in Files)
            Assert.True(File.ReadAllBytes(Trainer.CheckpointFile(Dir("straight"), f))
                            .SequenceEqual(File.ReadAllBytes(Trainer.CheckpointFile(Dir("split"), f))), $"{f} differs");

        OnRanks(2, comm => VaeTrainer.Train(Vae, Six with { Ranks = 2 }, Dir("moved"), stopAt: 3, comm: comm));
        var moved = VaeTrainer.Train(Vae, Six with { Accumulate = 2 }, Dir("moved"));  // the same 2 micro-batches a step
        Assert.Equal((3, 6), (moved.FirstStep, moved.Step));
        AssertSameRun(Dir("straight"), Dir("moved"));
    }

    [Fact]
    public void Resume_MicroBatchesTheRanksCannotShare_SaysWhatToUse()
    {
        VaeTrainer.Train(Vae, Six with { Accumulate = 3 }, Dir("three"), stopAt: 1);
        var onTwo = ThreadWorld.Run(2, comm => VaeTrainer.Train(Vae, Six with { Ranks = 2 }, Dir("three"), comm: comm));
        Assert.All(onTwo, o => Assert.Contains("which 2 ranks cannot share; use a number of ranks that divides 3",
                                               Assert.IsType<ArgumentException>(o.Error).Message));
        var one = Assert.Throws<ArgumentException>(() => VaeTrainer.Train(Vae, Six, Dir("three")));
        Assert.Contains("3 micro-batches of 1 clips a step; on 1 rank resume it with --accumulate 3", one.Message);
    }

    //////// refusals

    [Fact]
    public void RanksThatDisagree_RefuseOnEveryRank()
    {
        var outcomes = ThreadWorld.Run(2, comm =>
            VaeTrainer.Train(Vae, Six with { Ranks = 2, Seed = (ulong)comm.Rank }, Dir("seeds"), comm: comm));
        foreach (var (_, error) in outcomes)
        {
            var e = Assert.IsType<DistributedException>(error);
            Assert.True(e.OnEveryRank);
            Assert.StartsWith("ranks disagree about the starting state (config, step, weights): rank 1's differs from " +
                              "rank 0's", e.Message);
        }
        Assert.False(File.Exists(Trainer.LossCsv(Dir("seeds"))));               // nothing was written
    }

    [Fact]
    public void SetupFailureOnOneRank_StopsTheOthersWithItsExitCode()
    {
        var outcomes = ThreadWorld.Run(2, comm =>
        {
            if (comm.Rank == 1) return comm.ReportSetupFailure(2);                // as the CLI does on an exception
            VaeTrainer.Train(Vae, Six with { Ranks = 2 }, Dir("fail"), comm: comm);
            return (false, 0);
        });
        Assert.Equal(2, Assert.IsType<PeerFailedException>(outcomes[0].Error).ExitCode);
        Assert.Equal((false, 2), outcomes[1].Result);                             // rank 0 did not fail: rank 1 says why
    }

    //////// through mpirun

    static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "spacetime.dll");

    // Runs the CLI under mpirun, one rank per argument list (MPMD when they differ), one thread per rank.
    static (int Code, string Out, string Err) Mpirun(params string[][] ranks)
    {
        var info = new ProcessStartInfo(MpirunPath())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe" }) info.ArgumentList.Add(a);
        for (int r = 0; r < ranks.Length; r++)
        {
            if (r > 0) info.ArgumentList.Add(":");
            foreach (var a in (string[])["-np", "1", "dotnet", Cli, .. ranks[r]]) info.ArgumentList.Add(a);
        }
        return Run(info);
    }

    static (int Code, string Out, string Err) OneProcess(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[Cli, .. args]) info.ArgumentList.Add(a);
        return Run(info);
    }

    static (int Code, string Out, string Err) Run(ProcessStartInfo info)
    {
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";                        // CI runs as root
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        info.Environment["DOTNET_PROCESSOR_COUNT"] = "1";                        // one thread per rank
        info.Environment["NO_COLOR"] = "1";
        // mpirun gives each rank a pseudo-terminal for its output, and .NET's console, seeing a terminal of a known
        // type, starts its output with the terminal's keypad-mode sequence (seen with TERM=xterm: "\e[?1h\e=" before
        // the run's report line); a dumb terminal has none
        info.Environment["TERM"] = "dumb";
        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{info.FileName} {string.Join(' ', info.ArgumentList)} ran over 3 minutes");
        }
        return (p.ExitCode, output.Result, error.Result);
    }

    static string MpirunPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "mpirun"))
            .FirstOrDefault(File.Exists)
        ?? throw new Xunit.Sdk.XunitException($"mpirun not found: the data-parallel tests need Open MPI; {Mpi.InstallHint} " +
                                              "(.ci/run does)");

    static string[] TrainVae(string dir, params string[] more) => TrainVae(dir, steps: 3, checkpointEvery: 2, more);

    static string[] TrainVae(string dir, int steps, int checkpointEvery, params string[] more) =>
        ["train", "vae", "--recipe", "tiny", "--steps", $"{steps}", "--batch", "1", "--checkpoint-every",
         $"{checkpointEvery}", "--seed", "5", "--out", dir, .. more];

    static string[] Errors(string stderr) => stderr.Split('\n').Where(l => l.StartsWith("error:")).ToArray();

    [Fact]
    public void Mpirun_TwoRanks_TrainAsOneProcessAccumulatingTwo()
    {
        var one = OneProcess(TrainVae(Dir("one"), "--accumulate", "2"));
        Assert.True(one.Code == 0, one.Err);
        var two = Mpirun(TrainVae(Dir("two")), TrainVae(Dir("two")));
        Assert.True(two.Code == 0, two.Out + two.Err);
        var report = Assert.Single(two.Out.Split('\n'), l => l.StartsWith("trained steps"));   // rank 0's alone
        Assert.Contains("on 2 ranks (allreduce", report);
        AssertSameRun(Dir("one"), Dir("two"));
    }

    [Fact]
    public void Mpirun_RanksStartedWithDifferentArguments_RefuseInOneLine()
    {
        var run = Mpirun(TrainVae(Dir("a")), TrainVae(Dir("a"), "--lr", "0.002"));
        Assert.Equal(2, run.Code);
        var line = Assert.Single(Errors(run.Err));
        Assert.StartsWith("error: ranks disagree about the command line: rank 1's differs from rank 0's", line);
    }

    [Fact]
    public void Mpirun_ResumeTheRanksCannotShare_OneLineSaysWhatToUse()
    {
        var three = OneProcess(TrainVae(Dir("three"), steps: 1, checkpointEvery: 2, "--accumulate", "3"));
        Assert.True(three.Code == 0, three.Err);
        var run = Mpirun(TrainVae(Dir("three")), TrainVae(Dir("three")));
        Assert.Equal(2, run.Code);
        var line = Assert.Single(Errors(run.Err));                                   // rank 0 says it for both
        Assert.Contains("which 2 ranks cannot share; use a number of ranks that divides 3", line);
    }

    [Fact]
    public void AnotherMpisLauncher_OneLineSaysToUseOpenMpi()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[Cli, .. TrainVae(Dir("mpich"))]) info.ArgumentList.Add(a);
        info.Environment["PMI_RANK"] = "0";                                       // what MPICH's mpiexec sets
        var run = Run(info);
        Assert.Equal(2, run.Code);
        Assert.Equal($"error: started by an MPI launcher other than Open MPI's (PMI_RANK is set); Spacetime talks to " +
                     $"Open MPI: {Mpi.InstallHint}, and start with its mpirun", Assert.Single(run.Err.Split('\n',
                     StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact, Trait("Category", "Slow")]
    public async Task Mpirun_RankKilled_EndsTheJobWithAMessage_AndTheRunResumes()
    {
        string[] Long(string dir) => TrainVae(dir, steps: 40, checkpointEvery: 1);
        var straight = Mpirun(Long(Dir("straight")), Long(Dir("straight")));
        Assert.True(straight.Code == 0, straight.Err);

        var info = new ProcessStartInfo(MpirunPath()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--allow-run-as-root", "--oversubscribe", "-np", "2", "dotnet", Cli,
                                     .. Long(Dir("killed"))])
            info.ArgumentList.Add(a);
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        info.Environment["DOTNET_PROCESSOR_COUNT"] = "1";
        using (var job = Process.Start(info)!)
        {
            var output = job.StandardOutput.ReadToEndAsync();
            var error = job.StandardError.ReadToEndAsync();
            string csv = Trainer.LossCsv(Dir("killed"));
            var clock = Stopwatch.StartNew();
            while (!(File.Exists(csv) && File.ReadLines(csv).Count() > 5) && clock.Elapsed < TimeSpan.FromMinutes(2))
                Thread.Sleep(100);
            int rank1 = RankPid(job.Id, rank: 1);
            Process.GetProcessById(rank1).Kill();                                   // SIGKILL, mid-run
            Assert.True(job.WaitForExit(TimeSpan.FromMinutes(1)), "the job did not end after a rank died");
            Assert.NotEqual(0, job.ExitCode);
            string said = await output + await error;
            Assert.Contains("exited on signal 9", said);                              // mpirun names the dead rank
            Assert.Contains("rank 0 of 2: mpirun is ending the job", said);            // the survivor says what to do
        }
        var resumed = Mpirun(Long(Dir("killed")), Long(Dir("killed")));
        Assert.True(resumed.Code == 0, resumed.Err);
        foreach (var f in Files.Where(f => f != "ema.safetensors"))                 // the VAE trains without an EMA
            Assert.True(File.ReadAllBytes(Trainer.CheckpointFile(Dir("straight"), f))
                            .SequenceEqual(File.ReadAllBytes(Trainer.CheckpointFile(Dir("killed"), f))), $"{f} differs");
    }

    // the pid of the rank whose environment says OMPI_COMM_WORLD_RANK=rank, among the job's descendants
    static int RankPid(int mpirun, int rank)
    {
        foreach (var dir in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (environ.Contains($"OMPI_COMM_WORLD_RANK={rank}") &&
                    File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("spacetime.dll") &&
                    IsDescendant(int.Parse(Path.GetFileName(dir)), mpirun))
                    return int.Parse(Path.GetFileName(dir));
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        throw new Xunit.Sdk.XunitException($"no rank {rank} under mpirun {mpirun}");
    }

    static bool IsDescendant(int pid, int ancestor)
    {
        for (int p = pid; p > 1;)
        {
            if (p == ancestor) return true;
            var stat = File.ReadAllText($"/proc/{p}/stat");
            p = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        return false;
    }

    //////// helpers

    // Two run folders hold the same run: the same loss.csv but for the seconds column, up to float rounding in the
    // last digits, and the same weights, EMA and optimizer state up to the order of float additions in the sums
    // (relative 1e-5; a different run differs in the first digits).
    static void AssertSameRun(string a, string b)
    {
        var rowsA = File.ReadLines(Trainer.LossCsv(a)).ToArray();
        var rowsB = File.ReadLines(Trainer.LossCsv(b)).ToArray();
        Assert.Equal(rowsA.Length, rowsB.Length);
        Assert.Equal(rowsA[0], rowsB[0]);
        for (int i = 1; i < rowsA.Length; i++)
        {
            var (x, y) = (rowsA[i].Split(',')[..^1], rowsB[i].Split(',')[..^1]);
            for (int c = 0; c < x.Length; c++)
                AssertClose(float.Parse(x[c], CultureInfo.InvariantCulture), float.Parse(y[c], CultureInfo.InvariantCulture),
                            $"loss.csv row {i} column {c}");
        }
        foreach (var f in Files.Where(f => File.Exists(Trainer.CheckpointFile(a, f))))
        {
            var ta = Safetensors.Read(Trainer.CheckpointFile(a, f)).Tensors;
            var tb = Safetensors.Read(Trainer.CheckpointFile(b, f)).Tensors;
            Assert.Equal(ta.Keys.Order(), tb.Keys.Order());
            foreach (var key in ta.Keys)
            {
                var (va, vb) = (ta[key].ToArray(), tb[key].ToArray());
                for (int i = 0; i < va.Length; i++)
                    if (f == "model.safetensors" && KeyBias(key, i, va.Length))
                        Assert.True(Math.Abs(va[i] - vb[i]) <= 1e-2f, $"{f} {key}[{i}]: {va[i]} vs {vb[i]}");
                    else AssertClose(va[i], vb[i], $"{f} {key}[{i}]");
            }
        }
    }

    // Entries of an attention's key bias (the middle third of a fused qkv bias, the first half of a kv bias). Their
    // gradient is zero but for rounding: the bias adds the same amount to all of a query's scores, which softmax
    // ignores. AdamW normalises that rounding into steps of up to lr in a direction set by the order of additions, so
    // two orders part by up to lr a step (seen: 1.2e-5 on a first-generation Zen EPYC, where the AVX2 kernels sum in
    // another order); these runs take a few steps at lr <= 1e-3, so 1e-2 bounds them.
    static bool KeyBias(string key, int i, int length) =>
        key.EndsWith("qkv.bias", StringComparison.Ordinal) ? i >= length / 3 && i < 2 * length / 3
        : key.EndsWith("kv.bias", StringComparison.Ordinal) && i < length / 2;

    static void AssertClose(float x, float y, string what) =>
        Assert.True(Math.Abs(x - y) <= 1e-5f * Math.Max(1f, Math.Max(Math.Abs(x), Math.Abs(y))), $"{what}: {x} vs {y}");
}
