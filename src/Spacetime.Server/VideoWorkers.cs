// VideoWorkers: the threads that run queued jobs, `--workers N` of them. Each loops:
//     claim the oldest queued job (JobStore.ClaimNext) -> read its inputs -> IVideoMaker.Make, recording progress
//     -> write its files (VideoFiles.WriteOutputs) -> completed; or failed with the reason
// and, when the queue is empty, removes the videos whose retention has passed (their files, then their rows) and
// sleeps until a new job wakes it (or PollInterval passes). When the server stops, a job
// being made is abandoned at its next progress report and put back in the queue; a server killed outright leaves it
// in progress, and the next start requeues it (JobStore.RequeueInterrupted). Either way it runs again from the start.
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Spacetime.Media;
using Spacetime.Pipelines;

namespace Spacetime.Server;

/// <summary>Runs the queue.</summary>
public sealed class VideoWorkers(ServerConfig config, JobStore store, VideoFiles files, IVideoMaker maker,
                                 ServerLog log) : IHostedService
{
    readonly SemaphoreSlim wake = new(0);
    readonly CancellationTokenSource stopping = new();
    readonly List<Task> threads = [];

    /// <summary>Tells an idle worker that a job was queued.</summary>
    public void Wake() => wake.Release();

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var id in store.RequeueInterrupted()) Log(id, VideoStatus.Queued, ("reason", "requeued at start"));
        for (int i = 0; i < config.Workers; i++)
            threads.Add(Task.Factory.StartNew(Loop, TaskCreationOptions.LongRunning));
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        await Task.WhenAll(threads).WaitAsync(cancellationToken);
    }

    void Loop()
    {
        while (!stopping.IsCancellationRequested)
        {
            VideoJob? job = null;
            try
            {
                job = store.ClaimNext();
                if (job is not null) Run(job);
                else RemoveExpired();
            }
            catch (Exception e)
            {
                // the database failed us (a full disk, a file removed under us): the worker stays alive, says so, and
                // tries again after a pause; a job it had claimed stays in progress and is requeued at next start
                log.Write("worker_error", ("id", job?.Id), ("exception", e.ToString()));
            }
            if (job is not null) continue;
            try { wake.Wait(config.PollInterval, stopping.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    void Run(VideoJob job)
    {
        Log(job.Id, VideoStatus.InProgress);
        var clock = Stopwatch.StartNew();
        try
        {
            var spec = job.Spec;
            var inputs = new VideoInputs(
                spec.HasInputReference ? ImageFile.Read(files.Input(job.Id), maker.Fps) : null,
                spec.HasSource ? VideoFile.Read(files.Source(job.Id), maker.Fps) : null,
                spec.Mode == GenerationMode.Connect ? VideoFile.Read(files.Second(job.Id), maker.Fps) : null);
            int reported = 0;
            var progress = new Reporter(fraction =>
            {
                stopping.Token.ThrowIfCancellationRequested();
                int percent = Math.Clamp((int)(fraction * 100), 0, 99);       // 100 only once the files are written
                if (percent == reported) return;
                store.SetProgress(job.Id, percent);
                reported = percent;
            });
            var video = maker.Make(job.Spec, inputs, progress);
            stopping.Token.ThrowIfCancellationRequested();
            files.WriteOutputs(job.Id, video, maker.Provenance(job.Spec, inputs, video));
            store.Complete(job.Id, clock.Elapsed.TotalSeconds);
            Log(job.Id, VideoStatus.Completed, ("seconds", Math.Round(clock.Elapsed.TotalSeconds, 3)),
                ("frames", video.Count));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            store.Requeue(job.Id);
            Log(job.Id, VideoStatus.Queued, ("reason", "server stopping"));
        }
        catch (Exception e)
        {
            // a request the model cannot make, an input or output it cannot read or write (a full disk): the job
            // fails and says why; anything else is a bug, logged whole, and the job fails without the details
            var error = e switch
            {
                GenerationRequestException => new VideoError("invalid_request", e.Message),
                MediaException or IOException or UnauthorizedAccessException =>
                    new VideoError("storage_error", $"could not read or write the video's files: {e.Message}"),
                _ => new VideoError("internal_error", "the server had an internal error; its log has the details"),
            };
            store.Fail(job.Id, error, clock.Elapsed.TotalSeconds);
            Log(job.Id, VideoStatus.Failed, ("code", error.Code), ("message", error.Message),
                ("exception", error.Code == "internal_error" ? e.ToString() : null));
        }
    }

    // Expired videos go: files first, so that a server killed in between leaves a row that is already invisible
    // (JobStore hides expired rows) and is removed at the next pass, never a visible video without its files.
    void RemoveExpired()
    {
        foreach (var id in store.Expired())
        {
            files.Delete(id);
            store.Remove(id);
            log.Write("job", ("id", id), ("status", "expired"));
        }
    }

    void Log(string id, VideoStatus status, params (string Key, object? Value)[] more) =>
        log.Write("job", [("id", id), ("status", ApiJson.Name(status)), .. more]);

    /// <summary>IProgress that reports on the calling thread, as the generation runs.</summary>
    sealed class Reporter(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
