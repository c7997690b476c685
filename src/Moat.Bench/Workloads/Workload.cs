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

    /// <summary>
    /// The program is a server: when ready it prints its address and port as its first line; the runner then runs
    /// the workload's <see cref="Workload.HostCommand"/> on the host (<c>{inside}</c>, <c>{inside-port}</c> from that line),
    /// whose last line is the value and which ends the server.
    /// </summary>
    HostClient,
}

/// <summary>Where a workload's network peer is.</summary>
public enum WorkloadNetwork
{
    /// <summary>No peer outside: whatever it talks to runs beside it (the sandbox's own loopback).</summary>
    Local,

    /// <summary>
    /// It talks to a peer on the host across a link (<c>{server}</c>, <c>{port}</c>: the bench's download server;
    /// or a <see cref="Workload.HostCommand"/> reaches it at the address it printed):
    /// natively from a network namespace of its own joined to the host by a veth pair, under Moat through the
    /// network its <see cref="Workload.MoatOptions"/> give it. Needs root, ip(8) and /dev/net/tun, else not run.
    /// </summary>
    Outside,
}

/// <summary>
/// One thing to measure: a command line whose words may name the built workload programs (<c>{bin:NAME}</c>)
/// and the prepared files (<c>{data}</c>: a 64 MiB host file, <c>{hostfile}</c>: a small host file); an
/// <see cref="WorkloadNetwork.Outside"/> one also <c>{server}</c> and <c>{port}</c>, the host's download server.
/// </summary>
/// <remarks>
/// <see cref="MoatOptions"/> go to <c>moat do</c> before the command (e.g. <c>--network=sandbox</c>) under the Moat
/// runners only: a <c>--compare</c> runtime runs the command with its prefix as given.
/// </remarks>
/// <param name="Name">Short, unique, used on the command line (<c>--workloads</c>) and in reports.</param>
/// <param name="Class">The group it belongs to in reports (syscalls, memory, files, processes, ipc, network, programs).</param>
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

    /// <summary>For <see cref="MeasureKind.HostClient"/>: the client run on the host against the workload.</summary>
    public IReadOnlyList<string> HostCommand { get; init; } = [];

    /// <summary>For <see cref="MeasureKind.HostClient"/> under <c>--quick</c>.</summary>
    public IReadOnlyList<string> QuickHostCommand { get; init; } = [];

    /// <summary>Whether it talks to a peer on the host (<see cref="WorkloadNetwork.Outside"/>).</summary>
    public WorkloadNetwork Network { get; init; }

    /// <summary>True when a larger value is better (never, today: every unit is a cost).</summary>
    public bool HigherIsBetter => false;
}
