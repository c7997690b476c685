using System.Text;
using Moat.Sentry.Vfs.Mounts;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>/proc/PID/mounts and /proc/PID/mountinfo, written from the process's mount namespace.</summary>
internal static class ProcMounts
{
    /// <summary>
    /// /proc/PID/mounts (and /proc/mounts): "source mount-point type options 0 0" per mount, in mount order. Only
    /// the mounts the process reaches from its <paramref name="root"/> are listed, with their points as it sees them.
    /// </summary>
    public static string Mounts(MountNamespace ns, string root)
    {
        var sb = new StringBuilder();
        foreach (Mount m in ns.All)
        {
            if (!RootedPath.IsBelow(m.MountPoint, root))
            {
                continue; // not reachable from the process's root (chroot)
            }

            sb.Append(Escape(m.Source)).Append(' ').Append(Escape(RootedPath.Show(root, m.MountPoint))).Append(' ').Append(m.FsType).Append(' ');
            AppendMountOptions(sb, m);
            if (m.SuperOptions.Length > 0)
            {
                sb.Append(',').Append(m.SuperOptions);
            }

            sb.Append(" 0 0\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// /proc/PID/mountstats: "device SOURCE mounted on POINT with fstype TYPE" per reachable mount (show_vfsstat);
    /// no file system of the sandbox has statistics of its own to add (NFS's).
    /// </summary>
    public static string MountStats(MountNamespace ns, string root)
    {
        var sb = new StringBuilder();
        foreach (Mount m in ns.All)
        {
            if (RootedPath.IsBelow(m.MountPoint, root))
            {
                sb.Append("device ").Append(Escape(m.Source)).Append(" mounted on ").Append(Escape(RootedPath.Show(root, m.MountPoint)))
                    .Append(" with fstype ").Append(m.FsType).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// /proc/PID/mountinfo: "id parent major:minor root mount-point mount-options optional-fields - type source
    /// super-options" per mount (proc(5)); every mount is private, so there are no optional fields.
    /// </summary>
    public static string MountInfo(MountNamespace ns, string root)
    {
        var sb = new StringBuilder();
        foreach (Mount m in ns.All)
        {
            if (!RootedPath.IsBelow(m.MountPoint, root))
            {
                continue;
            }

            ulong dev = m.Device;
            sb.Append(m.Id).Append(' ').Append(m.ParentId).Append(' ').Append(dev >> 8).Append(':').Append(dev & 0xFF).Append(' ');
            string fsRoot = m.FsType == "devpts" ? "/" : m.Kind switch
            {
                MountKind.Tmpfs or MountKind.Volume => "/" + m.Root,
                MountKind.Proc => "/" + m.Root["/proc".Length..].TrimStart('/'),
                MountKind.Sysfs => "/" + m.Root["/sys".Length..].TrimStart('/'),
                MountKind.Mqueue => "/" + m.Root[MqueueFs.Root.Length..].TrimStart('/'),
                MountKind.Cgroup => "/" + m.Root[CgroupFs.Root.Length..].TrimStart('/'),
                _ => m.Root,
            };
            sb.Append(Escape(fsRoot)).Append(' ').Append(Escape(RootedPath.Show(root, m.MountPoint))).Append(' ');
            AppendMountOptions(sb, m);
            sb.Append(" - ").Append(m.FsType).Append(' ').Append(Escape(m.Source)).Append(' ').Append(m.SuperReadOnly ? "ro" : "rw");
            if (m.SuperOptions.Length > 0)
            {
                sb.Append(',').Append(m.SuperOptions);
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    // The per-mount options, in Linux's order (show_mnt_opts).
    private static void AppendMountOptions(StringBuilder sb, Mount m)
    {
        MountFlags f = m.Flags;
        sb.Append(m.ReadOnly ? "ro" : "rw");
        if ((f & MountFlags.NoSuid) != 0)
        {
            sb.Append(",nosuid");
        }

        if ((f & MountFlags.NoDev) != 0)
        {
            sb.Append(",nodev");
        }

        if ((f & MountFlags.NoExec) != 0)
        {
            sb.Append(",noexec");
        }

        if ((f & MountFlags.NoAtime) != 0)
        {
            sb.Append(",noatime");
        }
        else if ((f & MountFlags.StrictAtime) == 0)
        {
            sb.Append(",relatime");
        }

        if ((f & MountFlags.NoDirAtime) != 0)
        {
            sb.Append(",nodiratime");
        }
    }

    // Spaces, tabs, newlines and backslashes in a mount path are written as octal escapes, as Linux does.
    private static string Escape(string path) =>
        path.Replace("\\", "\\134", System.StringComparison.Ordinal).Replace(" ", "\\040", System.StringComparison.Ordinal)
            .Replace("\t", "\\011", System.StringComparison.Ordinal).Replace("\n", "\\012", System.StringComparison.Ordinal);
}
