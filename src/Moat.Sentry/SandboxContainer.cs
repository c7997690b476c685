using System.Collections.Generic;
using Moat.Gofer;
using Moat.Sentry.Kernel;

namespace Moat.Sentry;

/// <summary>
/// A further container of a pod in a running sandbox (gVisor's subcontainer): a process tree of its own, rooted
/// at the container's rootfs (a gofer of its own serves it), with its own mounts, beside the sandbox's first
/// container in the same kernel: one network stack and one IPC namespace for the pod. Made, started and
/// signalled through <see cref="SandboxControl"/>.
/// </summary>
public sealed class SandboxContainer
{
    internal SandboxContainer(string id, Vfs.Mounts.MountNamespace mounts, GoferClient gofer)
    {
        Id = id;
        Mounts = mounts;
        Gofer = gofer;
    }

    /// <summary>The container's id (the OCI runtime's).</summary>
    public string Id { get; }

    /// <summary>Its init's pid in the sandbox.</summary>
    public int Pid => Init?.Tgid ?? 0;

    /// <summary>
    /// The container's pid namespace: its init is pid 1 there and its processes (exec'd ones included) live in
    /// it; null when the container shares the sandbox's root namespace.
    /// </summary>
    internal PidNamespace? PidNs { get; init; }

    /// <summary>The container's mount namespace: its rootfs at "/", the sandbox's /proc, /sys and /dev, its own mounts.</summary>
    internal Vfs.Mounts.MountNamespace Mounts { get; }

    /// <summary>The gofer that serves the rootfs (its root 1) and the container's binds (roots 2, 3, ...).</summary>
    internal GoferClient Gofer { get; }

    /// <summary>The container's init: protected from signals from inside as a PID namespace's init. Set once loaded.</summary>
    internal ThreadGroup? Init { get; set; }

    /// <summary>Init's first task until the container starts (null once started, or when removed before).</summary>
    internal Task? Held { get; set; }

    /// <summary>The container's live processes (its tree, exec'd processes included). Under TreeMu.</summary>
    internal List<ThreadGroup> GroupsLocked(Kernel.Kernel kernel)
    {
        List<ThreadGroup> groups = [];
        foreach (ThreadGroup g in kernel.AllGroupsLocked())
        {
            if (g.Container == this && !g.Zombie)
            {
                groups.Add(g);
            }
        }

        return groups;
    }
}
