using System.Collections.Generic;

namespace Moat.Sentry;

/// <summary>What <c>moat do</c> asks the Sentry to run.</summary>
public sealed class SandboxOptions
{
    /// <summary>The program and its arguments; argv[0] is looked up on PATH when it has no slash.</summary>
    public required IReadOnlyList<string> Argv { get; init; }

    /// <summary>The environment, as KEY=VALUE strings.</summary>
    public required IReadOnlyList<string> Environment { get; init; }

    /// <summary>The working directory inside the sandbox.</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>Log every syscall (to <see cref="StraceOutput"/>, else the log).</summary>
    public bool Strace { get; init; }

    /// <summary>With <see cref="Strace"/>: only these syscall numbers (--strace-syscalls); null: all.</summary>
    public IReadOnlyList<int>? StraceSyscalls { get; init; }

    /// <summary>Where --strace writes; null: the Sentry's log.</summary>
    public System.IO.TextWriter? StraceOutput { get; init; }

    /// <summary>
    /// Where the one-line error of a failed start goes (moat's stderr: the program never ran); null: the
    /// Sentry's log. Every other notice of the Sentry goes to its log.
    /// </summary>
    public System.IO.TextWriter? Errors { get; init; }

    /// <summary>When set, a per-syscall profile is written to this file when the sandbox ends.</summary>
    public string? ProfilePath { get; init; }

    /// <summary>
    /// --metrics: called once at exit with the sandbox's counters in Prometheus's text format; null counts
    /// nothing. <see cref="MetricsId"/> labels them.
    /// </summary>
    public System.Action<string>? WriteMetrics { get; init; }

    /// <summary>The sandbox's id in its metrics' labels.</summary>
    public string MetricsId { get; init; } = string.Empty;

    /// <summary>The most tasks the sandbox may hold at once (0: no limit): fork and clone beyond it fail with EAGAIN.</summary>
    public int MaxTasks { get; init; }

    /// <summary>A CPU quota and period in microseconds (an OCI spec's), shown in the sandbox's cgroup as cpu.max; not enforced.</summary>
    public (long Quota, ulong Period) CpuQuota { get; init; }

    /// <summary>The memory+swap limit (OCI linux.resources.memory.swap): 0 unset, -1 unlimited. The sandbox never swaps: shown in cgroupfs only.</summary>
    public long MemorySwapLimit { get; init; }

    /// <summary>A cpu.weight (1..10000) for the sandbox's cgroup, 0 for the default (100); not enforced.</summary>
    public ulong CpuWeight { get; init; }

    /// <summary>
    /// Whether the sandbox's init ignores, as a PID namespace's init does, every signal from inside the sandbox
    /// whose action is the default one (kill -9 1 does nothing); signals from outside still reach it.
    /// </summary>
    public bool ProtectInit { get; init; }

    /// <summary>The most bytes of memory the sandbox may hold (0: no limit); beyond it a faulting process is killed.</summary>
    public ulong MemoryLimit { get; init; }

    /// <summary>The platform that runs application code: "ptrace" or "systrap".</summary>
    public string Platform { get; init; } = DefaultPlatform;

    /// <summary>
    /// MOAT_PLATFORM if set, else systrap where the host supports it (FSGSBASE), else ptrace.
    /// </summary>
    public static string DefaultPlatform =>
        System.Environment.GetEnvironmentVariable("MOAT_PLATFORM") is { Length: > 0 } p ? p
        : Moat.Platform.Systrap.SystrapPlatform.IsSupported ? "systrap" : "ptrace";

    /// <summary>
    /// Host directories bound into the sandbox (volumes). The gofer serving the sandbox must serve
    /// <c>BindMounts[i].HostPath</c> as its root i + 1 (see <c>GoferProcess.Start</c>).
    /// </summary>
    public IReadOnlyList<BindMount> BindMounts { get; init; } = [];

    /// <summary>Which network internet sockets reach (--network).</summary>
    public NetworkMode Network { get; init; } = NetworkMode.None;

    /// <summary>With <see cref="NetworkMode.Sandbox"/>: the TAP device and the addresses of the sandbox's interface.</summary>
    public SandboxLink? NetworkLink { get; init; }

    /// <summary>
    /// --net-raw: raw IP and AF_PACKET sockets on the Sentry's netstack, for tasks with CAP_NET_RAW (runsc's
    /// --net-raw). Without it they answer EPERM.
    /// </summary>
    public bool NetRaw { get; init; }

    /// <summary>The host name inside the sandbox.</summary>
    public string Hostname { get; init; } = "moat";

    /// <summary>Who init runs as; null: the host's uid and gid.</summary>
    public SandboxIdentity? Identity { get; init; }

