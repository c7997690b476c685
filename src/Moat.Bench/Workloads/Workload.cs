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

/// <summary>Where a workload's network peer is.</summary>
public enum WorkloadNetwork
{
    /// <summary>No peer outside: whatever it talks to runs beside it (the sandbox's own loopback).</summary>
    Local,

    /// <summary>
    /// It talks to a peer on the host across a link (<c>{server}</c>, <c>{port}</c>: the bench's download server):
    /// natively from a network namespace of its own joined to the host by a veth pair, under Moat through the
    /// network its <see cref="Workload.MoatOptions"/> give it. Needs root, ip(8) and /dev/net/tun, else not run.
    /// </summary>
    Outside,
}

/// <summary>
/// One thing to measure: a command line whose words may name the built workload programs (<c>{bin:NAME}</c>)
/// and the prepared files (<c>{data}</c>: a 64 MiB host file, <c>{hostfile}</c>: a small host file).
/// </summary>
/// <remarks>
/// <see cref="MoatOptions"/> go to <c>moat do</c> before the command (e.g. <c>--network=sandbox</c>) under the Moat
/// runners only: a <c>--compare</c> runtime runs the command with its prefix as given.
/// </remarks>
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
    /// <summary>Extra options of <c>moat do</c> this workload needs (none for most).</summary>
    public IReadOnlyList<string> MoatOptions { get; init; } = [];

    /// <summary>Whether it talks to a peer on the host (<see cref="WorkloadNetwork.Outside"/>).</summary>
    public WorkloadNetwork Network { get; init; }

    /// <summary>True when a larger value is better (never, today: every unit is a cost).</summary>
    public bool HigherIsBetter => false;
}
