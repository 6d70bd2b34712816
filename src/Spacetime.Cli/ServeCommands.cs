// spacetime serve: OpenAI's Videos API on this machine (Spacetime.Server), and spacetime keys: its API keys.
//   spacetime serve [--host 127.0.0.1] [--port 8000] [--data serve-data] [--model models/spacetime] [--workers 1]
//                   [--retention-days 7]                       finished videos removed after; 0 keeps them
//   spacetime keys add [--name NAME] [--data serve-data]      prints the new key once (only its hash is stored)
//   spacetime keys list [--data serve-data]
//   spacetime keys revoke KEY_ID [--data serve-data]
// The queue, the keys and the videos live in --data (a SQLite database and a folder per video). With no key the
// server listens only on loopback; a corrupt or locked database, a folder another server uses, a taken port, a
// missing model or ffmpeg: one line and exit code 2, before anything is served. Ctrl-C or SIGTERM stop it; a job
// being made goes back to the queue and runs again at the next start.
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.Server;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class ServeCommands
{
    /// <summary>Where `serve` and `keys` keep their data unless told.</summary>
    const string DefaultData = "serve-data";

    static Option<string> Data() =>
        CliArgs.Option("--data", "Folder of the queue database and the videos.", DefaultData);

    public static Command Create(CliConsole io)
    {
        var host = CliArgs.Option("--host", "Address to listen on (beyond 127.0.0.1 only with an API key).",
                                  "127.0.0.1");
        var port = CliArgs.Option("--port", "TCP port.", 8000);
        var data = Data();
        var model = CliArgs.Option("--model", "Model folder (written by `spacetime train dit`).",
                                   GenerateCommands.ShippedModel);
        var workers = CliArgs.Option("--workers", "Videos generated at the same time.", 1);
        var retention = CliArgs.Option("--retention-days",
                                       "Days a finished video is kept (its expires_at); 0 keeps videos until deleted.",
                                       ServerConfig.DefaultRetentionDays);
        var command = new Command("serve", "Serve OpenAI's Videos API (POST /v1/videos, ...) from a model.")
        {
            host, port, data, model, workers, retention,
        };
        command.SetAction(parsed =>
        {
            int portValue = parsed.GetValue(port);
            if (portValue is < 1 or > 65535) throw new UserError($"--port {portValue}: must be 1 to 65535");
            int days = parsed.GetValue(retention);
            if (days is < 0 or > 36500) throw new UserError($"--retention-days {days}: must be 0 (keep) to 36500");
            var config = new ServerConfig(parsed.GetValue(data)!)
            {
                Host = parsed.GetValue(host)!.Trim(), Port = portValue,
                Workers = CliArgs.Positive("--workers", parsed.GetValue(workers)),
                Retention = days == 0 ? null : TimeSpan.FromDays(days),
            };
            if (!Ffmpeg.IsAvailable)
                throw new UserError("serving writes MP4 videos, which needs ffmpeg; " + Ffmpeg.InstallHint);
            try { VideoServer.IsLoopback(config.Host); }
            catch (ServerStartException e) { throw new UserError(e.Message); }
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCancel;
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });
            try
            {
                VideoServer server;
                try
                {
                    string modelDir = parsed.GetValue(model)!;
                    server = VideoServer.Create(config, () => new ModelVideoMaker(GenerateCommands.LoadModel(modelDir),
                                                    ModelIdentity.Of(modelDir)), new ServerLog(io.OutWriter));
                    server.StartAsync().GetAwaiter().GetResult();
                }
                catch (ServerStartException e) { throw new UserError(e.Message); }
                io.ErrWriter.WriteLine($"serving OpenAI's Videos API on {server.Address} (data: {config.DataDir}, " +
                                       $"{config.Workers} worker{(config.Workers == 1 ? "" : "s")}); Ctrl-C stops");
                server.RunUntil(stop.Token).GetAwaiter().GetResult();
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            finally { Console.CancelKeyPress -= onCancel; }
            return CliRunner.Ok;
        });
        return command;
    }

    public static Command CreateKeys(CliConsole io)
    {
        var keys = new Command("keys", "API keys of `spacetime serve`: with any, every request needs one.");
        var name = CliArgs.Option("--name", "A name to tell the key by.", "default");
        var addData = Data();
        var add = new Command("add", "Make a key; it is printed once (only its SHA-256 is stored).") { name, addData };
        add.SetAction(parsed =>
        {
            string label = parsed.GetValue(name)!.Trim();
            if (label.Length is 0 or > 100) throw new UserError("--name: give 1 to 100 characters");
            var (info, key) = Open(parsed.GetValue(addData)!).Add(label);
            io.OutWriter.WriteLine($"{info.Id} ({info.Name}): {key}");
            io.OutWriter.WriteLine("keep it now: it cannot be shown again (revoke it and add another if it is lost)");
            return CliRunner.Ok;
        });
        var listData = Data();
        var list = new Command("list", "The keys (ids and names, never the keys).") { listData };
        list.SetAction(parsed =>
        {
            var all = Open(parsed.GetValue(listData)!).List();
            if (all.Count == 0)
            {
                io.OutWriter.WriteLine("no keys: the server answers anyone on 127.0.0.1");
                return CliRunner.Ok;
            }
            var table = new Table().AddColumns("id", "name", "created (UTC)", "status");
            foreach (var k in all)
                table.AddRow(k.Id, Markup.Escape(k.Name), Time(k.CreatedAt),
                             k.RevokedAt is { } r ? $"revoked {Time(r)}" : "active");
            io.Out.Write(table);
            return CliRunner.Ok;
        });
        var id = new Argument<string>("id") { Description = "The key's id (key_..., from `keys list`)." };
        var revokeData = Data();
        var revoke = new Command("revoke", "Revoke a key: requests with it are refused from now on.")
        {
            id, revokeData,
        };
        revoke.SetAction(parsed =>
        {
            string keyId = parsed.GetValue(id)!;
            if (!Open(parsed.GetValue(revokeData)!).Revoke(keyId))
                throw new UserError($"no active key '{keyId}'; see `spacetime keys list`");
            io.OutWriter.WriteLine($"revoked {keyId}");
            return CliRunner.Ok;
        });
        keys.Subcommands.Add(add);
        keys.Subcommands.Add(list);
        keys.Subcommands.Add(revoke);
        return keys;
    }

    static ApiKeys Open(string dataDir)
    {
        try { return new ApiKeys(Database.Open(dataDir)); }
        catch (ServerStartException e) { throw new UserError(e.Message); }
    }

    static string Time(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime
            .ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}
