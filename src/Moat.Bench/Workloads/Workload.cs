using System.Collections.Generic;

namespace Moat.Bench.Workloads;

/// <summary>How a workload's value is obtained.</summary>
public enum MeasureKind
{
    /// <summary>The program prints its own value (nanoseconds per operation) as its only line.</summary>
    Reported,

    /// <summary>The runner times the whole command, start to exit, in milliseconds.</summary>
    WallClock,

    /// <summary>
    /// The runner sums the proportional set size of every process the command starts, in MiB, 1.5 s after the
    /// program's first line on stdout (it writes one when it goes idle).
    /// </summary>
    Memory,
}

/// <summary>
/// One thing to measure: a command line whose words may name the built workload programs (<c>{bin:NAME}</c>)
/// and the prepared files (<c>{data}</c>: a 64 MiB host file, <c>{hostfile}</c>: a small host file).
/// </summary>
/// <param name="Name">Short, unique, used on the command line (<c>--workloads</c>) and in reports.</param>
/// <param name="Class">The group it belongs to in reports (syscalls, memory, files, processes, ipc, programs).</param>
/// <param name="Description">What one operation is.</param>
/// <param name="Unit">The unit of the value: ns/op, ns/MiB, ms, MiB.</param>
/// <param name="Args">The full-size command.</param>
/// <param name="QuickArgs">The command for <c>--quick</c>: same work, fewer repetitions.</param>
public sealed record Workload(
    string Name,
    string Class,
    string Description,
    string Unit,
    MeasureKind Kind,
    IReadOnlyList<string> Args,
    IReadOnlyList<string> QuickArgs)
{
    /// <summary>True when a larger value is better (never, today: every unit is a cost).</summary>
    public bool HigherIsBetter => false;
}
