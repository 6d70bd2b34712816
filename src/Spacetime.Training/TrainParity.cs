// TrainParity: a training run that also writes everything an independent implementation needs to replay it, for a
// differential test of the whole training stack (engine ops, autograd, model, loss, clipping, schedule, AdamW), as
// llm.c checks its C trainer against a PyTorch dump. bench/parity/parity.py rebuilds the network in PyTorch from
// config.json, loads init.safetensors, feeds it the same inputs step by step and compares.
//
// The parity folder:
//     config.json                   {"kind": "vae" | "dit", "model": the network's config, "loss": ...,
//                                    "train": TrainConfig}
//     init.safetensors              the weights before step 1 (the model's state-dict keys)
//     inputs/step00001.safetensors  everything drawn at random for step s (1-based), per micro-batch m:
//                                   VAE  m{m}.video (B, 3, T, c, c)
//                                   DiT  m{m}.x0, m{m}.noise (B, C, T', h, w), m{m}.t (B), m{m}.known (B, 1, T', 1, 1),
//                                        m{m}.objects (B, 1, T', h, w), m{m}.ids / .valid (B, L), m{m}.empty (B)
//                                        (token ids and flags stored as floats; known and objects only when used)
//     grads_step1.safetensors       the gradient of step 1 before clipping, by parameter name
//     ours.csv                      step,loss,grad_norm,lr of every step
//     final.safetensors             the weights after the last step
// Step s's inputs are drawn with the trainer's own generator, Rng(seed).Fork(s - 1).Fork(m), by the task's own draw
// function, so they are exactly what the run trains on. The run itself is the ordinary Trainer.Run into its run
// folder; nothing here is on the training loop's path.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Nn;

namespace Spacetime.Training;

/// <summary>Training runs that write a parity folder for a replay in PyTorch (bench/parity).</summary>
public static class TrainParity
{
    /// <summary>Trains the VAE recipe into <paramref name="runDir"/> (a new run) and writes the parity folder
    /// <paramref name="parityDir"/>.</summary>
    public static TrainResult Vae(VaeRecipe recipe, TrainConfig cfg, string runDir, string parityDir,
                                  Action<TrainProgress>? progress = null)
    {
        CheckNewRun(runDir, cfg);
        var task = VaeTrainer.NewTask(recipe, cfg);
        var model = new JsonObject
        {
            ["kind"] = "vae",
            ["model"] = JsonNode.Parse(recipe.Vae.ToJson()),
            ["loss"] = JsonNode.Parse(JsonSerializer.Serialize(recipe.Loss, Json)),
            ["sample_latent"] = recipe.SampleLatent,
        };
        return Run(task, cfg, model, runDir, parityDir, progress, (step, m, rng) =>
            [($"m{m}.video", task.Batch(step, m, rng))]);
    }

    /// <summary>Trains the DiT recipe (and its text encoder) into <paramref name="runDir"/> (a new run) and writes the
    /// parity folder <paramref name="parityDir"/>; the other arguments are DitTrainer.Train's.</summary>
    public static TrainResult Dit(DitRecipe recipe, TrainConfig cfg, string runDir, string parityDir,
                                  Action<TrainProgress>? progress = null, string? vaeDir = null,
                                  Action<string, int, int>? status = null, Spacetime.Data.Dataset? data = null,
                                  Spacetime.Pipelines.TextVideoModel? init = null)
    {
        CheckNewRun(runDir, cfg);
        var task = DitTrainer.NewTask(recipe, cfg, runDir, vaeDir, status, data, init);
        var model = new JsonObject
        {
            ["kind"] = "dit",
            ["model"] = new JsonObject
            {
                ["dit"] = JsonNode.Parse(JsonSerializer.Serialize(recipe.Dit, Json)),
                ["text"] = JsonNode.Parse(JsonSerializer.Serialize(recipe.Text, Json)),
                ["time_scale"] = Spacetime.Pipelines.TextVideoModel.TimeScale,
                ["path"] = "RF",
            },
        };
        return Run(task, cfg, model, runDir, parityDir, progress, (step, m, rng) =>
        {
            var d = task.Draw(step, m, rng);
            var tokens = task.TextVideo.Text.Tokenize(d.Captions);
            var list = new List<(string, Tensor)>
            {
                ($"m{m}.x0", d.X0), ($"m{m}.noise", d.Noise), ($"m{m}.t", d.T),
                ($"m{m}.ids", Tensor.From(tokens.Ids.Select(i => (float)i).ToArray(), tokens.Batch, tokens.Length)),
                ($"m{m}.valid", Flags(tokens.Valid, tokens.Batch, tokens.Length)),
                ($"m{m}.empty", Flags(tokens.IsEmpty, tokens.Batch)),
            };
            if (d.Known is not null) list.Add(($"m{m}.known", d.Known));
            if (task.ObjectWeights(d) is { } objects) list.Add(($"m{m}.objects", objects));
            return list;
        });
    }

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    static Tensor Flags(bool[] flags, params int[] shape) =>
        Tensor.From(flags.Select(f => f ? 1f : 0f).ToArray(), shape);

