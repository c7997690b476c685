using System;
using System.Collections.Generic;

namespace Moat.Bench.Running;

/// <summary>A way to run a command: natively (no prefix), under Moat, or under another runtime.</summary>
/// <param name="Name">The column name in reports.</param>
/// <param name="Prefix">The words placed before the workload's command line.</param>
/// <param name="IsMoat">
/// The prefix is <c>moat do</c> and its options, without the <c>--</c>: a workload's own <c>moat do</c> options
/// (<see cref="Workloads.Workload.MoatOptions"/>) go after it, then <c>--</c> and the command.
/// </param>
public sealed record Runner(string Name, IReadOnlyList<string> Prefix, bool IsMoat = false)
{
    public const string NativeName = "native";

    public static Runner Native { get; } = new(NativeName, []);

    public bool IsNative => Prefix.Count == 0;

    /// <summary>Parses <c>NAME=COMMAND PREFIX</c> (words split on spaces) as given to <c>--compare</c>.</summary>
    public static Runner Parse(string spec)
    {
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == spec.Length - 1)
        {
            throw new ArgumentException($"--compare wants NAME='COMMAND PREFIX', not '{spec}'");
        }

        string name = spec[..eq];
        string[] words = spec[(eq + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 0 || name == NativeName)
        {
            throw new ArgumentException($"--compare wants NAME='COMMAND PREFIX', not '{spec}'");
        }

        return new Runner(name, words);
    }
}
