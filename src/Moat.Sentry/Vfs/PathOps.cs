using System;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Mounts;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Path operations across the sandbox's file systems: the Sentry's tmpfs mounts (/tmp, /dev/shm), its
/// devices, its /proc links, and the host root served read-only by the gofer. A symlink inside a tmpfs
/// restarts the walk from its target, up to Linux's 40 hops.
/// </summary>
internal static class PathOps
{
    private const int MaxHops = 40;
    private const int CreatableFlags = OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_PATH | OpenFlags.O_NOATIME | OpenFlags.O_LARGEFILE;

    /// <summary>
    /// Opens <paramref name="absolute"/> with open(2)'s permission checks. Returns 0 with the file (one
    /// reference for the caller) or -errno.
    /// </summary>
    public static long Open(Task t, string absolute, int flags, int mode, out FileDescription? file)
    {
        long pr = PathAccess.MayOpen(t, absolute, flags);
        if (pr < 0)
        {
            file = null;
            return pr;
        }

        long r = OpenUnchecked(t, absolute, flags, mode, out file);
        if (r == 0)
        {
            file!.OpenedBy = t.Credentials;
        }

        return r;
    }

    /// <summary>Opens <paramref name="absolute"/> without permission checks, for the Sentry's own lookups.</summary>
    public static long OpenUnchecked(Task t, string absolute, int flags, int mode, out FileDescription? file)
    {
        if ((flags & OpenFlags.O_TMPFILE & ~OpenFlags.O_DIRECTORY) != 0)
        {
            return TmpfileOps.Open(t, absolute, flags, mode, out file); // an unnamed file in a directory
        }

        long r = OpenResolved(t, absolute, flags, mode, out file);
        if (r == 0 && file is PipeEnd fifoEnd)
        {
            // A named pipe: a blocking open waits for its partner, holding no file system lock.
            long w = fifoEnd.WaitForPartner(t);
            if (w < 0)
            {
                file.DecRef();
                file = null;
                return w;
            }
        }

        return r;
    }

