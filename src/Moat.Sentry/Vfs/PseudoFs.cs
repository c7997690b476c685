using System;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Mounts;
using Moat.Sentry.Vfs.Proc;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The file systems the Sentry generates from its own state, /proc, /sys, mqueue and cgroup2: each resolves a path
/// to a <see cref="ProcNode"/>, and their paths are addressed from their own root ("/proc/...", "/sys/...",
/// "/mqueue/...", "/cgroup/...").
/// </summary>
internal static class PseudoFs
{
    /// <summary>Whether a mount shows one of the generated file systems.</summary>
    public static bool Is(MountKind kind) => kind is MountKind.Proc or MountKind.Sysfs or MountKind.Mqueue or MountKind.Cgroup;

    /// <summary>Looks up a path of either file system ("/proc/..." or "/sys/..."). Returns 0 with the node, or -errno.</summary>
    public static long Lookup(Task t, string inner, bool followLast, out ProcNode? node, Kernel.PidNamespace? pidNs = null) =>
        inner == "/sys" || inner.StartsWith("/sys/", StringComparison.Ordinal)
            ? Sys.SysFs.Lookup(t.Kernel, inner, followLast, out node)
            : MountNamespace.Contains(MqueueFs.Root, inner)
            ? MqueueFs.Lookup(t, inner, out node)
            : MountNamespace.Contains(CgroupFs.Root, inner)
            ? CgroupFs.Lookup(t, inner, out node)
            : ProcFs.Lookup(t, inner, followLast, out node, pidNs);
}