    // A parity run replays from the first step (a run folder holding a checkpoint would resume instead), and its
    // losses are read back from a loss.csv row per step.
    static void CheckNewRun(string runDir, TrainConfig cfg)
    {
        if (Trainer.HasCheckpoint(runDir))
            throw new ArgumentException($"{runDir} holds a run; a parity run starts from step 1: give a new --out");
        if (cfg.LogEvery != 1 || cfg.MaxMinutes > 0)
            throw new ArgumentException("a parity run logs every step and runs every step (no time limit)");
    }

    static TrainResult Run(ITrainTask task, TrainConfig cfg, JsonObject header, string runDir, string parityDir,
                           Action<TrainProgress>? progress, Func<int, int, Rng, IEnumerable<(string, Tensor)>> inputs)
    {
        var model = task.Model;
        Directory.CreateDirectory(Path.Combine(parityDir, "inputs"));
        header["train"] = JsonNode.Parse(JsonSerializer.Serialize(cfg, Json));
        File.WriteAllText(Path.Combine(parityDir, "config.json"), header.ToJsonString(Json));
        Safetensors.Write(Path.Combine(parityDir, "init.safetensors"), model.StateDict());

        for (int step = 0; step < cfg.Steps; step++)
        {
            using var noGrad = Autograd.NoGrad();
            using var scope = TensorScope.Begin();
            var tensors = new List<KeyValuePair<string, Tensor>>();
            for (int m = 0; m < cfg.Accumulate; m++)
                foreach (var (name, t) in inputs(step, m, Trainer.StepRng(cfg, step, m)))
                    tensors.Add(new(name, t.Contiguous()));
            Safetensors.Write(InputsPath(parityDir, step + 1), tensors);
        }

        // step 1's gradient, as the trainer's first step computes it (same draws, same scaling)
        model.Train();
        foreach (var p in model.Parameters()) p.Grad = null;
        for (int m = 0; m < cfg.Accumulate; m++)
        {
            using var scope = TensorScope.Begin();
            var loss = task.Loss(0, m, Trainer.StepRng(cfg, 0, m)).Loss;
            (cfg.Accumulate == 1 ? loss : loss * (1f / cfg.Accumulate)).Backward();
        }
        Safetensors.Write(Path.Combine(parityDir, "grads_step1.safetensors"),
            model.NamedParameters().Where(p => p.Parameter.Grad is not null)
                 .Select(p => new KeyValuePair<string, Tensor>(p.Name, p.Parameter.Grad!.Contiguous())));
        foreach (var p in model.Parameters()) p.Grad = null;

        var losses = new List<float>();
        var result = Trainer.Run(task, cfg, runDir, p =>
        {
            losses.Add(p.Loss);
            progress?.Invoke(p);
        });

        // loss at full precision from the progress reports; lr and the gradient norm from the run's loss.csv
        var rows = File.ReadLines(Trainer.LossCsv(runDir)).ToList();
        var columns = rows[0].Split(',');
        int lrAt = Array.IndexOf(columns, "lr"), normAt = Array.IndexOf(columns, "grad_norm");
        using (var csv = new StreamWriter(Path.Combine(parityDir, "ours.csv")))
        {
            csv.WriteLine("step,loss,grad_norm,lr");
            foreach (var row in rows.Skip(1))
            {
                var v = row.Split(',');
                int step = int.Parse(v[0], CultureInfo.InvariantCulture);
                csv.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{step},{losses[step - 1]:R},{v[normAt]},{v[lrAt]}"));
            }
        }
        File.Copy(Trainer.CheckpointFile(runDir, "model.safetensors"), Path.Combine(parityDir, "final.safetensors"),
                  overwrite: true);
        return result;
    }

    static string InputsPath(string parityDir, int step) =>
        Path.Combine(parityDir, "inputs", $"step{step.ToString("D5", CultureInfo.InvariantCulture)}.safetensors");
}