    private static long OpenResolved(Task t, string absolute, int flags, int mode, out FileDescription? file)
    {
        file = null;
        for (int hop = 0; hop < MaxHops; hop++)
        {
            string norm = PathResolver.Normalize(absolute);
            Mount m = t.Group.Mounts.Find(norm, out string inner);
            long r;
            if (m.ReadOnly && m.Kind is MountKind.Overlay or MountKind.Volume && WritesOrCreates(flags))
            {
                // A read-only mount of the overlay or of a volume that is itself writable: refuse here.
                // Linux's order: EEXIST for O_EXCL, EISDIR for a directory opened to write, then EROFS for
                // writing a file or creating a name.
                r = StatUnchecked(t, absolute, (flags & OpenFlags.O_NOFOLLOW) == 0, out Stat st);
                uint type = st.st_mode & Abi.Stat.S_IFMT;
                bool writes = (flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0;
                bool excl = (flags & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) == (OpenFlags.O_CREAT | OpenFlags.O_EXCL);
                if (r == 0 && !excl && writes && type is Abi.Stat.S_IFREG or Abi.Stat.S_IFDIR)
                {
                    return type == Abi.Stat.S_IFDIR ? -Errno.EISDIR.Value : -Errno.EROFS.Value;
                }

                if (r == -Errno.ENOENT.Value && (flags & OpenFlags.O_CREAT) != 0 && ParentIsDirectory(t, norm))
                {
                    return -Errno.EROFS.Value; // a new name in an existing directory
                }
            }

            PathStep step;
            switch (m.Kind)
            {
                case MountKind.Proc or MountKind.Sysfs or MountKind.Mqueue or MountKind.Cgroup:
                    step = OpenProc(t, inner, m, flags, out file);
                    break;
                case MountKind.Volume:
                    step = m.Volume!.Open(t, inner, flags, mode, out file);
                    break;
                case MountKind.Tmpfs:
                    step = OpenTmpfs(t, m, inner, norm, flags, mode, out file);
                    break;
                default:
                    // Writing may copy the file and its directories up: never through a link as if it were one.
                    step = WritesOrCreates(flags) && Overlay.ParentLink(t, inner, out string? linkTarget) ? PathStep.ContinueAt(linkTarget)
                        : Overlay.Open(t, OverlayPath(m, absolute, inner), inner, flags, mode, out file);
                    break;
            }

            if (!step.Continues)
            {
                if (step.Result == 0)
                {
                    file!.MountId = m.Id;
                    if (m.WalksLinks && file.Path != null)
                    {
                        file.Path = norm; // d_path: the name through the bind, not the bound directory's own
                    }
                }

                return step.Result;
            }

            absolute = step.Next;
            bool exclusive = (flags & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) == (OpenFlags.O_CREAT | OpenFlags.O_EXCL);
            long c = BindWalk.Continue(t, ref absolute, (flags & OpenFlags.O_NOFOLLOW) == 0 && !exclusive);
            if (c < 0)
            {
                return c;
            }
        }

        return -Errno.ELOOP.Value;
    }

    // Whether open flags write to or may create the file.
    private static bool WritesOrCreates(int flags) =>
        (flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY || (flags & (OpenFlags.O_CREAT | OpenFlags.O_TRUNC)) != 0;

    // A new name on a read-only mount: EROFS, unless the name exists (EEXIST comes first, as in Linux's filename_create).
    private static long ReadOnlyForCreate(Task t, string absolute)
    {
        string norm = PathResolver.Normalize(absolute);
        return PathAccess.ReadOnlyAt(t, norm) && StatUnchecked(t, absolute, follow: false, out _) < 0 && ParentIsDirectory(t, norm) ? -Errno.EROFS.Value : 0;
    }

    private static string ParentOf(string norm)
    {
        int slash = norm.LastIndexOf('/');
        return slash <= 0 ? "/" : norm[..slash];
    }

    // Whether the directory of a clean path exists (else the walk's ENOENT or ENOTDIR comes before EROFS).
    private static bool ParentIsDirectory(Task t, string norm)
    {
        int slash = norm.LastIndexOf('/');
        return StatUnchecked(t, slash <= 0 ? "/" : norm[..slash], follow: true, out Stat dir) == 0 && (dir.st_mode & Abi.Stat.S_IFMT) == Abi.Stat.S_IFDIR;
    }

    // Removing or renaming a name: EROFS when its directory is on a read-only mount (before ENOENT), EBUSY
    // when it is a mount point.
    private static long ReadOnlyOrMountPoint(Task t, string absolute)
    {
        string norm = PathResolver.Normalize(absolute);
        int slash = norm.LastIndexOf('/');
        if (PathAccess.ReadOnlyAt(t, slash <= 0 ? "/" : norm[..slash]) && ParentIsDirectory(t, norm))
        {
            return -Errno.EROFS.Value;
        }

        return norm.Length > 1 && t.Group.Mounts.MountedAt(norm) != null ? -Errno.EBUSY.Value : 0;
    }

    /// <summary>
    /// The path the overlay is asked for: the path as written on the root mount (so a trailing slash still
    /// counts), the path inside the bound directory on a bind mount of one of its directories.
    /// </summary>
    private static string OverlayPath(Mount m, string absolute, string inner) =>
        m.MountPoint.Length == 1 && m.Root.Length == 1 ? absolute : absolute.EndsWith('/') && inner.Length > 1 ? inner + "/" : inner;

    /// <summary>
    /// Follows /proc links (<c>/proc/self/exe</c>, <c>/proc/self/fd/N</c>) in a normalized path until it leaves
    /// /proc, for callers such as execve that open files outside the file-description path. A /proc node that
    /// is not a link cannot be executed: EACCES.
    /// </summary>
    public static long ResolveProcLinks(Task t, ref string norm)
    {
        for (int hop = 0; hop < 40; hop++)
        {
            if (!IsProc(t, norm, out string procPath, out Mount procMount))
            {
                return 0;
            }

            long r = Proc.ProcFs.Lookup(t, procPath, followLast: true, out Proc.ProcNode? node, procMount.PidNs);
            if (r < 0)
            {
                return r;
            }

            if (node!.Kind != Proc.ProcKind.Link)
            {
                return -Errno.EACCES.Value;
            }

            string? target = node.Fd != null ? node.Fd.Path : node.Target!.StartsWith('/') ? node.Target : "/proc/" + node.Target;
            node.Fd?.DecRef();
            if (target == null)
            {
                return -Errno.EACCES.Value; // A pipe, socket or other file without a path.
            }

            norm = PathResolver.Normalize(target);
        }

        return -Errno.ELOOP.Value;
    }

    // Opens a /proc or /sys node: a generated file, a directory listing, or (following a link) its target.
    private static PathStep OpenProc(Task t, string norm, Mount m, int flags, out FileDescription? file)
    {
        PathStep step = PathStep.Done(OpenProcNode(t, norm, m, flags, out file, out string? target));
        return target != null ? PathStep.ContinueAt(target) : step;
    }

    // OpenProc's body: 0 with the file, -errno, or 0 with the target of a link that leads out of the node.
    private static long OpenProcNode(Task t, string norm, Mount m, int flags, out FileDescription? file, out string? target)
    {
        file = null;
        target = null;
        bool readOnly = m.ReadOnly;
        bool follow = (flags & OpenFlags.O_NOFOLLOW) == 0;
        long r = PseudoFs.Lookup(t, norm, follow, out Proc.ProcNode? node, m.PidNs);
        if (r < 0)
        {
            return r;
        }

        if (node!.Kind == Proc.ProcKind.Link)
        {
            if (!follow)
            {
                node.Fd?.DecRef();
                if ((flags & OpenFlags.O_PATH) == 0)
                {
                    return -Errno.ELOOP.Value;
                }

                // O_PATH|O_NOFOLLOW names the link itself, as for any symlink.
                string linkTarget = node.Target ?? string.Empty;
                Stat linkStat = node.Attr is Stat { st_mode: var lm } la && (lm & Abi.Stat.S_IFMT) == Abi.Stat.S_IFLNK ? la : new Stat
                {
                    st_mode = Abi.Stat.S_IFLNK | 0x1FF,
                    st_nlink = 1,
                    st_dev = node.Attr?.st_dev ?? Proc.ProcFs.Device,
                    st_ino = node.Attr?.st_ino ?? ((ulong)(uint)norm.GetHashCode(StringComparison.Ordinal) | 1),
                    st_size = linkTarget.Length,
                    st_blksize = 1024,
                };
                file = new Proc.ProcFile([], norm, linkStat, flags: OpenFlags.O_PATH);
                return 0;
            }

            if (node.Fd != null)
            {
                // A socket cannot be opened, only named with O_PATH (may_open's ENXIO).
                if ((flags & OpenFlags.O_PATH) == 0 && node.Fd.Stat(out Moat.Abi.Stat fst) == 0 && (fst.st_mode & Moat.Abi.Stat.S_IFMT) == Moat.Abi.Stat.S_IFSOCK)
                {
                    node.Fd.DecRef();
                    return -Errno.ENXIO.Value;
                }

                // A magic link: the very file the fd refers to.
                file = node.Fd;
                return 0;
            }

            target = node.Target!.StartsWith('/') ? node.Target : "/proc/" + node.Target;
            return 0;
        }

        int accmode = flags & OpenFlags.O_ACCMODE;
        bool writing = accmode != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0;
        if ((flags & OpenFlags.O_CREAT) != 0 && (flags & OpenFlags.O_EXCL) != 0)
        {
            return -Errno.EEXIST.Value;
        }

        if ((writing || (flags & OpenFlags.O_CREAT) != 0) && (node.Kind == Proc.ProcKind.Directory || readOnly || (node.Write == null && node.Open == null)))
        {
            // Linux's order: a directory first, then the read-only mount (may_open), then the file's own refusal.
            return node.Kind == Proc.ProcKind.Directory ? -Errno.EISDIR.Value : readOnly ? -Errno.EROFS.Value : -Errno.EACCES.Value;
        }

        if (node.Attr is Stat own && (flags & OpenFlags.O_PATH) == 0)
        {
            // The node's own mode and owner (a process's files are its owner's: environ 0400, fd 0500, ...).
            int may = (accmode is OpenFlags.O_RDONLY or OpenFlags.O_RDWR ? Permissions.MayRead : 0) |
                (writing ? Permissions.MayWrite : 0);
            Errno denied = Permissions.Check(t.Credentials, own, may);
            if (denied != Errno.None)
            {
                return -denied.Value;
            }
        }

        if (node.MayOpen != null && (flags & OpenFlags.O_PATH) == 0 && !node.MayOpen(t))
        {
            return -Errno.EACCES.Value;
        }

        if (node.Kind == Proc.ProcKind.Directory)
        {
            file = new SnapshotDirectory(node.Entries!(), node.Attr == null ? norm : node.Path, node.Attr) { Process = node.Process };
            return 0;
        }

        if ((flags & OpenFlags.O_DIRECTORY) != 0)
        {
            return -Errno.ENOTDIR.Value;
        }

        if (node.Open != null)
        {
            file = node.Open(flags);
            return 0;
        }

        file = node.Attr is Stat attr
            ? new Proc.ProcFile(node.Write != null && accmode == OpenFlags.O_WRONLY ? [] : node.Content!(), node.Path, attr, node.Write, flags, node.Content)
            : new Proc.ProcFile(node.Content!(), norm, (ulong)(uint)norm.GetHashCode(StringComparison.Ordinal));
        return 0;
    }

    private static PathStep OpenTmpfs(Task t, Mount m, string rel, string norm, int flags, int mode, out FileDescription? file)
    {
        Tmpfs.Tmpfs fs = m.Tmpfs!;
        bool create = (flags & OpenFlags.O_CREAT) != 0;
        bool follow = (flags & OpenFlags.O_NOFOLLOW) == 0 && !(create && (flags & OpenFlags.O_EXCL) != 0);
        lock (fs.Mu)
        {
            PathStep step = fs.WalkLocked(rel, follow, out TmpfsNode? node, m);
            if (step.Continues)
            {
                file = null;
                return step;
            }

            if (step.Result == -Errno.ENOENT.Value && create)
            {
                step = fs.WalkParentLocked(rel, out TmpfsDirectory? parent, out string name, m);
                if (step.Continues || step.Failed)
                {
                    file = null;
                    return step;
                }

                return PathStep.Done(CreateTmpfsLocked(t, m, fs, parent!, name, norm, flags, mode, out file));
            }

            if (step.Failed)
            {
                file = null;
                return step;
            }

            if (create && (flags & OpenFlags.O_EXCL) != 0)
            {
                file = null;
                return PathStep.Fail(Errno.EEXIST);
            }

            return PathStep.Done(OpenTmpfsNodeLocked(t, m, node!, norm, flags, out file));
        }
    }

    // Makes a regular file for open(O_CREAT) in a walked tmpfs directory. Preconditions: fs.Mu is held.
    private static long CreateTmpfsLocked(Task t, Mount m, Tmpfs.Tmpfs fs, TmpfsDirectory parent, string name, string norm, int flags, int mode, out FileDescription? file)
    {
        file = null;
        if (m.ReadOnly)
        {
            return -Errno.EROFS.Value;
        }

        (uint uid, uint gid, uint perm) = NewOwner(t, parent, (uint)(mode & ~t.Group.Umask) & 0xFFF, isDir: false);
        var f = new TmpfsRegular(fs, perm, uid, gid);
        parent.Children[name] = f;
        parent.Touch(modified: true);
        return OpenTmpfsNodeLocked(t, m, f, norm, flags, out file);
    }

    // Opens an existing or just-made tmpfs node as open(2) asks. Preconditions: the node's file system's Mu is held.
    private static long OpenTmpfsNodeLocked(Task t, Mount m, TmpfsNode node, string norm, int flags, out FileDescription? file)
    {
        file = null;
        bool create = (flags & OpenFlags.O_CREAT) != 0;
        int acc = flags & OpenFlags.O_ACCMODE;
        if (node is TmpfsSymlink)
        {
            return (flags & OpenFlags.O_PATH) != 0 ? OpenNode(node, flags, norm, out file) : -Errno.ELOOP.Value;
        }

        if (node is TmpfsSocketNode && (flags & OpenFlags.O_PATH) == 0)
        {
            return -Errno.ENXIO.Value;
        }

        if ((flags & OpenFlags.O_DIRECTORY) != 0 && node is not TmpfsDirectory)
        {
            return -Errno.ENOTDIR.Value;
        }

        if (node is TmpfsFifo fifo && (flags & OpenFlags.O_PATH) == 0)
        {
            return PipeEnd.OpenFifoLocked(fifo, flags, norm, out file);
        }

        if (node is TmpfsDeviceNode device && (flags & OpenFlags.O_PATH) == 0)
        {
            if ((m.Flags & MountFlags.NoDev) != 0)
            {
                return -Errno.EACCES.Value; // may_open: devices of a nodev mount cannot be opened
            }

            return Devpts.Devpts.Serves(device) ? t.Kernel.Devpts.Open(t, device, flags, norm, out file) : DeviceFile.Open(device, flags, norm, out file);
        }

        if (node is TmpfsDirectory && (acc != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0 || create && (flags & OpenFlags.O_PATH) == 0))
        {
            return -Errno.EISDIR.Value;
        }

        if (node is TmpfsRegular && m.ReadOnly && (acc != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0))
        {
            return -Errno.EROFS.Value;
        }

        if (node is TmpfsRegular reg && (flags & OpenFlags.O_TRUNC) != 0 && acc != OpenFlags.O_RDONLY)
        {
            reg.Truncate(0);
            reg.Mode = Permissions.ModeAfterWrite(t.Credentials, reg.Mode, reg.Gid);
        }

        return OpenNode(node, flags, norm, out file);
    }

    /// <summary>The owner and mode of a new node in a tmpfs directory (a set-group-id directory passes its group on).</summary>
    public static (uint Uid, uint Gid, uint Mode) NewOwner(Task t, TmpfsDirectory parent, uint mode, bool isDir) =>
        Permissions.NewNode(t.Credentials, parent.ToStat(), mode, isDir);

    private static long OpenNode(TmpfsNode node, int flags, string path, out FileDescription? file)
    {
        file = new TmpfsFile(node, (flags & CreatableFlags) | OpenFlags.O_LARGEFILE, path);
        return 0;
    }

    /// <summary>Stats <paramref name="absolute"/>, following a final symlink if <paramref name="follow"/>, after the walk's search checks.</summary>
    public static long Stat(Task t, string absolute, bool follow, out Stat st)
    {
        long pr = PathAccess.MayWalk(t, absolute, follow);
        if (pr < 0)
        {
            st = default;
            return pr;
        }

        return StatUnchecked(t, absolute, follow, out st);
    }

    /// <summary>Stats <paramref name="absolute"/> without permission checks, for the Sentry's own lookups.</summary>
    public static long StatUnchecked(Task t, string absolute, bool follow, out Stat st)
    {
        st = default;
        string pnorm = PathResolver.Normalize(absolute);
        if (!follow && t.Group.Mounts.Find(pnorm, out string procPath) is Mount lm && PseudoFs.Is(lm.Kind))
        {
            long lr = PseudoFs.Lookup(t, procPath, followLast: false, out Proc.ProcNode? ln, lm.PidNs);
            if (lr < 0)
            {
                return lr;
            }

            ln!.Fd?.DecRef();
            if (ln.Kind == Proc.ProcKind.Link)
            {
                st = ln.Attr ?? new Stat { st_mode = Abi.Stat.S_IFLNK | 0x1FF, st_nlink = 1, st_dev = Proc.ProcFs.Device, st_size = ln.Target!.Length };
                return 0;
            }
        }

        for (int hop = 0; hop < MaxHops; hop++)
        {
            // A path of the root overlay is stat'ed without opening it (the common case, and the cached one).
            string norm = PathResolver.Normalize(absolute);
            Mount m = t.Group.Mounts.Find(norm, out string inner);
            if (m.Kind == MountKind.Volume)
            {
                PathStep vr = m.Volume!.Stat(inner, follow, out st);
                if (!vr.Continues)
                {
                    return vr.Result;
                }

                absolute = vr.Next;
                if (BindWalk.Continue(t, ref absolute, follow) is < 0 and long vc)
                {
                    return vc;
                }

                continue;
            }

            if (m.Kind != MountKind.Overlay)
            {
                break;
            }

            PathStep or = Overlay.StatPath(t, OverlayPath(m, absolute, inner), inner, follow, out st);
            if (!or.Continues)
            {
                return or.Result;
            }

            absolute = or.Next;
            if (BindWalk.Continue(t, ref absolute, follow) is < 0 and long oc)
            {
                return oc;
            }
        }

        long r = OpenUnchecked(t, absolute, OpenFlags.O_PATH | (follow ? 0 : OpenFlags.O_NOFOLLOW), 0, out FileDescription? f);
        if (r < 0)
        {
            return r;
        }

        try
        {
            return f!.Stat(out st);
        }
        finally
        {
            f!.DecRef();
        }
    }

    /// <summary>Reads the symlink at <paramref name="absolute"/>, after the walk's search checks.</summary>
    public static long ReadLink(Task t, string absolute, out string target)
    {
        target = string.Empty;
        long wr = PathAccess.MayWalk(t, absolute);
        return wr < 0 ? wr : ReadLinkUnchecked(t, absolute, out target);
    }

    /// <summary>Reads the symlink at <paramref name="absolute"/> without permission checks, for the Sentry's own walks.</summary>
    public static long ReadLinkUnchecked(Task t, string absolute, out string target)
    {
        target = string.Empty;
        string norm = PathResolver.Normalize(absolute);
        if (t.Group.Mounts.Find(norm, out string procPath) is Mount pm && PseudoFs.Is(pm.Kind))
        {
            long pr = PseudoFs.Lookup(t, procPath, followLast: false, out Proc.ProcNode? node, pm.PidNs);
            if (pr < 0)
            {
                return pr;
            }

            node!.Fd?.DecRef();
            if (node.Kind != Proc.ProcKind.Link)
            {
                return -Errno.EINVAL.Value;
            }

            // /proc's links name files by their namespace paths; a reader with a root of its own sees them from there.
            target = node.Target!.StartsWith('/') ? RootedPath.Show(t, node.Target) : node.Target;
            return 0;
        }

        for (int hop = 0; hop < MaxHops; hop++)
        {
            Mount m = t.Group.Mounts.Find(norm, out string rel);
            if (m.Kind == MountKind.Volume)
            {
                PathStep vr = m.Volume!.ReadLink(rel, out target);
                if (!vr.Continues)
                {
                    return vr.Result;
                }

                absolute = vr.Next;
                if (BindWalk.Continue(t, ref absolute, followLast: false) is < 0 and long vc)
                {
                    return vc;
                }

                norm = PathResolver.Normalize(absolute);
                continue;
            }

            if (PseudoFs.Is(m.Kind))
            {
                return ReadLinkUnchecked(t, norm, out target); // a symlink that led into /proc or /sys
            }

            if (m.Tmpfs is not Tmpfs.Tmpfs fs)
            {
                PathStep or = Overlay.ReadLink(t, OverlayPath(m, absolute, rel), rel, out target);
                if (!or.Continues)
                {
                    return or.Result;
                }

                absolute = or.Next;
                if (BindWalk.Continue(t, ref absolute, followLast: false) is < 0 and long oc)
                {
                    return oc;
                }

                norm = PathResolver.Normalize(absolute);
                continue;
            }

            lock (fs.Mu)
            {
                PathStep r = fs.WalkLocked(rel, followLast: false, out TmpfsNode? node, m);
                if (!r.Continues)
                {
                    if (r.Failed)
                    {
                        return r.Result;
                    }

                    if (node is not TmpfsSymlink link)
                    {
                        return -Errno.EINVAL.Value;
                    }

                    target = link.Target;
                    return 0;
                }

                absolute = r.Next;
            }

            if (BindWalk.Continue(t, ref absolute, followLast: false) is < 0 and long tc)
            {
                return tc;
            }

            norm = PathResolver.Normalize(absolute);
        }

        return -Errno.ELOOP.Value;
    }

    // Which file system holds the directory of a name being made or removed.
    private enum ChangeSite
    {
        Failed,
        Tmpfs,
        Overlay,
        Volume,
    }

    /// <summary>
    /// Finds the directory of <paramref name="absolute"/> for a create/remove, following symlinks in the
    /// directories on the way: a tmpfs (<paramref name="fs"/>, Mu not held, with <paramref name="rel"/> in
    /// it), the overlay (<paramref name="absolute"/> is then its path), a volume (<see cref="OnVolume"/> takes
    /// it), or Failed with <paramref name="error"/>.
    /// </summary>
    private static ChangeSite ResolveForChange(Task t, ref string absolute, out Tmpfs.Tmpfs? fs, out string rel, out long error) =>
        ResolveForChange(t, ref absolute, out fs, out rel, out _, out error);

    // ResolveForChange, with the mount the name's directory lies on (link and rename stay within one).
    private static ChangeSite ResolveForChange(Task t, ref string absolute, out Tmpfs.Tmpfs? fs, out string rel, out Mount? mount, out long error)
    {
        error = 0;
        mount = null;
        for (int hop = 0; hop < MaxHops; hop++)
        {
            string norm = PathResolver.Normalize(absolute);
            Mount m = t.Group.Mounts.Find(norm, out rel);
            mount = m;
            if (m.Kind == MountKind.Volume)
            {
                fs = null;
                absolute = norm;
                return ChangeSite.Volume;
            }

            fs = m.Tmpfs;
            if (PseudoFs.Is(m.Kind))
            {
                error = -Errno.EPERM.Value; // /proc's and /sys's directories have no create or remove operations
                return ChangeSite.Failed;
            }

            if (fs == null)
            {
                absolute = m.Kind == MountKind.Overlay ? rel : norm;
                if (m.Kind == MountKind.Overlay && Overlay.ParentLink(t, rel, out string? restart))
                {
                    absolute = restart;
                    error = BindWalk.Continue(t, ref absolute, followLast: false);
                    if (error < 0)
                    {
                        rel = string.Empty;
                        return ChangeSite.Failed;
                    }

                    continue;
                }

                return ChangeSite.Overlay;
            }

            if (rel.Length == 0)
            {
                error = -Errno.EBUSY.Value; // the mount point itself
                return ChangeSite.Failed;
            }

            lock (fs.Mu)
            {
                PathStep r = fs.WalkParentLocked(rel, out _, out string name, m);
                if (!r.Continues)
                {
                    if (r.Failed)
                    {
                        error = r.Result;
                        return ChangeSite.Failed;
                    }

                    absolute = norm;
                    return ChangeSite.Tmpfs;
                }

                absolute = r.Next + "/" + name;
            }

            error = BindWalk.Continue(t, ref absolute, followLast: false);
            if (error < 0)
            {
                return ChangeSite.Failed;
            }
        }

        fs = null;
        rel = string.Empty;
        error = -Errno.ELOOP.Value;
        return ChangeSite.Failed;
    }

    /// <summary>
    /// If <paramref name="absolute"/> lies on a volume, runs <paramref name="op"/> there (with the path inside
    /// it) and returns true with its result; a symlink out of the volume restarts the walk from its target
    /// through the whole tree. Returns false, with the path where the walk went, when it is on no volume.
    /// </summary>
    private static bool OnVolume(Task t, ref string absolute, bool followLast, Func<Volume, string, long> op, out long result)
    {
        for (int hop = 0; hop < MaxHops; hop++)
        {
            string norm = PathResolver.Normalize(absolute);
            Mount m = t.Group.Mounts.Find(norm, out string rel);
            if (m.Volume is not Volume v)
            {
                result = 0;
                return false;
            }

            result = op(v, rel);
            if (result != -Errno.EXDEV.Value)
            {
                return true;
            }

            PathStep escape = v.Escape(rel, followLast);
            if (!escape.Continues)
            {
                result = escape.Result;
                return true;
            }

            absolute = escape.Next;
            if (BindWalk.Continue(t, ref absolute, followLast) is < 0 and long c)
            {
                result = c;
                return true;
            }
        }

        result = -Errno.ELOOP.Value;
        return true;
    }

    // A node made on a volume belongs to its creator, not to the gofer that made it.
    private static long Created(Task t, Volume v, string rel, long r)
    {
        if (r == 0 && !Volume.IsGofersOwn(t.Credentials))
        {
            v.GiveToCreator(t, rel, null);
        }

        return r;
    }

    /// <summary>Implements mkdir(2).</summary>
    public static long Mkdir(Task t, string absolute, int mode)
    {
        long pr = PathAccess.MayCreate(t, absolute);
        pr = pr < 0 ? pr : ReadOnlyForCreate(t, absolute);
        if (pr < 0)
        {
            return pr;
        }

        for (int hop = 0; hop < MaxHops; hop++)
        {
            if (OnVolume(t, ref absolute, false, (v, rel) => Created(t, v, rel, v.Change(Gofer.GoferOp.Mkdir, rel, 0, (mode & ~t.Group.Umask) & 0xFFF)), out long vr))
            {
                return vr;
            }

            ChangeSite site = ResolveForChange(t, ref absolute, out Tmpfs.Tmpfs? fs, out string rel, out long error);
            if (site != ChangeSite.Volume)
            {
                return site switch
                {
                    ChangeSite.Failed => error,
                    ChangeSite.Overlay => Overlay.Create(t, absolute, mode, null, null),
                    _ => MkdirInTmpfs(t, fs!, rel, mode),
                };
            }
        }

        return -Errno.ELOOP.Value;
    }

    // mkdir in a tmpfs directory ResolveForChange found.
    private static long MkdirInTmpfs(Task t, Tmpfs.Tmpfs fs, string rel, int mode)
    {
        lock (fs.Mu)
        {
            fs.WalkParentLocked(rel, out TmpfsDirectory? parent, out string name);
            if (parent!.Children.ContainsKey(name))
            {
                return -Errno.EEXIST.Value;
            }

            (uint uid, uint gid, uint perm) = NewOwner(t, parent, (uint)(mode & ~t.Group.Umask) & 0xFFF, isDir: true);
            parent.Children[name] = new TmpfsDirectory(fs, parent, perm, uid, gid);
            parent.Nlink++;
            parent.Touch(modified: true);
            return 0;
        }
    }

    /// <summary>
    /// Creates the node a unix socket binds to a path (bind(2) on AF_UNIX). Returns its inode number, or
    /// -EADDRINUSE when the name exists, or another -errno.
    /// </summary>
    public static long MakeSocketNode(Task t, string absolute, int mode)
    {
        long r = MakeNode(t, absolute, (uint)(mode & ~t.Group.Umask) & 0xFFF, static (fs, perm, uid, gid) => new TmpfsSocketNode(fs, perm, uid, gid), Abi.Stat.S_IFSOCK);
        return r == -Errno.EEXIST.Value ? -Errno.EADDRINUSE.Value : r;
    }

    /// <summary>
    /// Creates a special node (a socket's name, a FIFO, a device) with <paramref name="make"/>, after
    /// creation's permission checks. Returns its inode number (0 on a volume) or -errno (EEXIST when the name
    /// exists). On a volume the gofer makes a host node of type <paramref name="volumeType"/>; only unix
    /// sockets' nodes are made there (0: EOPNOTSUPP, a FIFO or device would be a host file the Sentry cannot serve).
    /// </summary>
    public static long MakeNode(Task t, string absolute, uint perm, Func<Tmpfs.Tmpfs, uint, uint, uint, TmpfsNode> make, uint volumeType = 0)
    {
        long r = PathAccess.MayCreate(t, absolute);
        r = r < 0 ? r : ReadOnlyForCreate(t, absolute);
        if (r < 0)
        {
            return r;
        }

        // The gofer's umask is 0: the mode arrives with the task's umask applied, as mknod's would be.
        int nodeMode = (int)(volumeType | (perm & 0xFFF));
        for (int hop = 0; hop < MaxHops; hop++)
        {
            ChangeSite site = ResolveForChange(t, ref absolute, out Tmpfs.Tmpfs? fs, out string rel, out r);
            if (site != ChangeSite.Volume)
            {
                return MakeNodeResolved(t, site, absolute, fs, rel, r, perm, make);
            }

            if (volumeType == 0)
            {
                return -Errno.EOPNOTSUPP.Value;
            }

            if (OnVolume(t, ref absolute, false, (v, vrel) => Created(t, v, vrel, v.Change(Gofer.GoferOp.Mknod, vrel, 0, nodeMode)), out long vr))
            {
                return vr;
            }
        }

        return -Errno.ELOOP.Value;
    }

    // MakeNode once the name's directory is known to be in a tmpfs or the overlay (or its walk failed with error).
    private static long MakeNodeResolved(Task t, ChangeSite site, string absolute, Tmpfs.Tmpfs? fs, string rel, long error, uint perm, Func<Tmpfs.Tmpfs, uint, uint, uint, TmpfsNode> make)
    {
        long r;
        if (site == ChangeSite.Overlay)
        {
            // Overlay.Create adds a link to a node it is given: start the fresh node at none.
            TmpfsNode node = make(t.Kernel.Upper, perm, t.Credentials.EffectiveUid, t.Credentials.EffectiveGid);
            node.Nlink = 0;
            r = Overlay.Create(t, absolute, 0, null, node);
            return r < 0 ? r : (long)node.Ino;
        }

        if (site == ChangeSite.Failed)
        {
            return error;
        }

        lock (fs!.Mu)
        {
            fs.WalkParentLocked(rel, out TmpfsDirectory? parent, out string name);
            if (parent!.Children.ContainsKey(name))
            {
                return -Errno.EEXIST.Value;
            }

            (uint uid, uint gid, uint nodePerm) = NewOwner(t, parent, perm, isDir: false);
            TmpfsNode node = make(fs, nodePerm, uid, gid);
            parent.Children[name] = node;
            parent.Touch(modified: true);
            return (long)node.Ino;
        }
    }

    /// <summary>
    /// Implements mknod(2) after its type checks: FIFOs and socket nodes for anyone, the character devices
    /// the sandbox serves (null, zero, full, random, urandom, tty) with CAP_MKNOD, a regular file as open
    /// with O_CREAT|O_EXCL makes it. Other devices are EPERM, as a container's device rules answer.
    /// </summary>
    public static long Mknod(Task t, string absolute, uint mode, ulong dev)
    {
        uint perm = (mode & ~(uint)t.Group.Umask) & 0xFFF;
        switch (mode & Abi.Stat.S_IFMT)
        {
            case 0:
            case Abi.Stat.S_IFREG:
                long r = Open(t, absolute, OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY, (int)(mode & 0xFFF), out FileDescription? f);
                f?.DecRef();
                return r;
            case Abi.Stat.S_IFIFO:
                r = MakeNode(t, absolute, perm, static (fs, p, uid, gid) => new TmpfsFifo(fs, p, uid, gid));
                return r < 0 ? r : 0;
            case Abi.Stat.S_IFSOCK:
                r = MakeNode(t, absolute, perm, static (fs, p, uid, gid) => new TmpfsSocketNode(fs, p, uid, gid), Abi.Stat.S_IFSOCK);
                return r < 0 ? r : 0;
            case Abi.Stat.S_IFCHR:
            case Abi.Stat.S_IFBLK:
                uint major = (uint)(((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFFUL));
                uint minor = (uint)((dev & 0xFF) | ((dev >> 12) & ~0xFFUL));
                r = PathAccess.MayCreate(t, absolute);
                r = r < 0 ? r : ReadOnlyForCreate(t, absolute);
                if (r < 0 || StatUnchecked(t, absolute, follow: false, out _) == 0)
                {
                    return r < 0 ? r : -Errno.EEXIST.Value;
                }

                if (!t.Credentials.HasCapability(Credentials.CAP_MKNOD) || (mode & Abi.Stat.S_IFMT) == Abi.Stat.S_IFBLK || !DevFs.Serves(major, minor))
                {
                    return -Errno.EPERM.Value;
                }

                r = MakeNode(t, absolute, perm, (fs, p, uid, gid) => new TmpfsDeviceNode(fs, p, major, minor) { Uid = uid, Gid = gid });
                return r < 0 ? r : 0;
            case Abi.Stat.S_IFDIR:
                return -Errno.EPERM.Value;
            default:
                return -Errno.EINVAL.Value;
        }
    }

    /// <summary>Implements unlink(2) and rmdir(2).</summary>
    public static long Remove(Task t, string absolute, bool directory)
    {
        long pr = PathAccess.MayDelete(t, absolute);
        pr = pr < 0 ? pr : ReadOnlyOrMountPoint(t, absolute);
        if (pr < 0)
        {
            return pr;
        }

        if (t.Group.Mounts.Find(PathResolver.Normalize(absolute), out string mqPath).Kind == MountKind.Mqueue)
        {
            return MqueueFs.Remove(t, mqPath, directory); // mq_unlink
        }

        int flags = directory ? OpenFlags.AT_REMOVEDIR : 0;
        for (int hop = 0; hop < MaxHops; hop++)
        {
            if (OnVolume(t, ref absolute, false, (v, rel) => v.Change(Gofer.GoferOp.Unlink, rel, flags), out long vr))
            {
                return vr;
            }

            ChangeSite site = ResolveForChange(t, ref absolute, out Tmpfs.Tmpfs? fs, out string rel, out long error);
            if (site != ChangeSite.Volume)
            {
                return site switch
                {
                    ChangeSite.Failed => error,
                    ChangeSite.Overlay => Overlay.Remove(t, absolute, directory),
                    _ => RemoveInTmpfs(fs!, rel, directory),
                };
            }
        }

        return -Errno.ELOOP.Value;
    }

    // unlink or rmdir in a tmpfs directory ResolveForChange found.
    private static long RemoveInTmpfs(Tmpfs.Tmpfs fs, string rel, bool directory)
    {
        lock (fs.Mu)
        {
            fs.WalkParentLocked(rel, out TmpfsDirectory? parent, out string name);
            if (name is "." or "..")
            {
                return directory ? (name == "." ? -Errno.EINVAL.Value : -Errno.ENOTEMPTY.Value) : -Errno.EISDIR.Value;
            }

            if (!parent!.Children.TryGetValue(name, out TmpfsNode? node))
            {
                return -Errno.ENOENT.Value;
            }

            if (directory)
            {
                if (node is not TmpfsDirectory d)
                {
                    return -Errno.ENOTDIR.Value;
                }

                if (d.Children.Count > 0)
                {
                    return -Errno.ENOTEMPTY.Value;
                }

                parent.Nlink--;
            }
            else if (node is TmpfsDirectory)
            {
                return -Errno.EISDIR.Value;
            }

            parent.Children.Remove(name);
            parent.Touch(modified: true);
            Tmpfs.Tmpfs.Unlinked(node);
            if (node is TmpfsDirectory)
            {
                node.Nlink = 0;
            }

            return 0;
        }
    }

    /// <summary>Implements symlink(2).</summary>
    public static long Symlink(Task t, string target, string absolute)
    {
        if (target.Length == 0)
        {
            return -Errno.ENOENT.Value;
        }

        long pr = PathAccess.MayCreate(t, absolute);
        pr = pr < 0 ? pr : ReadOnlyForCreate(t, absolute);
        if (pr < 0)
        {
            return pr;
        }

        for (int hop = 0; hop < MaxHops; hop++)
        {
            if (OnVolume(t, ref absolute, false, (v, rel) => Created(t, v, rel, v.Change(Gofer.GoferOp.Symlink, rel, 0, path2: target)), out long vr))
            {
                return vr;
            }

            ChangeSite site = ResolveForChange(t, ref absolute, out Tmpfs.Tmpfs? fs, out string rel, out long error);
            if (site != ChangeSite.Volume)
            {
                return site switch
                {
                    ChangeSite.Failed => error,
                    ChangeSite.Overlay => Overlay.Create(t, absolute, 0, target, null),
                    _ => SymlinkInTmpfs(t, target, fs!, rel),
                };
            }
        }

        return -Errno.ELOOP.Value;
    }

    // symlink in a tmpfs directory ResolveForChange found.
    private static long SymlinkInTmpfs(Task t, string target, Tmpfs.Tmpfs fs, string rel)
    {
        lock (fs.Mu)
        {
            fs.WalkParentLocked(rel, out TmpfsDirectory? parent, out string name);
            if (parent!.Children.ContainsKey(name))
            {
                return -Errno.EEXIST.Value;
            }

            (uint uid, uint gid, _) = NewOwner(t, parent, 0, isDir: false);
            parent.Children[name] = new TmpfsSymlink(fs, target, uid, gid);
            parent.Touch(modified: true);
            return 0;
        }
    }

    /// <summary>Implements link(2) inside one file system.</summary>
    public static long Link(Task t, string oldAbsolute, string newAbsolute)
    {
        long pr = PathAccess.MayLink(t, oldAbsolute, newAbsolute);
        long old = pr < 0 ? pr : StatUnchecked(t, oldAbsolute, follow: false, out _);
        pr = pr < 0 || old < 0 ? pr : ReadOnlyForCreate(t, newAbsolute); // the old name's ENOENT first
        if (pr < 0)
        {
            return pr;
        }

        for (int hop = 0; hop < MaxHops; hop++)
        {
            VolumeNames vn = TwoNamesOnVolume(t, Gofer.GoferOp.Link, ref oldAbsolute, ref newAbsolute, 0, out long vr);
            if (vn != VolumeNames.Neither)
            {
                if (vn == VolumeNames.Moved)
                {
                    continue;
                }

                return vr;
            }

            TwoNames where = ResolveBothForChange(t, ref oldAbsolute, ref newAbsolute, out Tmpfs.Tmpfs? fs, out string oldRel, out string newRel, out long r);
            if (where != TwoNames.OnVolume)
            {
                // Across mounts: the old name's lookup comes first (do_linkat looks it up whole, then EXDEV).
                return where == TwoNames.Failed ? r : where == TwoNames.Apart && old < 0 ? old : LinkResolved(t, where, oldAbsolute, newAbsolute, fs, oldRel, newRel);
            }
        }

        return -Errno.ELOOP.Value;
    }

    // What TwoNamesOnVolume did: neither name is on a volume; it finished (the result in its out value); or a
    // symlink out of the volume moved one of the paths (walk again).
    private enum VolumeNames
    {
        Neither,
        Done,
        Moved,
    }

    /// <summary>link and rename where either name is on a volume: both must be on the same one (else EXDEV).</summary>
    private static VolumeNames TwoNamesOnVolume(Task t, Gofer.GoferOp op, ref string oldAbsolute, ref string newAbsolute, int flags, out long result)
    {
        result = 0;
        Mount om = t.Group.Mounts.Find(PathResolver.Normalize(oldAbsolute), out string oldRel);
        Mount nm = t.Group.Mounts.Find(PathResolver.Normalize(newAbsolute), out string newRel);
        Volume? ov = om.Volume;
        Volume? nv = nm.Volume;
        if (ov == null && nv == null)
        {
            return VolumeNames.Neither;
        }

        if (om != nm)
        {
            // link and rename never cross mounts, even of the same volume: EXDEV once the walks are done.
            result = AcrossMounts(t, op, oldAbsolute, newAbsolute);
            return VolumeNames.Done;
        }

        if (oldRel.Length == 0 || newRel.Length == 0)
        {
            // The volume's own directory is a mount point (link looks its old name up first).
            result = op == Gofer.GoferOp.Rename ? -Errno.EBUSY.Value
                : StatUnchecked(t, oldAbsolute, follow: false, out _) is < 0 and long missing ? missing
                : newRel.Length == 0 ? -Errno.EEXIST.Value : -Errno.EPERM.Value;
            return VolumeNames.Done;
        }

        result = ov!.Change(op, oldRel, flags, path2: newRel);
        if (result != -Errno.EXDEV.Value)
        {
            return VolumeNames.Done;
        }

        PathStep e = ov.Escape(oldRel, followLast: false);
        if (e.Continues)
        {
            oldAbsolute = e.Next;
            result = BindWalk.Continue(t, ref oldAbsolute, followLast: false);
            return result < 0 ? VolumeNames.Done : VolumeNames.Moved;
        }

        PathStep e2 = ov.Escape(newRel, followLast: false);
        if (e2.Continues)
        {
            newAbsolute = e2.Next;
            result = BindWalk.Continue(t, ref newAbsolute, followLast: false);
            return result < 0 ? VolumeNames.Done : VolumeNames.Moved;
        }

        result = e.Result != -Errno.EXDEV.Value ? e.Result : e2.Result;
        return VolumeNames.Done;
    }

    // What link or rename across two mounts answers: rename walks both parents (do_renameat2's
    // filename_parentat: ENOENT, ENOTDIR) and then fails with EXDEV before it looks either name up; link looks
    // the old name up whole and makes the new one as filename_create does (its parent's walk, EEXIST, EROFS)
    // before EXDEV.
    private static long AcrossMounts(Task t, Gofer.GoferOp op, string oldAbsolute, string newAbsolute)
    {
        string oldNorm = PathResolver.Normalize(oldAbsolute);
        string newNorm = PathResolver.Normalize(newAbsolute);
        long r = op == Gofer.GoferOp.Link ? StatUnchecked(t, oldNorm, follow: false, out _) : WalkToParent(t, oldNorm);
        r = r < 0 ? r : WalkToParent(t, newNorm);
        if (r < 0 || op != Gofer.GoferOp.Link)
        {
            return r < 0 ? r : -Errno.EXDEV.Value;
        }

        return StatUnchecked(t, newNorm, follow: false, out _) == 0 ? -Errno.EEXIST.Value
            : PathAccess.ReadOnlyAt(t, newNorm) ? -Errno.EROFS.Value
            : -Errno.EXDEV.Value;
    }

    // The walk to a name's directory: 0, or its ENOENT or ENOTDIR.
    private static long WalkToParent(Task t, string norm)
    {
        long r = StatUnchecked(t, ParentOf(norm), follow: true, out Stat dir);
        return r < 0 ? r : (dir.st_mode & Abi.Stat.S_IFMT) == Abi.Stat.S_IFDIR ? 0 : -Errno.ENOTDIR.Value;
    }

    private static long LinkResolved(Task t, TwoNames where, string oldAbsolute, string newAbsolute, Tmpfs.Tmpfs? oldFs, string oldRel, string newRel)
    {
        if (where == TwoNames.BothOverlay)
        {
            long c = Overlay.CopyUp(t, oldAbsolute, oldAbsolute, follow: false, out TmpfsNode? node);
            if (c < 0)
            {
                return c;
            }

            return node is TmpfsDirectory ? -Errno.EPERM.Value : Overlay.Create(t, newAbsolute, 0, null, node);
        }

        if (where == TwoNames.Apart)
        {
            return -Errno.EXDEV.Value;
        }

        lock (oldFs!.Mu)
        {
            oldFs.WalkParentLocked(oldRel, out TmpfsDirectory? op, out string oldName);
            oldFs.WalkParentLocked(newRel, out TmpfsDirectory? np, out string newName);
            if (!op!.Children.TryGetValue(oldName, out TmpfsNode? node))
            {
                return -Errno.ENOENT.Value;
            }

            if (node is TmpfsDirectory)
            {
                return -Errno.EPERM.Value;
            }

            if (np!.Children.ContainsKey(newName))
            {
                return -Errno.EEXIST.Value;
            }

            np.Children[newName] = node;
            node.Nlink++;
            node.Touch(modified: false);
            np.Touch(modified: true);
            return 0;
        }
    }

    /// <summary>Implements rename(2) inside one file system, with renameat2's RENAME_NOREPLACE.</summary>
    public static long Rename(Task t, string oldAbsolute, string newAbsolute, bool noReplace, bool exchange = false)
    {
        long pr = PathAccess.MayRename(t, oldAbsolute, newAbsolute, exchange);
        // Across mounts the operation answers EXDEV before anything else; within one, EROFS comes next.
        bool oneMount = t.Group.Mounts.Find(ParentOf(PathResolver.Normalize(oldAbsolute)), out _) == t.Group.Mounts.Find(ParentOf(PathResolver.Normalize(newAbsolute)), out _);
        pr = pr < 0 || !oneMount ? pr : ReadOnlyOrMountPoint(t, oldAbsolute);
        pr = pr < 0 || t.Group.Mounts.MountedAt(PathResolver.Normalize(newAbsolute)) == null ? pr : -Errno.EBUSY.Value;
        if (pr < 0)
        {
            return pr;
        }

        for (int hop = 0; hop < MaxHops; hop++)
        {
            VolumeNames vn = TwoNamesOnVolume(t, Gofer.GoferOp.Rename, ref oldAbsolute, ref newAbsolute, exchange ? RenameExchange : noReplace ? 1 : 0, out long vr);
            if (vn != VolumeNames.Neither)
            {
                if (vn == VolumeNames.Moved)
                {
                    continue;
                }

                return vr;
            }

            TwoNames where = ResolveBothForChange(t, ref oldAbsolute, ref newAbsolute, out Tmpfs.Tmpfs? fs, out string oldRel, out string newRel, out long r);
            if (where != TwoNames.OnVolume)
            {
                return where == TwoNames.Failed ? r
                    : exchange ? ExchangeResolved(t, where, oldAbsolute, newAbsolute, fs, oldRel, newRel)
                    : RenameResolved(t, where, oldAbsolute, newAbsolute, fs, oldRel, newRel, noReplace);
            }
        }

        return -Errno.ELOOP.Value;
    }

    // Where the two names of a link, rename or exchange lie, outside volumes.
    private enum TwoNames
    {
        Failed,
        OnVolume,
        BothOverlay,
        Apart,
        OneTmpfs,
    }

    // Resolves both names' directories for a change: a volume on either side (its own path handles it), both on
    // the overlay, in two different file systems (EXDEV), or in one tmpfs (returned in oldFs).
    private static TwoNames ResolveBothForChange(Task t, ref string oldAbsolute, ref string newAbsolute, out Tmpfs.Tmpfs? oldFs, out string oldRel, out string newRel, out long error)
    {
        ChangeSite oldSite = ResolveForChange(t, ref oldAbsolute, out oldFs, out oldRel, out Mount? oldMount, out error);
        newRel = string.Empty;
        if (oldSite == ChangeSite.Failed)
        {
            return TwoNames.Failed;
        }

        ChangeSite newSite = ResolveForChange(t, ref newAbsolute, out Tmpfs.Tmpfs? newFs, out newRel, out Mount? newMount, out error);
        if (newSite == ChangeSite.Failed)
        {
            return TwoNames.Failed;
        }

        // Two mounts of one file system (a directory bound elsewhere) are still two mounts: EXDEV, as Linux's
        // old_path.mnt != new_path.mnt, before either last component is looked up.
        return oldSite == ChangeSite.Volume || newSite == ChangeSite.Volume ? TwoNames.OnVolume :
            oldMount != newMount ? TwoNames.Apart :
            oldSite == ChangeSite.Overlay && newSite == ChangeSite.Overlay ? TwoNames.BothOverlay :
            oldSite == ChangeSite.Overlay || newSite == ChangeSite.Overlay || oldFs != newFs ? TwoNames.Apart : TwoNames.OneTmpfs;
    }

    /// <summary>renameat2's RENAME_EXCHANGE.</summary>
    public const int RenameExchange = 2;

    // RENAME_EXCHANGE in one tmpfs, or between two names that only the overlay's upper layer has.
    private static long ExchangeResolved(Task t, TwoNames where, string oldAbsolute, string newAbsolute, Tmpfs.Tmpfs? oldFs, string oldRel, string newRel)
    {
        if (where == TwoNames.BothOverlay)
        {
            return Overlay.Exchange(t, oldAbsolute, newAbsolute);
        }

        if (where == TwoNames.Apart)
        {
            return -Errno.EXDEV.Value;
        }

        lock (oldFs!.Mu)
        {
            oldFs.WalkParentLocked(oldRel, out TmpfsDirectory? op, out string oldName);
            oldFs.WalkParentLocked(newRel, out TmpfsDirectory? np, out string newName);
            return ExchangeLocked(op!, oldName, np!, newName);
        }
    }

    /// <summary>
    /// Swaps two names of one tmpfs: both must exist (ENOENT); neither directory may land inside itself
    /// (EINVAL). Preconditions: the file system's Mu is held.
    /// </summary>
    public static long ExchangeLocked(TmpfsDirectory op, string oldName, TmpfsDirectory np, string newName)
    {
        if (!op.Children.TryGetValue(oldName, out TmpfsNode? a) || !np.Children.TryGetValue(newName, out TmpfsNode? b))
        {
            return -Errno.ENOENT.Value;
        }

        if (a == b)
        {
            return 0;
        }

        if (IsWithin(np, a) || IsWithin(op, b))
        {
            return -Errno.EINVAL.Value;
        }

        op.Children[oldName] = b;
        np.Children[newName] = a;
        if (op != np)
        {
            if (a is TmpfsDirectory da)
            {
                da.Parent = np;
                op.Nlink--;
                np.Nlink++;
            }

            if (b is TmpfsDirectory db)
            {
                db.Parent = op;
                np.Nlink--;
                op.Nlink++;
            }
        }

        op.Touch(modified: true);
        np.Touch(modified: true);
        a.Touch(modified: false);
        b.Touch(modified: false);
        return 0;
    }

    // Whether dir is node itself or below it (node a directory).
    private static bool IsWithin(TmpfsDirectory dir, TmpfsNode node)
    {
        if (node is not TmpfsDirectory moving)
        {
            return false;
        }

        for (TmpfsDirectory d = dir; ; d = d.Parent)
        {
            if (d == moving)
            {
                return true;
            }

            if (d == d.Parent)
            {
                return false;
            }
        }
    }

    private static long RenameResolved(Task t, TwoNames where, string oldAbsolute, string newAbsolute, Tmpfs.Tmpfs? oldFs, string oldRel, string newRel, bool noReplace)
    {
        if (where == TwoNames.BothOverlay)
        {
            return Overlay.Rename(t, oldAbsolute, newAbsolute, noReplace);
        }

        if (where == TwoNames.Apart)
        {
            return -Errno.EXDEV.Value;
        }

        lock (oldFs!.Mu)
        {
            oldFs.WalkParentLocked(oldRel, out TmpfsDirectory? op, out string oldName);
            oldFs.WalkParentLocked(newRel, out TmpfsDirectory? np, out string newName);
            if (!op!.Children.TryGetValue(oldName, out TmpfsNode? node))
            {
                return -Errno.ENOENT.Value;
            }

            if (node is TmpfsDirectory movingDir && IsWithin(np!, movingDir))
            {
                return -Errno.EINVAL.Value; // a directory cannot move into itself or below itself
            }

            if (np!.Children.TryGetValue(newName, out TmpfsNode? existing))
            {
                if (existing == node)
                {
                    return 0;
                }

                if (noReplace)
                {
                    return -Errno.EEXIST.Value;
                }

                if (node is TmpfsDirectory && existing is not TmpfsDirectory)
                {
                    return -Errno.ENOTDIR.Value;
                }

                if (node is not TmpfsDirectory && existing is TmpfsDirectory)
                {
                    return -Errno.EISDIR.Value;
                }

                if (existing is TmpfsDirectory ed && ed.Children.Count > 0)
                {
                    return -Errno.ENOTEMPTY.Value;
                }

                if (existing is TmpfsDirectory)
                {
                    np.Nlink--;
                }

                Tmpfs.Tmpfs.Unlinked(existing);
            }

            op.Children.Remove(oldName);
            np.Children[newName] = node;
            if (node is TmpfsDirectory moved && op != np)
            {
                moved.Parent = np;
                op.Nlink--;
                np.Nlink++;
            }

            op.Touch(modified: true);
            np.Touch(modified: true);
            node.Touch(modified: false);
            return 0;
        }
    }

    /// <summary>
    /// chmod, chown and utimensat of a path on a volume: asks the gofer for <paramref name="op"/> with its
    /// arguments. Returns false (with the path where the walk went) when the path is on no volume.
    /// </summary>
    public static bool SetAttrOnVolume(Task t, ref string absolute, bool follow, Gofer.GoferOp op, long a0, long a1, long a2, long a3, out long result)
    {
        int flags = follow ? 0 : OpenFlags.AT_SYMLINK_NOFOLLOW;
        return OnVolume(t, ref absolute, follow, (v, rel) => v.Change(op, rel, flags, a0, a1, a2, a3), out result);
    }

    /// <summary>Changes a file's mode bits (chmod family) on a tmpfs or a volume; the host root is copied up first.</summary>
    public static long Chmod(Task t, string absolute, int mode, bool follow)
    {
        if (PathAccess.TargetForAttrChange(t, absolute, follow, out Stat st, out long ar))
        {
            uint m = (uint)mode & 0xFFF;
            Errno e = Permissions.Chmod(t.Credentials, st, ref m);
            if (e != Errno.None)
            {
                return -e.Value;
            }

            mode = (int)m;
        }
        else if (ar < 0)
        {
            return ar;
        }

        if (SetAttrOnVolume(t, ref absolute, follow, Gofer.GoferOp.Chmod, mode & 0xFFF, 0, 0, 0, out long vr))
        {
            return vr;
        }

        long r = OpenForChange(t, absolute, follow, out FileDescription? f);
        if (r < 0)
        {
            return r;
        }

        try
        {
            return ChmodFile(t, f!, mode);
        }
        finally
        {
            f!.DecRef();
        }
    }

    /// <summary>
    /// Opens a path to change its metadata (chmod, chown, utimes): a host file of the root is copied up
    /// first, so the change lands in the overlay's upper layer.
    /// </summary>
    public static long OpenForChange(Task t, string absolute, bool follow, out FileDescription? file)
    {
        long r = OpenUnchecked(t, absolute, OpenFlags.O_PATH | (follow ? 0 : OpenFlags.O_NOFOLLOW), 0, out file);
        if (r < 0)
        {
            return r;
        }

        if (PathAccess.ReadOnlyAt(t, follow ? ResolveLinks(t, absolute) : PathResolver.Normalize(absolute)))
        {
            file!.DecRef();
            file = null;
            return -Errno.EROFS.Value; // after ENOENT, before the owner's EPERM, as Linux's mnt_want_write
        }

        if (file is not HostFileDescription)
        {
            return r;
        }

        file.DecRef();
        file = null;
        string norm = PathResolver.Normalize(absolute);
        int cut = norm.LastIndexOf('/');
        norm = follow ? ResolveLinks(t, norm) : cut <= 0 ? norm : ResolveLinks(t, norm[..cut]).TrimEnd('/') + norm[cut..];
        if (t.Group.Mounts.Find(norm, out string inner).Kind == MountKind.Overlay)
        {
            norm = inner; // the overlay's own name for a directory bound elsewhere
        }

        r = Overlay.CopyUp(t, norm, norm, follow: false, out TmpfsNode? node);
        if (r < 0)
        {
            return r;
        }

        file = new TmpfsFile(node!, OpenFlags.O_PATH, norm);
        return 0;
    }

    /// <summary>fchmod(2) on an open file, with chmod's owner rule.</summary>
    public static long ChmodFile(Task t, FileDescription f, int mode)
    {
        if (f is HostFileDescription { Volume.ReadOnly: true })
        {
            return -Errno.EROFS.Value;
        }

        if (f.Stat(out Stat st) == 0)
        {
            uint m = (uint)mode & 0xFFF;
            Errno e = Permissions.Chmod(t.Credentials, st, ref m);
            if (e != Errno.None)
            {
                return -e.Value;
            }

            mode = (int)m;
        }

        if (f is HostFileDescription { Volume: not null } h)
        {
            return HostPathChange.Fchmod(h.HostFd, mode & 0xFFF);
        }

        if (f is not TmpfsFile tf)
        {
            return f is DeviceFile or PipeEnd or Devpts.TerminalFile ? 0 : -Errno.EROFS.Value;
        }

        lock (tf.Node.Fs.Mu)
        {
            tf.Node.Mode = (tf.Node.Mode & Abi.Stat.S_IFMT) | ((uint)mode & 0xFFF);
            tf.Node.Touch(modified: false);
            return 0;
        }
    }

    /// <summary>Truncates a tmpfs or volume file by path (truncate(2)).</summary>
    public static long Truncate(Task t, string absolute, long length)
    {
        if (length < 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = Open(t, absolute, OpenFlags.O_WRONLY, 0, out FileDescription? f);
        if (r < 0)
        {
            return r;
        }

        try
        {
            return FileSpace.Truncate(t, f!, length);
        }
        finally
        {
            f!.DecRef();
        }
    }

    /// <summary>
    /// The path with every symlink on it resolved, as the kernel names a file it reached (d_path): what
    /// /proc/PID/exe shows. Returns the path as given when a component cannot be read.
    /// </summary>
    public static string ResolveLinks(Task t, string absolute)
    {
        var pending = new System.Collections.Generic.Stack<string>();
        PathResolver.PushComponents(pending, absolute);
        string resolved = string.Empty;
        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                int cut = resolved.LastIndexOf('/');
                resolved = cut <= 0 ? string.Empty : resolved[..cut];
                continue;
            }

            string candidate = resolved + "/" + part;
            if (IsProc(t, candidate, out _) || StatUnchecked(t, candidate, follow: false, out Stat st) < 0)
            {
                return PathResolver.Clean(absolute);
            }

            if ((st.st_mode & Abi.Stat.S_IFMT) != Abi.Stat.S_IFLNK)
            {
                resolved = candidate;
                continue;
            }

            if (++hops > MaxHops || ReadLinkUnchecked(t, candidate, out string target) < 0 || target.Length == 0)
            {
                return PathResolver.Clean(absolute);
            }

            PathResolver.PushComponents(pending, target);
            if (target[0] == '/')
            {
                resolved = string.Empty;
            }
        }

        return resolved.Length == 0 ? "/" : resolved;
    }

    /// <summary>Whether <paramref name="dir"/> is <paramref name="ancestor"/> or lies below it.</summary>
    public static bool IsWithin(TmpfsDirectory dir, TmpfsDirectory ancestor)
    {
        for (TmpfsDirectory d = dir; ; d = d.Parent)
        {
            if (d == ancestor)
            {
                return true;
            }

            if (d == d.Parent)
            {
                return false;
            }
        }
    }

    /// <summary>Whether a clean path lies on a mount of /proc, with its path in /proc's own terms.</summary>
    public static bool IsProc(Task t, string norm, out string procPath) => IsProc(t, norm, out procPath, out _);

    /// <summary>Whether <paramref name="norm"/> lies in a /proc mount, which <paramref name="mount"/> is.</summary>
    public static bool IsProc(Task t, string norm, out string procPath, out Mount mount)
    {
        mount = t.Group.Mounts.Find(norm, out procPath);
        return mount.Kind == MountKind.Proc;
    }
}
