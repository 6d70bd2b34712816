// CliConsole: where commands write. Out is a Spectre console (tables, progress bars); errors go to Error as one
// red line each. Tests pass StringWriters and read what a user would have seen.
using Spectre.Console;

namespace Spacetime.Cli;

/// <summary>Standard output as a Spectre console, plus the error stream.</summary>
internal sealed class CliConsole(IAnsiConsole output, IAnsiConsole error, TextWriter outWriter, TextWriter errWriter,
                                 bool redErrors = false)
{
    public IAnsiConsole Out { get; } = output;
    public IAnsiConsole Error { get; } = error;
    /// <summary>The raw writers behind Out and Error (System.CommandLine's help and version go here).</summary>
    public TextWriter OutWriter { get; } = outWriter;
    public TextWriter ErrWriter { get; } = errWriter;

    /// <summary>The process's stdout and stderr; colour only on a terminal and when NO_COLOR is unset.</summary>
    public static CliConsole Standard()
    {
        bool colour = Environment.GetEnvironmentVariable("NO_COLOR") is null or "";
        var output = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = colour && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = colour && !Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        if (Console.IsOutputRedirected) output.Profile.Width = 120;
        var error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return new(output, error, Console.Out, Console.Error, redErrors: colour && !Console.IsErrorRedirected);
    }

    /// <summary>A console over plain writers: no colour codes, no animation, wide enough for one-line messages.</summary>
    public static CliConsole ForWriters(TextWriter output, TextWriter error) =>
        new(Plain(output), Plain(error), output, error);

    static IAnsiConsole Plain(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        return console;
    }

    /// <summary>Prints one line, red on a terminal, to the error stream; never wrapped, never parsed as markup.</summary>
    public void Fail(string message)
    {
        string line = "error: " + message.Replace('\n', ' ').Replace('\r', ' ');
        ErrWriter.WriteLine(redErrors ? "\e[31m" + line + "\e[0m" : line);
        ErrWriter.Flush();
    }
}
