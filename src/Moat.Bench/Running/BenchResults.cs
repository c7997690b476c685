using System.Collections.Generic;
using Moat.Bench.Workloads;

namespace Moat.Bench.Running;

/// <summary>Every value measured in one <c>moat bench</c> run, and the first failure of each pair.</summary>
public sealed class BenchResults
{
    private readonly Dictionary<(string Workload, string Runner), List<double>> _values = new();
    private readonly Dictionary<(string Workload, string Runner), string> _failures = new();
    private readonly Dictionary<string, string> _notRun = new();

    public BenchResults(IReadOnlyList<Workload> workloads, IReadOnlyList<Runner> runners)
    {
        Workloads = workloads;
        Runners = runners;
    }

    public IReadOnlyList<Workload> Workloads { get; }

    /// <summary>The runners, native first.</summary>
    public IReadOnlyList<Runner> Runners { get; }

    /// <summary>CPU-bound host threads that ran beside every trial (<c>--load</c>); 0 for an idle host.</summary>
    public int Load { get; init; }

    /// <summary>One line that says the load the values were measured under.</summary>
    public string LoadDescription => Load == 0
        ? "load: none (no CPU-bound threads beside the runs)"
        : $"load: {Load} CPU-bound host thread{(Load == 1 ? "" : "s")} beside every run (--load {Load})";

    /// <summary>Per workload, the top entries of Moat's own profile, when asked for.</summary>
    public Dictionary<string, string> Profiles { get; } = new();

    public void Add(Workload w, Runner r, double value)
    {
        if (!_values.TryGetValue((w.Name, r.Name), out List<double>? list))
        {
            _values[(w.Name, r.Name)] = list = [];
        }

        list.Add(value);
    }

    public void Fail(Workload w, Runner r, string why) => _failures.TryAdd((w.Name, r.Name), why);

    /// <summary>Marks a workload that this host cannot run under any runner (it needs root, a device ...).</summary>
    public void NotRun(Workload w, string why) => _notRun.TryAdd(w.Name, why);

    /// <summary>Why the workload was not run at all; null when it was.</summary>
    public string? NotRunReason(Workload w) => _notRun.GetValueOrDefault(w.Name);

    /// <summary>What a runner's cell shows without a value: "not run" or "failed".</summary>
    public string NoValue(Workload w) => _notRun.ContainsKey(w.Name) ? "not run" : "failed";

    public IReadOnlyList<double> Values(Workload w, Runner r) =>
        _values.TryGetValue((w.Name, r.Name), out List<double>? list) ? list : [];

    public string? Failure(Workload w, Runner r) => _failures.GetValueOrDefault((w.Name, r.Name));

    public Summary Summary(Workload w, Runner r) => Statistics.Summarize(Values(w, r));

    /// <summary>The runner's median over native's; NaN when either has no value.</summary>
    public double Ratio(Workload w, Runner r) => Statistics.Ratio(Summary(w, r), Summary(w, Runners[0]));
}
