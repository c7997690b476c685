using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;

namespace Moat.Conformance.Harness;

/// <summary>The outcome of one run: exact stdout bytes, stderr text and a shell-style status.</summary>
public sealed record RunResult(byte[] Stdout, string Stderr, int ExitCode)
{
    public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);
}

/// <summary>Runs host processes for the harness (the tests are not the Sentry: Process is fine here).</summary>
public static class ProcessRunner
{
    public static RunResult Run(string file, IEnumerable<string> args, string workingDirectory, IDictionary<string, string>? env = null, int timeoutMs = 120_000)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (env != null)
        {
            foreach (var kv in env)
            {
                psi.Environment[kv.Key] = kv.Value;
            }
        }

        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = new MemoryStream();
        Task copy = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new System.TimeoutException($"{file} did not finish in {timeoutMs} ms");
        }

        copy.Wait();
        return new RunResult(stdout.ToArray(), stderr.Result, p.ExitCode);
    }
}