    /// <summary>Resource limits set on init before it runs.</summary>
    public IReadOnlyList<SandboxRlimit> Rlimits { get; init; } = [];

    /// <summary>Start init with no_new_privs set.</summary>
    public bool NoNewPrivileges { get; init; }

    /// <summary>A seccomp profile installed on init before it runs (OCI linux.seccomp); null: none.</summary>
    public SeccompPolicy? Seccomp { get; init; }

    /// <summary>fd 0 is a host terminal for init (OCI process.terminal): see <see cref="SandboxProcessSpec.Terminal"/>.</summary>
    public bool Terminal { get; init; }

    /// <summary>Extra tmpfs file systems (mode 01777 unless their options say), beside /tmp and /dev/shm.</summary>
    public IReadOnlyList<TmpfsMount> TmpfsMounts { get; init; } = [];

    /// <summary>
    /// Whether /tmp and /dev/shm are the Sentry's own tmpfs (as under <c>moat do</c>). An OCI container has
    /// only the tmpfs mounts its config names (<see cref="TmpfsMounts"/>); its /tmp is the root's.
    /// </summary>
    public bool DefaultTmpfs { get; init; } = true;

    /// <summary>init's file mode creation mask (OCI process.user.umask); null: 022.</summary>
    public int? Umask { get; init; }

    /// <summary>The root is read-only: changes to it fail with EROFS (tmpfs mounts stay writable).</summary>
    public bool RootReadOnly { get; init; }

    /// <summary>
    /// OCI linux.maskedPaths and linux.readonlyPaths: mounted over in init's mount namespace before it runs, as
    /// runc's init mounts them (<c>Vfs/Mounts/ProtectedPaths</c>).
    /// </summary>
    public IReadOnlyList<string> MaskedPaths { get; init; } = [];

    public IReadOnlyList<string> ReadonlyPaths { get; init; } = [];

    /// <summary>
    /// Called once init is loaded and before it runs (an OCI create waits here for start). Returns null to
    /// run init, or an exit status to end the sandbox without running it. The control stays valid while
    /// the sandbox runs: signals and new processes go through it.
    /// </summary>
    public System.Func<SandboxControl, int?>? BeforeStart { get; init; }

    /// <summary>Called once init runs (a task of the sandbox, counted and visible), after <see cref="BeforeStart"/>.</summary>
    public System.Action? AfterStart { get; init; }

    /// <summary>
    /// Host fds for init's fds 0-2 (which init then owns); null: this process's own 0-2. <c>moat do</c> on a
    /// terminal in this process puts its host pty's replica here (with <see cref="Terminal"/>).
    /// </summary>
    public IReadOnlyList<Moat.Host.SafeFdHandle?>? Stdio { get; init; }

    /// <summary>
    /// Called with a one-line summary when a Sentry thread fails with an unhandled exception, after the debug log
    /// has the details (<see cref="SentryCrash"/>); the Sentry then exits with <see cref="SentryCrash.ExitStatus"/>
    /// unless this ends the process itself. Null: the jailed Sentry, whose outer moat reports the status.
    /// </summary>
    public System.Action<string>? SentryFailed { get; init; }
}

/// <summary>The networks of <c>moat do --network</c>.</summary>
public enum NetworkMode
{
    /// <summary>Only a loopback interface, served by the Sentry.</summary>
    None,

    /// <summary>Internet sockets are host sockets the Sentry operates for the application.</summary>
    Host,

    /// <summary>
    /// The Sentry's own TCP/IP stack on a TAP device that moat set up on the host, or on an interface taken over
    /// from a pod's network namespace (<see cref="SandboxLink"/>).
    /// </summary>
    Sandbox,
}

/// <summary>
/// The sandbox's Ethernet interface of <c>--network=sandbox</c>: an open TAP device whose host side moat
/// configured (the gateway's address), or with <see cref="PacketSocket"/> an AF_PACKET socket bound to an
/// interface taken over from a pod's network namespace; and the address, prefix length and MAC the Sentry's stack takes.
/// </summary>
public sealed record SandboxLink(Moat.Host.SafeFdHandle Tap, string Name, string Address, int Prefix, string Gateway, ulong Mac)
{
    /// <summary>
    /// <see cref="Tap"/> is an AF_PACKET socket bound to a pod's interface (oci-boot took it over), not a TAP device;
    /// the interface keeps its name (<see cref="Name"/>) and <see cref="Mtu"/> in the sandbox.
    /// </summary>
    public bool PacketSocket { get; init; }

    /// <summary>The interface's MTU.</summary>
    public int Mtu { get; init; } = 1500;
}
