using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Moat.Bench.Reporting;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Cli;

/// <summary>
/// <c>moat bench</c>: runs the workload suite natively, under Moat, and under every <c>--compare</c> runtime,
/// interleaved and repeated, and prints the medians and their ratios to native.
/// </summary>
internal static class BenchCommand
{
    private static readonly string[] s_platforms = ["systrap", "ptrace"];

    public static int Run(string[] args)
    {
        bool quick = false, profile = false, list = false;
        int reps = 0;
        string? report = null;
        List<string>? names = null;
        var compare = new List<Runner>();
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
                switch (a)
                {
                    case "--quick": quick = true; break;
                    case "--profile": profile = true; break;
                    case "--list": list = true; break;
                    case "--reps": reps = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--report": report = Value(); break;
                    case "--workloads": names = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                    case "--compare": compare.Add(Runner.Parse(Value())); break;
                    default:
                        if (a.StartsWith("--compare=", StringComparison.Ordinal))
                        {
                            compare.Add(Runner.Parse(a["--compare=".Length..]));
                            break;
                        }

                        throw new ArgumentException($"unknown option '{a}'");
                }
            }

            if (list)
            {
                foreach (Workload w in WorkloadCatalog.All)
                {
                    Console.WriteLine($"{w.Name,-20} {w.Class,-10} {w.Unit,-7} {w.Description}");
                }

                return 0;
            }

            var runners = new List<Runner> { Runner.Native };
            foreach (string platform in s_platforms)
            {
                runners.Add(new Runner("moat-" + platform, [.. MoatCommand(), "do", "--platform=" + platform, "--"]));
            }

            runners.AddRange(compare);
            var options = new BenchOptions
            {
                Workloads = WorkloadCatalog.Select(names),
                Runners = runners,
                Repetitions = reps > 0 ? reps : quick ? 3 : 5,
                Quick = quick,
            };
            return Execute(options, report, profile);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"moat bench: {e.Message}");
            return 2;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"moat bench: {e.Message}");
            return 1;
        }
    }

    private static int Execute(BenchOptions options, string? report, bool profile)
    {
        var progress = new ProgressDisplay(Console.Error);
        using var session = new BenchSession(options) { Progress = progress.Show };
        BenchResults results = session.Run();
        progress.Done();
        if (profile)
        {
            AddProfiles(session, results, options.Workloads);
        }

        TableWriter.Write(results, Console.Out);
        foreach ((string name, string text) in results.Profiles)
        {
            Console.WriteLine();
            Console.WriteLine($"{name}: where Moat's time goes");
            Console.Write(text);
        }

        if (report != null)
        {
            ReportWriter.Write(results, report, MachineDescription());
            Console.Error.WriteLine($"moat bench: report written to {Path.GetFullPath(report)}");
        }

        return 0;
    }

    /// <summary>Runs each workload once more under Moat with <c>--profile</c> and keeps the top entries.</summary>
    private static void AddProfiles(BenchSession session, BenchResults results, IReadOnlyList<Workload> workloads)
    {
        string file = Path.Combine(Path.GetTempPath(), $"moat-bench-profile-{Environment.ProcessId}.txt");
        foreach (Workload w in workloads.Where(w => w.Kind != MeasureKind.Memory))
        {
            Console.Error.WriteLine($"moat bench: profiling {w.Name}");
            CommandResult r = session.RunOnce(w, [.. MoatCommand(), "do", "--profile", file, "--"]);
            if (r.ExitCode == 0 && File.Exists(file))
            {
                results.Profiles[w.Name] = string.Join('\n', File.ReadLines(file).Take(8)) + "\n";
            }

            File.Delete(file);
        }
    }

    /// <summary>How to start this same moat: its apphost, or <c>dotnet moat.dll</c> when run that way.</summary>
    internal static string[] MoatCommand()
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell where moat is");
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return [self, Path.Combine(AppContext.BaseDirectory, "moat.dll")];
        }

        return [self];
    }

    private static string MachineDescription()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        return $"{Environment.ProcessorCount} × {cpu}, Linux {kernel}";
    }

    /// <summary>Shows what runs and what is left: one rewritten line on a terminal, a line per workload otherwise.</summary>
    private sealed class ProgressDisplay(TextWriter w)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly bool _terminal = !Console.IsErrorRedirected;
        private string? _lastWorkload;

        public void Show(int index, int total, Trial t)
        {
            string left = index == 0 ? "" : $", about {TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds / index * (total - index)):mm\\:ss} left";
            if (_terminal)
            {
                w.Write($"\r\x1b[K[{index + 1}/{total}] {t.Workload.Name} under {t.Runner.Name}, run {t.Repetition + 1}{left}");
            }
            else if (t.Workload.Name != _lastWorkload)
            {
                w.WriteLine($"moat bench: [{index + 1}/{total}] {t.Workload.Name}{left}");
            }

            _lastWorkload = t.Workload.Name;
        }

        public void Done()
        {
            if (_terminal)
            {
                w.Write("\r\x1b[K");
            }

            w.WriteLine($"moat bench: done in {_clock.Elapsed:mm\\:ss}");
        }
    }
}
