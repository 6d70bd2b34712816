// spacetime: the command line. Each command group lives in its own file with one static Create(CliConsole);
// adding a group is one line below. Run from the repository with ./spacetime (builds once, then runs).
using System.CommandLine;

namespace Spacetime.Cli;

internal static class Program
{
    static int Main(string[] args) => Run(args, CliConsole.Standard());

    /// <summary>Parses and runs one command line; returns the exit code (0 ok, 1 internal error, 2 user mistake).</summary>
    internal static int Run(string[] args, CliConsole io)
    {
        var root = new RootCommand("Spacetime: text-to-video models built like Sora, trained from scratch.");
        root.Subcommands.Add(WorldCommands.Create(io));
        root.Subcommands.Add(DataCommands.Create(io));
        root.Subcommands.Add(ModelCommands.Create(io));
        root.Subcommands.Add(TrainCommands.Create(io));
        root.Subcommands.Add(GenerateCommands.Create(io));
        root.Subcommands.Add(EvalCommands.Create(io));
        root.Subcommands.Add(CaptionCommands.Create(io));
        root.Subcommands.Add(VaeCommands.Create(io));
        root.Subcommands.Add(ProvenanceCommands.CreateDetect(io));
        root.Subcommands.Add(ProvenanceCommands.CreateInspect(io));
        root.Subcommands.Add(ServeCommands.Create(io));
        root.Subcommands.Add(ServeCommands.CreateKeys(io));
        return CliRunner.Invoke(root, args, io);
    }
}
