using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Moat.Bench.Workloads;

namespace Moat.Bench.Running;

/// <summary>What to run and how often.</summary>
public sealed class BenchOptions
{
    public required IReadOnlyList<Workload> Workloads { get; init; }

    /// <summary>The runners; the first must be native (ratios are taken against it).</summary>
    public required IReadOnlyList<Runner> Runners { get; init; }

    public int Repetitions { get; init; } = 5;

    public bool Quick { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>CPU-bound host threads that run beside every trial (<c>--load</c>); 0 for an idle host.</summary>
    public int Load { get; init; }
}

/// <summary>Builds the workloads, prepares their files, runs every trial in interleaved order, collects values.</summary>
public sealed class BenchSession : IDisposable
{
    private const int DataMiB = 64;
    private readonly BenchOptions _options;
    private readonly string _dir;
    private Dictionary<string, string> _programs = new();

    // For the workloads with a peer on the host; null when none is chosen or this host cannot make it.
    private BenchNetwork? _network;
    private string? _networkError;

    public BenchSession(BenchOptions options)
    {
        if (options.Runners.Count == 0 || !options.Runners[0].IsNative)
        {
            throw new ArgumentException("the first runner must be native");
        }

        _options = options;

        // Not under /tmp: inside a sandbox /tmp is its own tmpfs, and the workloads must see these files.
        _dir = Directory.CreateTempSubdirectory("moat-bench-").FullName;
        if (_dir.StartsWith("/tmp/", StringComparison.Ordinal))
        {
            Directory.Delete(_dir);
            _dir = Path.Combine("/var/tmp", "moat-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(_dir);
        }
    }

    /// <summary>Called before each trial with its index (from 0) and the total count.</summary>
    public Action<int, int, Trial>? Progress { get; init; }

    public BenchResults Run()
    {
        _programs = WorkloadBuilder.Build(_dir);
        PrepareFiles();
        var results = new BenchResults(_options.Workloads, _options.Runners) { Load = _options.Load };
        PrepareNetwork(results);

        // Started after the build, so that only the trials share the CPUs with it.
        using HostLoad load = HostLoad.Start(_options.Load);
        var trials = new List<Trial>(Schedule.Interleave(_options.Workloads, _options.Runners, _options.Repetitions));
        for (int i = 0; i < trials.Count; i++)
        {
            Trial t = trials[i];
            Progress?.Invoke(i, trials.Count, t);
            if (results.Failure(t.Workload, t.Runner) != null || results.NotRunReason(t.Workload) != null)
            {
                continue; // A workload that failed once under a runner is not retried there.
            }

            RunTrial(t, results);
        }

        return results;
    }

    /// <summary>The full command line of a workload under a runner.</summary>
    public IReadOnlyList<string> CommandLine(Workload w, Runner r)
    {
        var args = new List<string>();
        foreach (string a in _options.Quick ? w.QuickArgs : w.Args)
        {
            args.Add(Expand(a));
        }

        return TrialCommand.Build(w, r, args, _network?.NativePrefix ?? []);
    }

    /// <summary>Runs one workload once under a runner, for a profile; returns what it wrote on stdout.</summary>
    public CommandResult RunOnce(Workload w, Runner r) =>
        CommandRunner.Run(CommandLine(w, r), _dir, _options.Timeout);

    /// <summary>Why the workload could not run on this host at all; null when it can.</summary>
    public string? NotRunReason(Workload w) => w.Network == WorkloadNetwork.Outside && _network == null ? _networkError : null;

    public void Dispose()
    {
        _network?.Dispose();
        foreach (string f in new[] { "moat-bench-small", "moat-bench-rw", "moat-bench-seq" })
        {
            File.Delete(Path.Combine("/dev/shm", f));
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // The namespace, veth and server of the Outside workloads, when any is chosen; without them they are not run.
    private void PrepareNetwork(BenchResults results)
    {
        if (!_options.Workloads.Any(w => w.Network == WorkloadNetwork.Outside))
        {
            return;
        }

        _network = BenchNetwork.Create(out _networkError);
        foreach (Workload w in _options.Workloads)
        {
            if (NotRunReason(w) is string why)
            {
                results.NotRun(w, why);
            }
        }
    }

    private void RunTrial(Trial t, BenchResults results)
    {
        Workload w = t.Workload;
        IReadOnlyList<string> argv = CommandLine(w, t.Runner);
        double memory = double.NaN;
        Action<RunningCommand>? probe = w.Kind != MeasureKind.Memory ? null : c =>
        {
            // The program says "ready" when it goes to sleep (after its burst, if any); the wait after that lets
            // the Sentry's idle reclaim (two 500 ms periods) run before the reading.
            if (c.WaitForFirstLine(_options.Timeout))
            {
                Thread.Sleep(TimeSpan.FromSeconds(1.5));
                memory = MemoryProbe.TreePssMiB(c.Process.Id);
            }
        };

        double hosted = double.NaN;
        string? hostError = null;
        if (w.Kind == MeasureKind.HostClient)
        {
            probe = c => hosted = HostClientProbe.Run(c, _options.Quick ? w.QuickHostCommand : w.HostCommand, Expand, _dir, _options.Timeout, out hostError);
        }

        CommandResult r = CommandRunner.Run(argv, _dir, _options.Timeout, probe);
        if (hostError != null)
        {
            results.Fail(w, t.Runner, hostError);
            return;
        }

        if (r.TimedOut || r.ExitCode != 0)
        {
            string why = r.TimedOut ? "timed out" : $"exit status {r.ExitCode}";
            string detail = FirstLine(r.Stderr);
            results.Fail(w, t.Runner, detail.Length > 0 ? $"{why}: {detail}" : why);
            return;
        }

        switch (w.Kind)
        {
            case MeasureKind.Reported:
                if (double.TryParse(LastLine(r.Stdout), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0)
                {
                    results.Add(w, t.Runner, v);
                }
                else
                {
                    results.Fail(w, t.Runner, $"no value in its output: '{FirstLine(r.Stdout)}'");
                }

                break;
            case MeasureKind.WallClock:
                results.Add(w, t.Runner, r.Elapsed.TotalMilliseconds);
                break;
            case MeasureKind.Memory when double.IsNaN(memory):
                results.Fail(w, t.Runner, "it never said it was ready");
                break;
            case MeasureKind.Memory:
                results.Add(w, t.Runner, memory);
                break;
            case MeasureKind.HostClient:
                results.Add(w, t.Runner, hosted);
                break;
        }
    }

    private void PrepareFiles()
    {
        var block = new byte[1 << 20];
        new Random(1).NextBytes(block);
        using (FileStream f = File.Create(Path.Combine(_dir, "data")))
        {
            for (int i = 0; i < DataMiB; i++)
            {
                f.Write(block);
            }
        }

        File.WriteAllText(Path.Combine(_dir, "small"), "moat bench\n");
    }

    private string Expand(string word)
    {
        if (word.StartsWith("{bin:", StringComparison.Ordinal) && word.EndsWith('}'))
        {
            return _programs[word[5..^1]];
        }

        return word switch
        {
            "{data}" => Path.Combine(_dir, "data"),
            "{hostfile}" => Path.Combine(_dir, "small"),
            "{server}" => _network?.HostAddress ?? word,
            "{port}" => _network?.Port.ToString(CultureInfo.InvariantCulture) ?? word,
            _ => word,
        };
    }

    private static string FirstLine(string s)
    {
        s = s.Trim();
        int nl = s.IndexOf('\n', StringComparison.Ordinal);
        return nl < 0 ? s : s[..nl];
    }

    private static string LastLine(string s)
    {
        s = s.Trim();
        int nl = s.LastIndexOf('\n');
        return nl < 0 ? s : s[(nl + 1)..];
    }
}
