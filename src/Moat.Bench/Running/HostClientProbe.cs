using System;
using System.Collections.Generic;
using System.Globalization;

namespace Moat.Bench.Running;

/// <summary>
/// Measures a <see cref="Workloads.MeasureKind.HostClient"/> workload: waits for the server's first line,
/// "ADDRESS PORT", runs the host command with <c>{inside}</c> and <c>{inside-port}</c> replaced by them, and takes
/// the value from its last line. The host command ends the server; one that failed may not have, so the
/// server is killed if it is still there after <c>grace</c>.
/// </summary>
public static class HostClientProbe
{
    public static double Run(RunningCommand server, IReadOnlyList<string> hostCommand, Func<string, string> expand, string dir, TimeSpan timeout, out string? error) =>
        Run(server, hostCommand, expand, dir, timeout, TimeSpan.FromSeconds(15), out error);

    /// <summary>The value, or NaN with the reason in <paramref name="error"/>.</summary>
    public static double Run(RunningCommand server, IReadOnlyList<string> hostCommand, Func<string, string> expand, string dir, TimeSpan timeout, TimeSpan grace, out string? error)
    {
        try
        {
            error = Measure(server, hostCommand, expand, dir, timeout, out double value);
            return error == null ? value : double.NaN;
        }
        finally
        {
            if (!server.Process.WaitForExit(grace))
            {
                server.Process.Kill(entireProcessTree: true);
            }
        }
    }

    private static string? Measure(RunningCommand server, IReadOnlyList<string> hostCommand, Func<string, string> expand, string dir, TimeSpan timeout, out double value)
    {
        value = double.NaN;
        if (!server.WaitForFirstLine(timeout))
        {
            return "it never said where it listens";
        }

        string[] where = server.FirstLine!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (where.Length != 2)
        {
            return $"its first line is not 'ADDRESS PORT': '{server.FirstLine}'";
        }

        var argv = new List<string>();
        foreach (string a in hostCommand)
        {
            argv.Add(a switch { "{inside}" => where[0], "{inside-port}" => where[1], _ => expand(a) });
        }

        CommandResult r = CommandRunner.Run(argv, dir, timeout);
        if (r.TimedOut || r.ExitCode != 0)
        {
            string detail = r.Stderr.Trim().Split('\n')[0];
            return $"the host client {(r.TimedOut ? "timed out" : $"ended with status {r.ExitCode}")}{(detail.Length > 0 ? ": " + detail : "")}";
        }

        string[] lines = r.Stdout.Trim().Split('\n');
        if (!double.TryParse(lines[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out value) || value <= 0)
        {
            return $"no value in the host client's output: '{lines[0]}'";
        }

        return null;
    }
}
