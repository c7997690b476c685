using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;

namespace Moat.Bench.Running;

/// <summary>
/// Builds the workload programs from the C sources embedded in this assembly with <c>gcc -static</c>, so that
/// the same binary runs natively and in every sandbox (no dynamic loader or host libraries involved).
/// </summary>
public static class WorkloadBuilder
{
    private const string Prefix = "workloads/";

    /// <summary>The names of the programs, one per embedded .c file.</summary>
    public static IReadOnlyList<string> Programs
    {
        get
        {
            var names = new List<string>();
            foreach (string res in typeof(WorkloadBuilder).Assembly.GetManifestResourceNames())
            {
                if (res.StartsWith(Prefix, StringComparison.Ordinal) && res.EndsWith(".c", StringComparison.Ordinal))
                {
                    names.Add(res[Prefix.Length..^2]);
                }
            }

            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    /// <summary>Writes the sources to <paramref name="dir"/> and compiles each; returns program name → path.</summary>
    public static Dictionary<string, string> Build(string dir)
    {
        Assembly asm = typeof(WorkloadBuilder).Assembly;
        foreach (string res in asm.GetManifestResourceNames())
        {
            if (!res.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using Stream s = asm.GetManifestResourceStream(res)!;
            using FileStream f = File.Create(Path.Combine(dir, res[Prefix.Length..]));
            s.CopyTo(f);
        }

        var built = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in Programs)
        {
            string output = Path.Combine(dir, name);
            CommandResult r = CommandRunner.Run(
                ["gcc", "-static", "-O2", "-pthread", "-o", output, Path.Combine(dir, name + ".c")], dir, TimeSpan.FromMinutes(2));
            if (r.ExitCode != 0)
            {
                throw new InvalidOperationException($"gcc failed on {name}.c (is gcc with static libc installed?):\n{r.Stderr}");
            }

            built[name] = output;
        }

        return built;
    }
}
