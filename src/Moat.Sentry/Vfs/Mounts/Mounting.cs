using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>
/// mount(2) and umount2(2) on the calling process's mount namespace: new tmpfs and proc mounts, bind mounts
/// (recursive or not, of directories and files), remounts of a mount's flags or of a tmpfs, moves and
/// propagation changes (every mount is private). Checks and errors follow Linux's do_mount/path_mount and
/// path_umount; CAP_SYS_ADMIN is the sandbox's, as in a user namespace.
/// </summary>
internal static class Mounting
{
    public const int MNT_FORCE = 1;
    public const int MNT_DETACH = 2;
    public const int MNT_EXPIRE = 4;
    public const int UMOUNT_NOFOLLOW = 8;

    /// <summary>
    /// Implements mount(2) once its strings are copied in (null for a NULL pointer). <paramref name="asContainerRoot"/>:
    /// the mount is the runtime's, made for a container's init before its program runs (runc's init mounts as the
    /// container's root before it takes the process's user), so the task's own lack of CAP_SYS_ADMIN does not refuse it.
    /// </summary>
    public static long Mount(Task t, string? source, string target, string? fsType, ulong flags, string? data, bool asContainerRoot = false)
    {
        // The target is looked up first: a missing one is ENOENT even for a caller who may not mount.
        long r = PathOps.Stat(t, target, follow: true, out Stat targetStat);
        if (r < 0)
        {
            return r;
        }

        if ((flags & MountOptions.MS_MGC_MSK) == MountOptions.MS_MGC_VAL)
        {
            flags &= ~MountOptions.MS_MGC_MSK;
        }

        if ((flags & MountOptions.MS_NOUSER) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (!asContainerRoot && !t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
        {
            return -Errno.EPERM.Value;
        }

        MountNamespace ns = t.Group.Mounts;
        string where = PathOps.ResolveLinks(t, target);
        bool targetIsDir = (targetStat.st_mode & Stat.S_IFMT) == Stat.S_IFDIR;
        if ((flags & (MountOptions.MS_REMOUNT | MountOptions.MS_BIND)) == (MountOptions.MS_REMOUNT | MountOptions.MS_BIND))
        {
            return Reconfigure(t, ns, where, flags);
        }

        if ((flags & MountOptions.MS_REMOUNT) != 0)
        {
            return Remount(t, ns, where, flags, data);
        }

        if ((flags & MountOptions.MS_BIND) != 0)
        {
            return Bind(t, ns, source, where, targetIsDir, (flags & MountOptions.MS_REC) != 0);
        }

        if ((flags & MountOptions.PropagationFlags) != 0)
        {
            // Exactly one propagation type; the mounts stay private (nothing is shared with another namespace).
            ulong type = flags & MountOptions.PropagationFlags;
            if ((type & (type - 1)) != 0 || (flags & ~(MountOptions.PropagationFlags | MountOptions.MS_REC | MountOptions.MS_SILENT)) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            return ns.MountedAt(where) == null ? -Errno.EINVAL.Value : 0;
        }

        if ((flags & MountOptions.MS_MOVE) != 0)
        {
            return Move(t, ns, source, where, targetIsDir);
        }

        return NewMount(t, ns, source, where, targetIsDir, fsType, flags, data);
    }

    /// <summary>Implements umount2(2).</summary>
    public static long Umount(Task t, string target, int flags)
    {
        if ((flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) != 0 ||
            ((flags & MNT_EXPIRE) != 0 && (flags & (MNT_FORCE | MNT_DETACH)) != 0))
        {
            return -Errno.EINVAL.Value;
        }

        bool follow = (flags & UMOUNT_NOFOLLOW) == 0;
        long r = PathOps.Stat(t, target, follow, out _);
        if (r < 0)
        {
            return r;
        }

        if (!t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
        {
            return -Errno.EPERM.Value;
        }

        MountNamespace ns = t.Group.Mounts;
        string where = follow ? PathOps.ResolveLinks(t, target) : ResolveParent(t, target);
        Mount? m = ns.MountedAt(where);
        if (m == null)
        {
            return -Errno.EINVAL.Value; // not the root of a mount
        }

        bool detach = (flags & MNT_DETACH) != 0;
        if (m == ns.Root || (!detach && InUse(t, ns, m)))
        {
            return -Errno.EBUSY.Value;
        }

        if ((flags & MNT_EXPIRE) != 0 && !ns.MarkExpired(m))
        {
            return -Errno.EAGAIN.Value; // the first MNT_EXPIRE only marks the mount
        }

        return -ns.Remove(m, detach).Value;
    }

    // A new tmpfs (or ramfs) or proc at a directory.
    private static long NewMount(Task t, MountNamespace ns, string? source, string where, bool targetIsDir, string? fsType, ulong flags, string? data)
    {
        if (fsType == null)
        {
            return -Errno.EINVAL.Value;
        }

        List<string> options = data is { Length: > 0 } ? [.. data.Split(',')] : [];
        MountFlags mountFlags = MountOptions.FromMs(flags);
        switch (fsType)
        {
            case "tmpfs" or "ramfs":
            {
                if (!MountOptions.TryParseTmpfs(options, TmpfsMounting.DefaultBytes(t.Kernel.MemoryFile.Limit), out long maxPages, out uint? mode, out uint? uid, out uint? gid) &&
                    fsType == "tmpfs")
                {
                    return -Errno.EINVAL.Value;
                }

                if (!targetIsDir)
                {
                    return -Errno.ENOTDIR.Value;
                }

                Mount m = TmpfsMounting.NewMount(t.Kernel.MemoryFile, where, source ?? "none", mountFlags, fsType == "ramfs" ? 0 : maxPages, mode, uid ?? 0, gid ?? 0);
                if ((flags & MountOptions.MS_RDONLY) != 0)
                {
                    m.Tmpfs!.ReadOnly = true;
                }

                ns.Add(fsType == "ramfs" ? m with { FsType = "ramfs" } : m);
                return 0;
            }

            case "proc":
                if (options.Count > 0)
                {
                    return -Errno.EINVAL.Value; // hidepid=, gid= and subset= are not supported
                }

                if (!targetIsDir)
                {
                    return -Errno.ENOTDIR.Value;
                }

                ns.Add(new Mount
                {
                    Id = MountNamespace.NextId(), ParentId = 0, MountPoint = where, Kind = MountKind.Proc, Root = "/proc",
                    Flags = mountFlags, Source = source ?? "none", FsType = "proc",
                    PidNs = t.PidNs.Level == 0 ? null : t.PidNs, // the instance of the mounter's pid namespace
                });
                return 0;
            case "devpts":
                if (!Devpts.Devpts.ValidOptions(options))
                {
                    return -Errno.EINVAL.Value;
                }

                if (!targetIsDir)
                {
                    return -Errno.ENOTDIR.Value;
                }

                // The sandbox has one devpts instance (its ptys are numbered across the sandbox): a mount shows it
                // again, as a bind of /dev/pts would, with its own mount flags.
                ns.Add(Devpts.Devpts.NewMount(t.Kernel.Dev, where, mountFlags, source ?? "devpts"));
                return 0;
            case "sysfs":
                if (MountOptions.Parse(options).Data.Count > 0)
                {
                    return -Errno.EINVAL.Value; // sysfs takes no options of its own
                }

                if (!targetIsDir)
                {
                    return -Errno.ENOTDIR.Value;
                }

                ns.Add(new Mount
                {
                    Id = MountNamespace.NextId(), ParentId = 0, MountPoint = where, Kind = MountKind.Sysfs, Root = "/sys",
                    Flags = mountFlags, Source = source ?? "none", FsType = "sysfs",
                });
                return 0;
            case "mqueue":
                if (MountOptions.Parse(options).Data.Count > 0)
                {
                    return -Errno.EINVAL.Value; // mqueue takes no options of its own
                }

                if (!targetIsDir)
                {
                    return -Errno.ENOTDIR.Value;
                }

                ns.Add(MqueueMount(where, mountFlags, source ?? "none"));
                return 0;
            case "cgroup2":
                if (!targetIsDir)
                {
                    return -Errno.ENOTDIR.Value;
                }

                ns.Add(CgroupMount(where, mountFlags, source ?? "none"));
                return 0;
            default:
                // cgroup v1 hierarchies, overlay and the rest are not provided: as for a type the kernel lacks.
                return -Errno.ENODEV.Value;
        }
    }

    /// <summary>A mount of the sandbox's cgroup (<see cref="CgroupFs"/>) at <paramref name="where"/>.</summary>
    public static Mount CgroupMount(string where, MountFlags flags, string source) => new()
    {
        Id = MountNamespace.NextId(), ParentId = 0, MountPoint = where, Kind = MountKind.Cgroup, Root = CgroupFs.Root,
        Flags = flags, Source = source, FsType = "cgroup2",
    };

    /// <summary>A mount of the IPC namespace's queues (<see cref="MqueueFs"/>) at <paramref name="where"/>.</summary>
    public static Mount MqueueMount(string where, MountFlags flags, string source) => new()
    {
        Id = MountNamespace.NextId(), ParentId = 0, MountPoint = where, Kind = MountKind.Mqueue, Root = MqueueFs.Root,
        Flags = flags, Source = source, FsType = "mqueue",
    };

    // MS_BIND: what the source path shows, seen again at the target (with the mounts on it too for MS_REC).
    private static long Bind(Task t, MountNamespace ns, string? source, string where, bool targetIsDir, bool recursive)
    {
        if (source == null)
        {
            return -Errno.EFAULT.Value;
        }

        long r = PathOps.Stat(t, source, follow: true, out Stat sourceStat);
        if (r < 0)
        {
            return r;
        }

        if (((sourceStat.st_mode & Stat.S_IFMT) == Stat.S_IFDIR) != targetIsDir)
        {
            return -Errno.ENOTDIR.Value;
        }

        string from = PathOps.ResolveLinks(t, source);
        Mount[] before = ns.All;
        Mount sm = ns.Find(from, out string inner);
        ns.Add(sm with { Id = MountNamespace.NextId(), MountPoint = where, Root = inner });
        if (recursive)
        {
            // Every mount below the source, in mount order: each lands on the copy of the one it lay on.
            var copies = new List<Mount>();
            foreach (Mount c in before)
            {
                if (c.MountPoint.Length > from.Length && MountNamespace.Contains(from, c.MountPoint) && ns.MountedAt(c.MountPoint) == c)
                {
                    string rest = from.Length == 1 ? c.MountPoint : c.MountPoint[from.Length..];
                    copies.Add(c with { Id = MountNamespace.NextId(), MountPoint = (where.Length == 1 ? string.Empty : where) + rest });
                }
            }

            foreach (Mount c in copies)
            {
                ns.Add(c);
            }
        }

        return 0;
    }

    // MS_REMOUNT | MS_BIND: the mount's own flags only.
    private static long Reconfigure(Task t, MountNamespace ns, string where, ulong flags)
    {
        Mount? m = ns.MountedAt(where);
        if (m == null)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & MountOptions.MS_RDONLY) != 0 && !m.ReadOnly && HasOpenFile(t, ns, x => x.Id == m.Id, writersOnly: true))
        {
            return -Errno.EBUSY.Value; // a file open for writing on it (mnt_make_readonly)
        }

        MountFlags f = MountOptions.FromMs(flags);
        if ((flags & (MountOptions.MS_NOATIME | MountOptions.MS_RELATIME | MountOptions.MS_STRICTATIME)) == 0)
        {
            f |= m.Flags & (MountFlags.NoAtime | MountFlags.StrictAtime); // atime behaviour is kept unless given
        }

        return ns.Replace(m, m with { Flags = f }) ? 0 : -Errno.EINVAL.Value;
    }

    // MS_REMOUNT: the file system's options (a tmpfs's size and read-only state) and the mount's flags.
    private static long Remount(Task t, MountNamespace ns, string where, ulong flags, string? data)
    {
        Mount? m = ns.MountedAt(where);
        if (m == null)
        {
            return -Errno.EINVAL.Value;
        }

        if (m.Tmpfs is Tmpfs.Tmpfs fs)
        {
            List<string> options = data is { Length: > 0 } ? [.. data.Split(',')] : [];
            (_, List<string> fsOptions) = MountOptions.Parse(options);
            if (!MountOptions.TryParseTmpfs(fsOptions, TmpfsMounting.DefaultBytes(fs.MemoryFile.Limit), out long maxPages, out _, out _, out _))
            {
                return -Errno.EINVAL.Value;
            }

            bool sized = fsOptions.Exists(o => o.StartsWith("size=", System.StringComparison.Ordinal) || o.StartsWith("nr_blocks=", System.StringComparison.Ordinal));
            if (sized && maxPages > 0 && maxPages < fs.UsedPages)
            {
                return -Errno.EINVAL.Value; // smaller than what its files hold
            }

            if (sized)
            {
                fs.MaxPages = maxPages;
            }

            if ((flags & MountOptions.MS_RDONLY) != 0 && !fs.ReadOnly && HasOpenFile(t, ns, x => x.Tmpfs == fs, writersOnly: true))
            {
                return -Errno.EBUSY.Value; // a file of it open for writing (sb_prepare_remount_readonly)
            }

            fs.ReadOnly = (flags & MountOptions.MS_RDONLY) != 0;
            m = m with { SuperOptions = TmpfsMounting.SuperOptions(fs) };
        }

        Mount? current = ns.MountedAt(where);
        return current != null && ns.Replace(current, m with { Flags = MountOptions.FromMs(flags) }) ? 0 : -Errno.EINVAL.Value;
    }

    // MS_MOVE: a whole mount (and those on it) to another directory.
    private static long Move(Task t, MountNamespace ns, string? source, string where, bool targetIsDir)
    {
        if (source == null)
        {
            return -Errno.EFAULT.Value;
        }

        long r = PathOps.Stat(t, source, follow: true, out Stat sourceStat);
        if (r < 0)
        {
            return r;
        }

        string from = PathOps.ResolveLinks(t, source);
        Mount? m = ns.MountedAt(from);
        if (m == null || m == ns.Root)
        {
            return -Errno.EINVAL.Value;
        }

        if (((sourceStat.st_mode & Stat.S_IFMT) == Stat.S_IFDIR) != targetIsDir)
        {
            return -Errno.ENOTDIR.Value;
        }

        if (MountNamespace.Contains(from, where))
        {
            return -Errno.ELOOP.Value; // into itself
        }

        if (!ns.Move(m, where))
        {
            return -Errno.EINVAL.Value;
        }

        if (m.Tmpfs is Tmpfs.Tmpfs fs && m.Root.Length == 0 && fs.MountPoint == m.MountPoint)
        {
            fs.MountPoint = where; // where its symlinks resolve from
        }

        return 0;
    }

    // Whether a mount is busy for umount without MNT_DETACH: mounts lie on it, a process works or has its root
    // inside it, or a file is open on it.
    private static bool InUse(Task t, MountNamespace ns, Mount m)
    {
        foreach (Mount other in ns.All)
        {
            if (other.ParentId == m.Id && other != m)
            {
                return true;
            }
        }

        lock (t.Kernel.TreeMu)
        {
            foreach (ThreadGroup g in t.Kernel.AllGroupsLocked())
            {
                if (g.Mounts == ns && (ns.Find(g.Cwd, out _) == m || ns.Find(g.Root, out _) == m))
                {
                    return true;
                }
            }
        }

        return HasOpenFile(t, ns, x => x.Id == m.Id, writersOnly: false);
    }

    /// <summary>
    /// Whether a process of the namespace holds a file open on a mount <paramref name="on"/> accepts (one open for
    /// writing when <paramref name="writersOnly"/>): what makes umount and a read-only remount EBUSY in Linux.
    /// </summary>
    private static bool HasOpenFile(Task t, MountNamespace ns, Func<Mount, bool> on, bool writersOnly)
    {
        // The tables are gathered under the tree lock and read outside it (FdTable._mu is a leaf).
        var tables = new HashSet<FdTable>(ReferenceEqualityComparer.Instance);
        lock (t.Kernel.TreeMu)
        {
            foreach (ThreadGroup g in t.Kernel.AllGroupsLocked())
            {
                if (g.Mounts == ns)
                {
                    foreach (Task member in g.Tasks)
                    {
                        tables.Add(member.Fds);
                    }
                }
            }
        }

        foreach (FdTable table in tables)
        {
            foreach (int fd in table.OpenFds())
            {
                FileDescription? f = table.Get(fd);
                if (f == null)
                {
                    continue;
                }

                bool writer = (f.StatusFlags & (OpenFlags.O_ACCMODE | OpenFlags.O_PATH)) is OpenFlags.O_WRONLY or OpenFlags.O_RDWR;
                bool match = f.MountId != 0 && (!writersOnly || writer) && ns.ById(f.MountId) is Mount fm && on(fm);
                f.DecRef();
                if (match)
                {
                    return true;
                }
            }
        }

        return false;
    }

    // The path with symlinks resolved in its directories, its last component as written (UMOUNT_NOFOLLOW).
    private static string ResolveParent(Task t, string path)
    {
        string clean = PathResolver.Clean(path);
        int slash = clean.LastIndexOf('/');
        if (slash <= 0)
        {
            return clean;
        }

        string dir = PathOps.ResolveLinks(t, clean[..slash]);
        return (dir.Length == 1 ? string.Empty : dir) + clean[slash..];
    }
}
