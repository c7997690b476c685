using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Moat.Bench.Reporting;
using Moat.Cli.CommandLine;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Cli;

/// <summary>
/// <c>moat bench</c>: runs the workload suite natively, under Moat, and under every <c>--compare</c> runtime,
/// interleaved and repeated, and prints the medians and their ratios to native.
/// </summary>
internal static class BenchCommand
{
    private const string NoSystrap = "the systrap platform needs FSGSBASE (Linux 5.9+ on a CPU with it): measuring ptrace only";

    public static readonly CommandSpec Spec = new()
    {
        Name = "bench",
        Summary = "Runs the workload suite natively, under Moat (systrap where the host can run it, and ptrace) and under every --compare runtime, interleaved, and prints medians and ratios.",
        MaxArguments = 0,
        Options =
        [
            OptionSpec.Switch("quick", "fewer repetitions and smaller workloads"),
            OptionSpec.With("reps", "N", "repetitions of each workload (default 5, 3 with --quick)"),
            OptionSpec.With("load", "N", "run N CPU-bound host threads beside every run, native and sandboxed (default 0)"),
            OptionSpec.With("workloads", "A,B,...", "only these workloads (see --list)"),
            OptionSpec.With("compare", "NAME='PREFIX'", "also run each workload under PREFIX (repeatable), e.g. runsc='runsc do'"),
            OptionSpec.With("report", "DIR", "write a report with charts to DIR"),
            OptionSpec.Switch("profile", "add where Moat's time goes, per workload"),
            OptionSpec.Switch("list", "list the workloads and exit"),
        ],
    };

    public static int Run(string[] args)
    {
        ParsedArgs? p = CommandLineResult.Parse(Spec, args, out int status);
        if (p == null)
        {
            return status;
        }

        try
        {
            if (p.Has("list"))
            {
                foreach (Workload w in WorkloadCatalog.All)
                {
                    Console.WriteLine($"{w.Name,-20} {w.Class,-10} {w.Unit,-7} {w.Description}");
                }

                return 0;
            }

            BenchOptions options = Options(p);
            if (!Moat.Platform.Systrap.SystrapPlatform.IsSupported)
            {
                Console.Error.WriteLine($"moat bench: {NoSystrap}");
            }

            return Execute(options, p.Get("report"), p.Has("profile"));
        }
        catch (ArgumentException e)
        {
            return CommandLineResult.Fail(Spec, e.Message);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"moat bench: {e.Message}");
            return 1;
        }
    }

    /// <summary>What to run, from the parsed flags; a bad value is an <see cref="ArgumentException"/> with its message.</summary>
    internal static BenchOptions Options(ParsedArgs p)
    {
        bool quick = p.Has("quick");
        List<string>? names = p.Get("workloads") is string wl ? [.. wl.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : null;
        int reps = 0;
        if (p.Get("reps") is string r && (!int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out reps) || reps < 1))
        {
            throw new ArgumentException($"--reps wants a positive number, not '{r}'");
        }

        int load = 0;
        if (p.Get("load") is string l && !int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out load))
        {
            throw new ArgumentException($"--load wants a number of threads, not '{l}'");
        }

        var runners = new List<Runner> { Runner.Native };
        foreach (string platform in Platforms())
        {
            runners.Add(new Runner("moat-" + platform, [.. MoatCommand(), "do", "--platform=" + platform], IsMoat: true));
        }

        foreach (string c in p.GetAll("compare"))
        {
            runners.Add(Runner.Parse(c));
        }

        return new BenchOptions
        {
            Workloads = WorkloadCatalog.Select(names),
            Runners = runners,
            Repetitions = reps > 0 ? reps : quick ? 3 : 5,
            Quick = quick,
            Load = load,
        };
    }

    // systrap only where the host can run it: moat do would refuse every run of it (no FSGSBASE).
    private static string[] Platforms() => Moat.Platform.Systrap.SystrapPlatform.IsSupported ? ["systrap", "ptrace"] : ["ptrace"];

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
        var profiled = new Runner("moat-profile", [.. MoatCommand(), "do", "--profile", file], IsMoat: true);
        foreach (Workload w in workloads.Where(w => w.Kind is not (MeasureKind.Memory or MeasureKind.HostClient) && session.NotRunReason(w) == null))
        {
            Console.Error.WriteLine($"moat bench: profiling {w.Name}");
            CommandResult r = session.RunOnce(w, profiled);
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
