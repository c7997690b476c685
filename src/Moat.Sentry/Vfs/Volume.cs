using Moat.Abi;
using Moat.Gofer;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// A host directory bound into the sandbox, served by the gofer as its root <see cref="Root"/>. Paths
/// given here are relative to the mount point and lexically clean. The gofer walks them beneath the
/// volume (openat2 RESOLVE_BENEATH) and answers EXDEV when a symlink leads out; the Sentry then finds that
/// symlink and resolves it in the sandbox's own tree, as Linux resolves a symlink on a bind mount, so the
/// host kernel never follows a link out of the volume. Nothing is cached: every lookup asks the gofer, so
/// changes made through the volume (by the sandbox or by the host) are seen at once.
/// </summary>
internal sealed class Volume
{
    private const int MaxComponents = 4096;
    private readonly IVolumeTree _tree;

    public Volume(IVolumeTree tree, int root, string mountPoint, bool readOnly)
    {
        _tree = tree;
        Root = root;
        MountPoint = mountPoint;
        ReadOnly = readOnly;
    }

    /// <summary>The gofer's number for this volume's root.</summary>
    public int Root { get; }

    /// <summary>Where the volume is mounted in the sandbox, e.g. "/data".</summary>
    public string MountPoint { get; }

    public bool ReadOnly { get; }

    // A pod container's root is a volume at "/".
    private string Absolute(string rel) => rel.Length == 0 ? MountPoint : MountPoint.Length == 1 ? "/" + rel : MountPoint + "/" + rel;

