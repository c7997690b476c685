using System;
using System.Collections.Generic;
using System.IO;

namespace Moat.Conformance.Harness;

/// <summary>Finds the moat executable built beside the tests and runs commands under <c>moat do</c>.</summary>
public static class MoatCli
{
    private static readonly Lazy<(string File, string[] Prefix)> s_command = new(Locate);

    public static RunResult Do(IEnumerable<string> command, string workingDirectory, IDictionary<string, string>? env = null, params string[] options)
    {
        (string file, string[] prefix) = s_command.Value;
        var args = new List<string>(prefix) { "do" };
        args.AddRange(options);
        args.Add("--");
        args.AddRange(command);
        return ProcessRunner.Run(file, args, workingDirectory, env);
    }

    /// <summary>Starts <c>moat do -- COMMAND</c> with stdin, stdout and stderr redirected, for tests that talk to it while it runs.</summary>
    public static System.Diagnostics.Process Start(string dir, params string[] command) => StartWithOptions(dir, [], command);

    /// <summary>As <see cref="Start"/>, with <c>moat do</c> options before the command.</summary>
    public static System.Diagnostics.Process StartWithOptions(string dir, string[] options, params string[] command)
    {
        (string file, string[] prefix) = s_command.Value;
        var psi = new System.Diagnostics.ProcessStartInfo(file)
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in prefix)
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("do");
        foreach (string a in options)
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("--");
        foreach (string a in command)
        {
            psi.ArgumentList.Add(a);
        }

        System.Diagnostics.Process p = System.Diagnostics.Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>The command line that starts moat: the apphost if it was copied, else dotnet moat.dll.</summary>
    public static (string File, string[] Prefix) Command => s_command.Value;

    private static (string, string[]) Locate()
    {
        // ./test.sh points this at the published (Native AOT) binary, so the suite tests what users run.
        string? published = Environment.GetEnvironmentVariable("MOAT_BINARY");
        if (!string.IsNullOrEmpty(published))
        {
            return File.Exists(published) ? (published, []) : throw new FileNotFoundException("MOAT_BINARY does not exist", published);
        }

        string dir = AppContext.BaseDirectory;
        string apphost = Path.Combine(dir, "moat");
        if (File.Exists(apphost))
        {
            return (apphost, []);
        }

        string dll = Path.Combine(dir, "moat.dll");
        if (File.Exists(dll))
        {
            return ("dotnet", [dll]);
        }

        throw new FileNotFoundException("moat is not built next to the tests", apphost);
    }
}
