using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Mounts;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// open(O_TMPFILE) and linking an open file by its descriptor (linkat with AT_EMPTY_PATH, or through a
/// /proc/PID/fd link with AT_SYMLINK_FOLLOW): an unnamed file on the Sentry's tmpfs or in the overlay's upper
/// layer that may be given a name later, as Linux's vfs_tmpfile and I_LINKABLE allow.
/// </summary>
internal static class TmpfileOps
{
    private const int TmpfileMask = OpenFlags.O_TMPFILE | OpenFlags.O_CREAT;

    /// <summary>Opens a new unnamed file in the directory <paramref name="absolute"/>. Returns 0 with the file or -errno.</summary>
    public static long Open(Task t, string absolute, int flags, int mode, out FileDescription? file)
    {
        file = null;
        // build_open_flags: O_TMPFILE means O_DIRECTORY too, never O_CREAT, and it must be opened to write.
        if ((flags & TmpfileMask) != OpenFlags.O_TMPFILE || (flags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY || (flags & OpenFlags.O_PATH) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = PathAccess.MayWalk(t, absolute, followLast: true);
        if (r < 0)
        {
            return r;
        }

        r = PathOps.StatUnchecked(t, absolute, follow: true, out Stat dir);
        if (r < 0)
        {
            return r;
        }

        if ((dir.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
        {
            return -Errno.ENOTDIR.Value;
        }

        string real = PathOps.ResolveLinks(t, absolute);
        Mount m = t.Group.Mounts.Find(real, out _);
        if (m.ReadOnly)
        {
            return -Errno.EROFS.Value;
        }

        if (Permissions.Check(t.Credentials, dir, Permissions.MayWrite | Permissions.MayExec) != Errno.None)
        {
            return -Errno.EACCES.Value;
        }

        Tmpfs.Tmpfs? fs = m.Kind switch
        {
            MountKind.Tmpfs => m.Tmpfs,
            MountKind.Overlay => t.Kernel.Upper,
            _ => null,
        };
        if (fs == null)
        {
            return -Errno.EOPNOTSUPP.Value; // volumes and /proc have no unnamed files
        }

        (uint uid, uint gid, uint perm) = Permissions.NewNode(t.Credentials, dir, (uint)(mode & ~t.Group.Umask) & 0xFFF, isDir: false);
        var node = new TmpfsRegular(fs, perm, uid, gid) { Nlink = 0, Linkable = (flags & OpenFlags.O_EXCL) == 0 };
        string path = (real.Length == 1 ? string.Empty : real) + "/#" + node.Ino.ToString(System.Globalization.CultureInfo.InvariantCulture) + " (deleted)";
        file = new TmpfsFile(node, (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_NOATIME)) | OpenFlags.O_LARGEFILE, path)
        {
            OpenedBy = t.Credentials,
        };
        return 0;
    }

    /// <summary>
    /// Gives the open file <paramref name="f"/> the name <paramref name="newAbsolute"/> (linkat of a descriptor).
    /// Returns 0 or -errno: ENOENT for a file whose last name is gone (unless it is an O_TMPFILE file opened
    /// without O_EXCL), EPERM for a directory, EXDEV across file systems.
    /// </summary>
    public static long Link(Task t, FileDescription f, string newAbsolute)
    {
        long r = PathAccess.MayCreate(t, newAbsolute);
        if (r < 0)
        {
            return r;
        }

        if (f.Stat(out Stat st) == 0 && (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR)
        {
            return -Errno.EPERM.Value;
        }

        if (f is not TmpfsFile { Node: TmpfsNode node })
        {
            // A host file (of the overlay or a volume) is linked by the name it was opened with.
            return f is HostFileDescription { Path: string p } ? PathOps.Link(t, p, newAbsolute) : -Errno.ENOENT.Value;
        }

        if (node.Nlink == 0 && !(node is TmpfsRegular { Linkable: true }))
        {
            return -Errno.ENOENT.Value;
        }

        // Symlinks on the way to the new name are followed, as linkat's walk of its parent follows them.
        string norm = PathResolver.Normalize(newAbsolute);
        int cut = norm.LastIndexOf('/');
        if (cut > 0)
        {
            norm = PathResolver.Normalize(PathOps.ResolveLinks(t, norm[..cut]).TrimEnd('/') + norm[cut..]);
        }

        Mount m = t.Group.Mounts.Find(norm, out string inner);
        if (PathOps.StatUnchecked(t, norm, follow: false, out _) == 0)
        {
            return -Errno.EEXIST.Value;
        }

        if (m.ReadOnly)
        {
            return -Errno.EROFS.Value;
        }

        if (m.Kind == MountKind.Overlay)
        {
            if (node.Fs != t.Kernel.Upper)
            {
                return -Errno.EXDEV.Value;
            }

            ulong before = node.Nlink;
            r = Overlay.Create(t, inner, 0, null, node);
            if (r == 0 && before == 0 && node is TmpfsRegular reg)
            {
                reg.Linkable = false;
            }

            return r;
        }

        if (m.Tmpfs is not Tmpfs.Tmpfs fs || fs != node.Fs)
        {
            return -Errno.EXDEV.Value;
        }

        lock (fs.Mu)
        {
            PathStep w = fs.WalkParentLocked(inner, out TmpfsDirectory? parent, out string name, m);
            if (w.Continues || w.Failed)
            {
                // The parent was resolved above: a link found now was made meanwhile.
                return w.Continues ? -Errno.ENOENT.Value : w.Result;
            }

            if (parent!.Children.ContainsKey(name))
            {
                return -Errno.EEXIST.Value;
            }

            parent.Children[name] = node;
            node.Nlink++;
            if (node is TmpfsRegular reg)
            {
                reg.Linkable = false;
            }

            node.Touch(modified: false);
            parent.Touch(modified: true);
            return 0;
        }
    }
}