    /// <summary>Opens a volume path: done with the file, failed, or continuing where a symlink leads out.</summary>
    public PathStep Open(Task t, string rel, int flags, int mode, out FileDescription? file)
    {
        file = null;
        int hostMode = (mode & ~t.Group.Umask) & 0xFFF;
        if ((flags & OpenFlags.O_TMPFILE & ~OpenFlags.O_DIRECTORY) != 0)
        {
            return PathStep.Fail(Errno.EOPNOTSUPP);
        }

        // What the gofer takes; hints such as O_DIRECT and O_ASYNC are dropped here, as Linux ignores unknown flags.
        const int GoferFlags = OpenFlags.O_ACCMODE | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_TRUNC | OpenFlags.O_APPEND |
            OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_PATH | OpenFlags.O_NOATIME | OpenFlags.O_SYNC;
        int goferFlags = flags & GoferFlags;
        if ((goferFlags & OpenFlags.O_PATH) != 0)
        {
            goferFlags &= OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW;
        }

        bool mayCreate = (flags & OpenFlags.O_CREAT) != 0 && !IsGofersOwn(t.Credentials);
        bool existed = mayCreate && Stat(rel, follow: true, out _).Result == 0;
        SafeFdHandle? fd = _tree.Open(Root, rel, goferFlags, hostMode, out long r);
        if (fd != null && mayCreate && !existed)
        {
            GiveToCreator(t, rel, fd);
        }

        if (fd == null)
        {
            bool create = (flags & OpenFlags.O_CREAT) != 0;
            bool followLast = (flags & OpenFlags.O_NOFOLLOW) == 0 && !(create && (flags & OpenFlags.O_EXCL) != 0);
            return r == -Errno.EXDEV.Value ? Escape(rel, followLast) : PathStep.Done(r);
        }

        int status = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_PATH | OpenFlags.O_NOATIME | OpenFlags.O_SYNC)) | OpenFlags.O_LARGEFILE;
        file = new HostFileDescription(fd, status) { Path = Absolute(rel), Volume = this };
        return PathStep.Ok;
    }

    /// <summary>
    /// open(O_TMPFILE) in the volume directory <paramref name="rel"/> (its symlinks already followed): an unnamed
    /// host file that the gofer opens in that directory, given the owner and mode Linux would give it
    /// (<paramref name="uid"/>, <paramref name="gid"/>, <paramref name="perm"/>). Returns 0 with the file or -errno.
    /// </summary>
    public long OpenTmpfile(Task t, string rel, int flags, uint uid, uint gid, uint perm, out FileDescription? file)
    {
        file = null;
        const int Passed = OpenFlags.O_ACCMODE | OpenFlags.O_TMPFILE | OpenFlags.O_EXCL | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_NOATIME | OpenFlags.O_SYNC;
        SafeFdHandle? fd = _tree.Open(Root, rel, flags & Passed, (int)perm, out long r);
        if (fd == null)
        {
            return r;
        }

        if (!IsGofersOwn(t.Credentials))
        {
            HostPathChange.Fchown(fd.Fd, uid, gid);
            if ((perm & (Abi.Stat.S_ISUID | Abi.Stat.S_ISGID)) != 0)
            {
                HostPathChange.Fchmod(fd.Fd, (int)perm); // the chown took the set-id bits the new file keeps on Linux
            }
        }

        HostFile.Fstat(fd.Fd, out Stat st);
        string path = Absolute(rel).TrimEnd('/') + "/#" + st.st_ino.ToString(System.Globalization.CultureInfo.InvariantCulture) + " (deleted)";
        int status = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_NOATIME | OpenFlags.O_SYNC)) | OpenFlags.O_LARGEFILE;
        file = new HostFileDescription(fd, status) { Path = path, Volume = this };
        return 0;
    }

    /// <summary>
    /// Gives the open unnamed file <paramref name="f"/> (an O_TMPFILE file of this volume) the name
    /// <paramref name="rel"/>. Returns 0 or -errno: ENOENT when the host will not link it (opened with O_EXCL,
    /// or a file whose names are all gone), EEXIST, EROFS.
    /// </summary>
    public long LinkFile(HostFileDescription f, string rel) =>
        _tree.Change(new GoferRequest(GoferOp.LinkFd, (byte)Root, 0, 0, 0, 0, 0, rel, string.Empty), f.HostFd);

    /// <summary>Whether a node the gofer creates already has the owner Linux would give it: the creator is root.</summary>
    public static bool IsGofersOwn(Credentials c) => c.EffectiveUid == 0 && c.EffectiveGid == 0;

    /// <summary>
    /// Gives a node the gofer just created (as root) to the task that asked for it, as Linux would own it:
    /// the task's uid, and its gid unless the directory is set-group-id (the host already gave the node
    /// the directory's group then). Best effort: a gofer that cannot map the ids leaves root's.
    /// </summary>
    public void GiveToCreator(Task t, string rel, SafeFdHandle? fd)
    {
        int slash = rel.LastIndexOf('/');
        string parent = slash < 0 ? string.Empty : rel[..slash];
        uint gid = t.Credentials.EffectiveGid;
        if (Stat(parent, follow: true, out Stat dir) is { Continues: false, Result: 0 } && (dir.st_mode & Abi.Stat.S_ISGID) != 0)
        {
            gid = uint.MaxValue;
        }

        if (fd != null)
        {
            HostPathChange.Fchown(fd.Fd, t.Credentials.EffectiveUid, gid);
        }
        else
        {
            Change(GoferOp.Chown, rel, OpenFlags.AT_SYMLINK_NOFOLLOW, t.Credentials.EffectiveUid, gid);
        }
    }

    /// <summary>
    /// Opens a volume file for reading by the loader (execve): done with the fd, failed, or continuing where
    /// a symlink leads out of the volume.
    /// </summary>
    public PathStep OpenForExec(string rel, out SafeFdHandle? fd)
    {
        fd = _tree.Open(Root, rel, OpenFlags.O_RDONLY, 0, out long r);
        if (fd != null)
        {
            return PathStep.Ok;
        }

        return r == -Errno.EXDEV.Value ? Escape(rel, followLast: true) : PathStep.Done(r);
    }

    /// <summary>Stats a volume path: done, failed, or continuing where a symlink leads out.</summary>
    public PathStep Stat(string rel, bool follow, out Stat st)
    {
        st = default;
        using SafeFdHandle? fd = _tree.Open(Root, rel, OpenFlags.O_PATH | (follow ? 0 : OpenFlags.O_NOFOLLOW), 0, out long r);
        if (fd == null)
        {
            return r == -Errno.EXDEV.Value ? Escape(rel, follow) : PathStep.Done(r);
        }

        return PathStep.Done(HostFile.Fstat(fd.Fd, out st));
    }

    /// <summary>Reads a symlink of the volume: done with the target, failed, or continuing where a symlink leads out.</summary>
    public PathStep ReadLink(string rel, out string target)
    {
        target = _tree.ReadLink(Root, rel, out long r) ?? string.Empty;
        return r == -Errno.EXDEV.Value ? Escape(rel, followLast: false) : PathStep.Done(r < 0 ? r : 0);
    }

    /// <summary>
    /// Asks the gofer for a change (mkdir, unlink, chmod, ...) of <paramref name="rel"/>. Returns 0 or -errno;
    /// -EXDEV when a symlink on the way leads out (see <see cref="Escape"/>).
    /// </summary>
    public long Change(GoferOp op, string rel, int flags, long arg0 = 0, long arg1 = 0, long arg2 = 0, long arg3 = 0, string path2 = "") =>
        _tree.Change(new GoferRequest(op, (byte)Root, flags, arg0, arg1, arg2, arg3, rel, path2));

    /// <summary>
    /// The gofer refused a walk with EXDEV: find the symlink that leads out of the volume and continue at the
    /// path to walk instead (its target, resolved as Linux would, then the rest of the path). Fails with EXDEV
    /// when no symlink leads out (the host directory spans file systems), or with the walk's error.
    /// </summary>
    public PathStep Escape(string rel, bool followLast)
    {
        if (rel.Length == 0)
        {
            return PathStep.Fail(Errno.EXDEV);
        }

        string[] parts = rel.Split('/');
        if (parts.Length > MaxComponents)
        {
            return PathStep.Fail(Errno.ENAMETOOLONG);
        }

        string prefix = string.Empty;
        for (int i = 0; i < parts.Length; i++)
        {
            string dir = prefix;
            prefix = i == 0 ? parts[0] : prefix + "/" + parts[i];
            bool last = i == parts.Length - 1;
            using SafeFdHandle? fd = _tree.Open(Root, prefix, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW, 0, out long r);
            if (fd == null)
            {
                return PathStep.Done(r);
            }

            r = HostFile.Fstat(fd.Fd, out Stat st);
            if (r < 0)
            {
                return PathStep.Done(r);
            }

            uint type = st.st_mode & Abi.Stat.S_IFMT;
            if (type == Abi.Stat.S_IFLNK && (!last || followLast))
            {
                string? target = _tree.ReadLink(Root, prefix, out r);
                if (target == null)
                {
                    return PathStep.Done(r);
                }

                if (target.Length == 0)
                {
                    return PathStep.Fail(Errno.ENOENT);
                }

                string rest = last ? string.Empty : "/" + string.Join('/', parts, i + 1, parts.Length - i - 1);
                return PathStep.ContinueAt(PathStep.LinkTarget(Absolute(dir), target) + rest);
            }

            if (!last && type != Abi.Stat.S_IFDIR)
            {
                return PathStep.Fail(Errno.ENOTDIR);
            }
        }

        return PathStep.Fail(Errno.EXDEV);
    }
}
