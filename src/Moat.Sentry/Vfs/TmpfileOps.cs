using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Mounts;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// open(O_TMPFILE) and linking an open file by its descriptor (linkat with AT_EMPTY_PATH, or through a
/// /proc/PID/fd link with AT_SYMLINK_FOLLOW): an unnamed file on the Sentry's tmpfs or in the overlay's upper
/// layer that may be given a name later, as Linux's vfs_tmpfile and I_LINKABLE allow. On a read-write volume
/// the unnamed file is the host's own (the gofer opens it with O_TMPFILE and links it by its fd).
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
        Mount m = t.Group.Mounts.Find(real, out string inner);
        if (m.ReadOnly)
        {
            return -Errno.EROFS.Value;
        }

        if (Permissions.Check(t.Credentials, dir, Permissions.MayWrite | Permissions.MayExec) != Errno.None)
        {
            return -Errno.EACCES.Value;
        }

        (uint uid, uint gid, uint perm) = Permissions.NewNode(t.Credentials, dir, (uint)(mode & ~t.Group.Umask) & 0xFFF, isDir: false);
        if (m.Volume is Volume v)
        {
            r = v.OpenTmpfile(t, inner, flags, uid, gid, perm, out file);
            if (file != null)
            {
                file.OpenedBy = t.Credentials;
            }

            return r;
        }

        Tmpfs.Tmpfs? fs = m.Kind switch
        {
            MountKind.Tmpfs => m.Tmpfs,
            MountKind.Overlay => t.Kernel.Upper,
            _ => null,
        };
        if (fs == null)
        {
            return -Errno.EOPNOTSUPP.Value; // /proc and /sys have no unnamed files
        }

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
        // The walk to the new name now; write permission on its directory after EEXIST, EROFS and EXDEV, as
        // vfs_link asks for it (may_create) only once do_linkat knows both names are on one mount.
        long r = PathAccess.MayWalk(t, newAbsolute);
        if (r < 0)
        {
            return r;
        }

        r = f.Stat(out Stat st);
        if (r == 0 && (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR)
        {
            return -Errno.EPERM.Value;
        }

        if (f is HostFileDescription { Volume: Volume } hf && st.st_nlink == 0)
        {
            return LinkOnVolume(t, hf, newAbsolute);
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

        string norm = ResolveParent(t, newAbsolute);
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

            r = PathAccess.MayCreate(t, newAbsolute);
            if (r < 0)
            {
                return r;
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

        r = PathAccess.MayCreate(t, newAbsolute);
        if (r < 0)
        {
            return r;
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

    // Symlinks on the way to the new name are followed, as linkat's walk of its parent follows them.
    private static string ResolveParent(Task t, string newAbsolute)
    {
        string norm = PathResolver.Normalize(newAbsolute);
        int cut = norm.LastIndexOf('/');
        return cut > 0 ? PathResolver.Normalize(PathOps.ResolveLinks(t, norm[..cut]).TrimEnd('/') + norm[cut..]) : norm;
    }

    // An unnamed file of a volume (an O_TMPFILE file, or one whose names are gone): the gofer links the open
    // file itself, in the same mount only. The host refuses what Linux refuses (ENOENT for O_EXCL or a file
    // that had names), after the new name's EEXIST, EROFS and EXDEV (do_linkat's order).
    private static long LinkOnVolume(Task t, HostFileDescription f, string newAbsolute)
    {
        string norm = ResolveParent(t, newAbsolute);
        Mount m = t.Group.Mounts.Find(norm, out string inner);
        if (PathOps.StatUnchecked(t, norm, follow: false, out _) == 0)
        {
            return -Errno.EEXIST.Value;
        }

        if (m.ReadOnly)
        {
            return -Errno.EROFS.Value;
        }

        if (m.Volume != f.Volume || inner.Length == 0)
        {
            return -Errno.EXDEV.Value;
        }

        long r = PathAccess.MayCreate(t, newAbsolute);
        r = r < 0 ? r : f.Volume!.LinkFile(f, inner);
        if (r == 0)
        {
            f.Path = norm; // named now: /proc/PID/fd shows it, and a further linkat links it by this name
        }

        return r;
    }
}
