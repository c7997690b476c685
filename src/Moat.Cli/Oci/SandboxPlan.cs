using System.Collections.Generic;
using Moat.Sentry;

namespace Moat.Cli.Oci;

/// <summary>A bind mount of config.json: host <see cref="Source"/> seen at <see cref="Destination"/> in the sandbox.</summary>
internal readonly record struct BindMount(string Source, string Destination, bool ReadOnly, IReadOnlyList<string> Options);

/// <summary>A container's config.json translated into what the Sentry runs: root, init, mounts, name.</summary>
internal sealed class SandboxPlan
{
    /// <summary>The host directory that is the container's root (root.path, resolved against the bundle).</summary>
    public required string Rootfs { get; init; }

    public required bool RootReadonly { get; init; }

    public required SandboxProcessSpec Process { get; init; }

    public required string Hostname { get; init; }

    /// <summary>linux.maskedPaths and linux.readonlyPaths, applied by the Sentry as runc's init applies them.</summary>
    public IReadOnlyList<string> MaskedPaths { get; init; } = [];

    public IReadOnlyList<string> ReadonlyPaths { get; init; } = [];

    /// <summary>tmpfs mounts of config.json, with their options (size=, mode=, nosuid, ...).</summary>
    public List<TmpfsMount> Tmpfs { get; } = [];

    /// <summary>
    /// Bind mounts the Sentry must serve from the host (the gofer opens them). Empty until the Sentry has
    /// volumes: until then the planner refuses binds that the root does not already cover.
    /// </summary>
    public List<BindMount> Binds { get; } = [];

    /// <summary>linux.resources.memory.limit in bytes (0: none): the Sentry's memory cap.</summary>
    public ulong MemoryLimit { get; set; }

    /// <summary>linux.resources.memory.swap (memory+swap), bytes; 0 unset, -1 unlimited (cgroupfs's memory.swap.max).</summary>
    public long MemorySwap { get; set; }

    /// <summary>linux.resources.pids.limit (0: none): the most tasks the sandbox holds at once.</summary>
    public int MaxTasks { get; set; }

    /// <summary>linux.resources.cpu.cpus as a mask of host CPUs (bit i is CPU i), 0 for no cpuset.</summary>
    public ulong CpuSet { get; set; }

    /// <summary>linux.resources.cpu quota and period (microseconds), shown in the sandbox's cpu.max; quota 0 for none.</summary>
    public (long Quota, ulong Period) CpuQuota { get; set; }

    /// <summary>linux.resources.cpu.shares as cgroup v2's cpu.weight (runc's conversion), 0 for the default.</summary>
    public ulong CpuWeight { get; set; }

    /// <summary>
    /// linux.namespaces' network path (what CNI gives a pod): oci-boot joins it, and the Sentry's stack takes its
    /// interface over (--network=sandbox) or the Sentry serves internet sockets as host sockets there
    /// (--network=host). Null: the sandbox's own network (loopback only), as a new network namespace has.
    /// </summary>
    public string? NetworkNamespace { get; set; }

    /// <summary>
    /// linux.namespaces' pid path: for a pod's further container, the pod sandbox's namespace
    /// (<c>/proc/PID/ns/pid</c>, what the CRI gives for shareProcessNamespace) means it joins the pod's PID
    /// namespace instead of getting its own. Null: a namespace of its own.
    /// </summary>
    public string? PidNamespace { get; set; }

    /// <summary>Settings of config.json accepted but not enforced: each is a warning in the OCI log.</summary>
    public List<string> Ignored { get; } = [];

    /// <summary>Mounts of kinds the Sentry does not provide yet (sysfs, mqueue, devpts, cgroup): reported, not refused.</summary>
    public List<string> Unprovided { get; } = [];
}
