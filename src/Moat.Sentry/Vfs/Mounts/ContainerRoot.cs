using System.Collections.Generic;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>
/// The mount namespace of a pod's further container (<see cref="SandboxContainer"/>): its rootfs, a host
/// directory served by the container's own gofer as a volume at "/", then the sandbox's own file systems at
/// their usual places (one /proc, /sys, cgroup, /dev, devpts and mqueue for the pod: one kernel, one IPC namespace),
/// then the tmpfs mounts and binds its config names. Paths are walked by the Sentry (<see cref="RootedPath"/>),
/// as for any root that is not the overlay.
/// </summary>
internal static class ContainerRoot
{
    // The sandbox's file systems a container sees where the first one sees them.
    private static readonly string[] s_shared = ["/proc", "/sys", "/sys/fs/cgroup", "/dev", "/dev/pts", "/dev/mqueue"];

    public static MountNamespace Build(Kernel.Kernel kernel, IVolumeTree tree, SandboxContainerSpec spec, Kernel.PidNamespace? pidNs = null)
    {
        var ns = new MountNamespace(new Mount
        {
            Id = MountNamespace.NextId(), ParentId = 0, MountPoint = "/", Kind = MountKind.Volume,
            Volume = new Volume(tree, 1, "/", spec.RootReadOnly), Root = string.Empty,
            Flags = spec.RootReadOnly ? MountFlags.ReadOnly : MountFlags.None, Source = spec.Rootfs, FsType = "moat-volume",
        });
        var seen = new HashSet<string>();
        foreach (Mount m in kernel.Mounts.All)
        {
            bool sentrys = m.Kind is MountKind.Proc or MountKind.Sysfs or MountKind.Mqueue or MountKind.Cgroup || (m.Kind == MountKind.Tmpfs && m.Tmpfs == kernel.Dev);
            if (sentrys && System.Array.IndexOf(s_shared, m.MountPoint) >= 0 && seen.Add(m.MountPoint))
            {
                // Its /proc is the instance of its own pid namespace, when it has one.
                ns.Add(m.Kind == MountKind.Proc ? m with { Id = MountNamespace.NextId(), PidNs = pidNs } : m with { Id = MountNamespace.NextId() });
            }
        }

        ConfiguredMounts.Add(kernel, ns, tree, spec.TmpfsMounts, spec.BindMounts, firstVolume: 2, kernel.MemoryFile.Limit);
        return ns;
    }
}
