using System;

namespace Moat.Cli.CommandLine;

/// <summary>What every command does with its parsed line: usage on --help, a one-line error with status 2.</summary>
internal static class CommandLineResult
{
    /// <summary>The exit status of a command line that is wrong (as getopt's tools and runc use).</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Parses <paramref name="args"/>: returns the result to act on, or null with <paramref name="status"/>
    /// to exit with: 0 after printing the usage on stdout for --help, 2 after a one-line error on stderr.
    /// </summary>
    public static ParsedArgs? Parse(CommandSpec spec, ReadOnlySpan<string> args, out int status)
    {
        ParsedArgs? p = ArgParser.Parse(spec, args, out string error);
        status = 0;
        if (p == null)
        {
            status = Fail(spec, error);
            return null;
        }

        if (p.Help)
        {
            spec.WriteUsage(Console.Out);
            return null;
        }

        return p;
    }

    /// <summary>Prints <c>moat NAME: MESSAGE (see moat NAME --help)</c> on stderr; returns 2.</summary>
    public static int Fail(CommandSpec spec, string message)
    {
        Console.Error.WriteLine($"moat {spec.Name}: {message} (see 'moat {spec.Name} --help')");
        return UsageError;
    }
}
