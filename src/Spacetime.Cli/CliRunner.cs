// CliRunner: parse, run, and turn every user mistake into one red line and exit code 2.
// User mistakes are UserError (thrown by commands, which check every input and turn a lower layer's refusal of a
// user's value into one), MediaException (files, datasets, ffmpeg), and IO, permission, JSON and InvalidData errors
// on the files a user named (a corrupt safetensors or config file is the user's file, not our bug). Anything else, ArgumentException included, is a bug: one red line with the exception type and exit
// code 1; SPACETIME_DEBUG=1 adds the stack trace.
using System.CommandLine;
using System.Text.Json;
using Spacetime.Media;
using Spacetime.Training.Distributed;

namespace Spacetime.Cli;

/// <summary>A mistake in what the user asked for; the message names the input and what is wrong.</summary>
internal sealed class UserError(string message) : Exception(message);

internal static class CliRunner
{
    public const int Ok = 0, Bug = 1, Usage = 2;

    public static int Invoke(RootCommand root, string[] args, CliConsole io)
    {
        if (args.Length == 0) args = ["--help"];
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            string command = parsed.CommandResult.Command is var c && c != root ? " " + CommandPath(parsed) : "";
            var error = parsed.Errors.FirstOrDefault(e => !e.Message.StartsWith("Required command")) ?? parsed.Errors[0];
            if (Mpi.LaunchedRank is null or 0)                  // under mpirun every rank parses the same line: one says it
                io.Fail($"{Plain(error.Message)} (see: spacetime{command} --help)");
            return Usage;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                Output = io.OutWriter,
                Error = io.ErrWriter,
            });
        }
        catch (Exception e)
        {
            var (code, message) = Describe(e);
            io.Fail(message);
            if (code == Bug && Environment.GetEnvironmentVariable("SPACETIME_DEBUG") == "1") io.ErrWriter.WriteLine(e);
            return code;
        }
    }

    /// <summary>The exit code of an exception that ends a command (Usage for a user's mistake, else Bug) and the
    /// line that says it.</summary>
    internal static (int Code, string Message) Describe(Exception e) =>
        IsUserMistake(e) ? (Usage, e.Message) : (Bug, $"internal error ({e.GetType().Name}): {e.Message}");

    static bool IsUserMistake(Exception e) =>
        e is UserError or MediaException or IOException or InvalidDataException
          or UnauthorizedAccessException or JsonException or DistributedException { ExitCode: Usage };

    /// <summary>System.CommandLine names .NET types in parse errors; say what a user would.</summary>
    static string Plain(string message) => message
        .Replace("'System.Int64'", "a whole number").Replace("'System.Int32'", "a whole number")
        .Replace("'System.Double'", "a number").Replace(" as expected type", " as");

    static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent)
            names.Insert(0, r.Command.Name);
        return string.Join(' ', names);
    }
}
