using System.Collections.Generic;

namespace Moat.Cli.Diagnostics;

/// <summary>
/// The debug-log options a moat process hands to the processes it starts (gofer, jailed Sentry, oci-boot),
/// so that each opens its own ID.COMMAND.log (or appends to the one file).
/// </summary>
internal sealed record LogSettings(string? Pattern, bool Debug, string Id)
{
    public static LogSettings None { get; } = new(null, false, string.Empty);

    /// <summary>Opens this process's log as <paramref name="command"/>; null with a reason.</summary>
    public DebugLog? Open(string command, out string? error) => DebugLog.Open(Pattern, Debug, Id, command, out error);

    /// <summary>The options that pass these settings on: --debug-log PATH, --debug, --log-id ID.</summary>
    public IEnumerable<string> Arguments(string idOption)
    {
        if (Pattern != null)
        {
            yield return "--debug-log";
            yield return Pattern;
        }

        if (Debug)
        {
            yield return "--debug";
        }

        yield return "--" + idOption;
        yield return Id;
    }

    /// <summary>Where the log of <paramref name="command"/> is, for a message: "debug log: PATH", or how to get one.</summary>
    public string Where(string command) =>
        Pattern != null ? "debug log: " + DebugLog.Resolve(Pattern, Id, command) : "run with --debug-log DIR/ for a debug log";
}
