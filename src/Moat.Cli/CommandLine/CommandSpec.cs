using System;
using System.Collections.Generic;
using System.IO;

namespace Moat.Cli.CommandLine;

/// <summary>
/// What a command accepts: its options, its positional arguments (<see cref="Arguments"/>, shown in the
/// usage; between <see cref="MinArguments"/> and <see cref="MaxArguments"/>, -1 for any number) and one
/// line saying what it does. Options come before the arguments: the first argument (or <c>--</c>) ends
/// them, so <c>moat do ls -l</c> and <c>moat exec ID ls -l</c> keep the program's own options.
/// </summary>
internal sealed class CommandSpec
{
    public required string Name { get; init; }

    public required string Summary { get; init; }

    public string Arguments { get; init; } = string.Empty;

    public int MinArguments { get; init; }

    public int MaxArguments { get; init; } = -1;

    /// <summary>Go's flag package spelling: <c>-name</c> means <c>--name</c> (runc's verbs take both).</summary>
    public bool SingleDashLong { get; init; }

    public IReadOnlyList<OptionSpec> Options { get; init; } = [];

    public OptionSpec? Find(string name)
    {
        foreach (OptionSpec o in Options)
        {
            if (o.Name == name)
            {
                return o;
            }
        }

        return null;
    }

    public OptionSpec? FindShort(char c)
    {
        foreach (OptionSpec o in Options)
        {
            if (o.Short == c && c != '\0')
            {
                return o;
            }
        }

        return null;
    }

    /// <summary>Prints the usage: the synopsis, the summary and one line per visible option.</summary>
    public void WriteUsage(TextWriter w)
    {
        w.WriteLine($"usage: moat {Name}{(Options.Count > 0 ? " [OPTION]..." : string.Empty)}{(Arguments.Length > 0 ? " " + Arguments : string.Empty)}");
        w.WriteLine();
        w.WriteLine(Summary);
        w.WriteLine();
        w.WriteLine("options:");
        foreach (OptionSpec o in Options)
        {
            if (o.Hidden)
            {
                continue;
            }

            string names = (o.Short != '\0' ? $"-{o.Short}, " : "    ") + "--" + o.Name + (o.TakesValue ? " " + o.Value : string.Empty);
            w.WriteLine($"  {names,-32} {o.Help}");
        }

        w.WriteLine($"  {"-h, --help",-32} print this help and exit");
    }

    /// <summary>The "see --help" hint that follows an error.</summary>
    public string HelpHint => $"Run 'moat {Name} --help' for usage.";
}
