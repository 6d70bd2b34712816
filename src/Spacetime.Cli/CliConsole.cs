// CliConsole: where commands write. Out is a Spectre console (tables, progress bars); errors go to Error as one
// red line each. Tests pass StringWriters and read what a user would have seen.
using Spectre.Console;

namespace Spacetime.Cli;

/// <summary>Standard output as a Spectre console, plus the error stream.</summary>
internal sealed class CliConsole(IAnsiConsole output, IAnsiConsole error, TextWriter outWriter, TextWriter errWriter)
{
    public IAnsiConsole Out { get; } = output;
    public IAnsiConsole Error { get; } = error;
    /// <summary>The raw writers behind Out and Error (System.CommandLine's help and version go here).</summary>
    public TextWriter OutWriter { get; } = outWriter;
    public TextWriter ErrWriter { get; } = errWriter;

    public static CliConsole Standard() =>
        new(AnsiConsole.Console, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }),
            Console.Out, Console.Error);

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

    /// <summary>Prints one red line to the error stream (the message is escaped, never parsed as markup).</summary>
    public void Fail(string message) =>
        Error.MarkupLine("[red]error:[/] [red]" + Markup.Escape(message.Replace('\n', ' ').Replace('\r', ' ')) + "[/]");
}
