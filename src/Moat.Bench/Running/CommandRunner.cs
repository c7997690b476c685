using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Moat.Bench.Running;

/// <summary>What one command did.</summary>
public readonly record struct CommandResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, bool TimedOut);

/// <summary>A command while it runs, for a probe that measures it from outside.</summary>
public sealed class RunningCommand(Process process)
{
    // Set at the first line of stdout, or at its end when there was none.
    private readonly ManualResetEventSlim _firstLineOrEnd = new();
    private volatile bool _sawLine;
    private volatile string? _firstLine;

    public Process Process { get; } = process;

    /// <summary>Waits until the command has written its first line on stdout; false on timeout or when stdout ended without one.</summary>
    public bool WaitForFirstLine(TimeSpan timeout) => _firstLineOrEnd.Wait(timeout) && _sawLine;

    /// <summary>The first line of stdout, once <see cref="WaitForFirstLine"/> said it came.</summary>
    public string? FirstLine => _firstLine;

    internal void Line(string line)
    {
        _firstLine ??= line;
        _sawLine = true;
        _firstLineOrEnd.Set();
    }

    internal void End() => _firstLineOrEnd.Set();
}

/// <summary>Starts a command with a clean stdin and captured output, and times it from start to exit.</summary>
public static class CommandRunner
{
    public static CommandResult Run(IReadOnlyList<string> argv, string workingDirectory, TimeSpan timeout, Action<RunningCommand>? whileRunning = null)
    {
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        for (int i = 1; i < argv.Count; i++)
        {
            psi.ArgumentList.Add(argv[i]);
        }

        var clock = Stopwatch.StartNew();
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {argv[0]}");
        p.StandardInput.Close();
        var running = new RunningCommand(p);
        Task<string> stdout = ReadLinesAsync(running);
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        whileRunning?.Invoke(running);
        bool exited = p.WaitForExit(timeout);
        if (!exited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }

        clock.Stop();
        return new CommandResult(exited ? p.ExitCode : -1, stdout.Result, stderr.Result, clock.Elapsed, !exited);
    }

    // Collects stdout line by line and tells the probe of the first line, or of the end of a stream without
    // one, so that it never waits for a command that wrote nothing.
    private static async Task<string> ReadLinesAsync(RunningCommand running)
    {
        var all = new StringBuilder();
        try
        {
            while (await running.Process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is string line)
            {
                all.Append(line).Append('\n');
                running.Line(line);
            }
        }
        finally
        {
            running.End();
        }

        return all.ToString();
    }
}
