using System.Collections.Generic;
using Moat.Bench.Workloads;

namespace Moat.Bench.Running;

/// <summary>One run of one workload under one runner.</summary>
public readonly record struct Trial(Workload Workload, Runner Runner, int Repetition);

/// <summary>
/// The order of the trials: each workload is measured under every runner, round after round, before the
/// next workload starts. Runners thus see the same machine state (caches, frequency, other load), and a
/// change of that state part way through the suite hits all of them alike.
/// </summary>
public static class Schedule
{
    public static IEnumerable<Trial> Interleave(IReadOnlyList<Workload> workloads, IReadOnlyList<Runner> runners, int repetitions)
    {
        foreach (Workload w in workloads)
        {
            for (int rep = 0; rep < repetitions; rep++)
            {
                foreach (Runner r in runners)
                {
                    yield return new Trial(w, r, rep);
                }
            }
        }
    }
}
