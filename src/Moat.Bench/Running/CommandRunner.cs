using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;

namespace Moat.Bench.Running;

/// <summary>What one command did.</summary>
public readonly record struct CommandResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, bool TimedOut);

/// <summary>Starts a command with a clean stdin and captured output, and times it from start to exit.</summary>
public static class CommandRunner
{
    public static CommandResult Run(IReadOnlyList<string> argv, string workingDirectory, TimeSpan timeout, Action<Process>? whileRunning = null)
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
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        whileRunning?.Invoke(p);
        bool exited = p.WaitForExit(timeout);
        if (!exited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }

        clock.Stop();
        return new CommandResult(exited ? p.ExitCode : -1, stdout.Result, stderr.Result, clock.Elapsed, !exited);
    }
}
