using System.Globalization;
using Moat.Abi;
using Moat.Host;

namespace Moat.Gofer;

/// <summary>
/// Volumes: host directories served read-only or read-write. Every path is walked by the host kernel with
/// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the volume's fd, so "..", absolute symlinks and
/// symlinks that climb out fail with EXDEV (the Sentry then resolves such a link itself, in the sandbox's
/// tree). A change is made by a *at call on the parent directory's fd with a single-component name,
/// so nothing is ever resolved by a host path string. A read-only volume answers the errors Linux gives
/// for a read-only bind mount, in Linux's order (ENOENT/ENOTDIR of the walk, then EEXIST for creating
/// calls, then EROFS).
/// </summary>
public sealed partial class GoferServer
{
    private const ulong Beneath = HostPath.RESOLVE_BENEATH | HostPath.RESOLVE_NO_MAGICLINKS;
    private const int VolumeOpenFlags = OpenFlags.O_ACCMODE | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_TRUNC |
        OpenFlags.O_APPEND | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_PATH |
        OpenFlags.O_NOATIME | OpenFlags.O_SYNC | OpenFlags.O_LARGEFILE | OpenFlags.O_TMPFILE;

    private int ServeVolume(VolumeRoot v, GoferRequest req, SafeFdHandle? received, byte[] reply, out int fdToSend)
    {
        fdToSend = -1;
        bool twoNames = req.Op is GoferOp.Symlink or GoferOp.Link or GoferOp.Rename;
        if (twoNames != (req.Path2.Length > 0))
        {
            return GoferProtocol.EncodeReply(reply, -Errno.EINVAL.Value, null);
        }

        bool follow = (req.Flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0;
        long r;
        switch (req.Op)
        {
            case GoferOp.Open:
                r = VolumeOpen(v, req.Path, req.Flags, (int)req.Arg0, _procSelfFd);
                fdToSend = r >= 0 ? (int)r : -1;
                return GoferProtocol.EncodeReply(reply, r < 0 ? (int)r : 0, null);
            case GoferOp.ReadLink:
                string? target = VolumeReadLink(v, req.Path, out r);
                return GoferProtocol.EncodeReply(reply, target == null ? (int)r : 0, target);
            case GoferOp.Mkdir:
                r = VolumeCreate(v, req.Path, (dir, name) => HostPathChange.Mkdirat(dir, name, (int)req.Arg0 & 0xFFF));
                break;
            case GoferOp.Mknod:
                // Only a unix socket's name: the gofer never makes devices, and a host FIFO would need the
                // Sentry to open it for I/O.
                int nodeMode = (int)req.Arg0;
                r = (nodeMode & ~0xFFF) != Stat.S_IFSOCK ? -Errno.EPERM.Value
                    : VolumeCreate(v, req.Path, (dir, name) => HostPathChange.Mknodat(dir, name, nodeMode));
                break;
            case GoferOp.LinkFd:
                r = received == null ? -Errno.EBADF.Value : VolumeLinkFd(v, received, req.Path, _procSelfFd);
                break;
            case GoferOp.Symlink:
                string linkTarget = req.Path2;
                r = VolumeCreate(v, req.Path, (dir, name) => HostPathChange.Symlinkat(linkTarget, dir, name));
                break;
            case GoferOp.Unlink:
                r = VolumeUnlink(v, req.Path, req.Flags);
                break;
            case GoferOp.Link:
                r = VolumeLink(v, req.Path, req.Path2);
                break;
            case GoferOp.Rename:
                r = VolumeRename(v, req.Path, req.Path2, (uint)req.Flags);
                break;
            case GoferOp.Chmod:
                int mode = (int)req.Arg0 & 0xFFF;
                r = VolumeSetAttr(v, req.Path, follow, fd => HostPathChange.FchmodFd(fd, mode));
                break;
            case GoferOp.Chown:
                uint uid = (uint)req.Arg0;
                uint gid = (uint)req.Arg1;
                r = VolumeSetAttr(v, req.Path, follow, fd => HostPathChange.FchownFd(fd, uid, gid));
                break;
            case GoferOp.Utimes:
                var atime = new Timespec { tv_sec = req.Arg0, tv_nsec = req.Arg1 };
                var mtime = new Timespec { tv_sec = req.Arg2, tv_nsec = req.Arg3 };
                r = VolumeSetAttr(v, req.Path, follow, fd => HostPathChange.UtimensFd(fd, atime, mtime));
                break;
            default:
                r = -Errno.ENOSYS.Value;
                break;
        }

        return GoferProtocol.EncodeReply(reply, (int)r, null);
    }

    // The host's name for a volume path: "." for the volume itself.
    private static string Rel(string path) => path.Length == 0 ? "." : path;

    // Opens a volume path as openat2 beneath the volume would; the empty path of a file volume is the
    // file itself (a copy of the root's fd), which no walk can reach.
    private static long OpenBeneath(VolumeRoot v, string path, int flags)
    {
        if (path.Length == 0 && v.IsFile)
        {
            return (flags & OpenFlags.O_DIRECTORY) != 0 ? -Errno.ENOTDIR.Value : HostFile.Fcntl(v.Fd.Fd, HostFile.F_DUPFD_CLOEXEC, 0);
        }

        return HostPath.Openat2(v.Fd.Fd, Rel(path), flags, Beneath);
    }

    // Opens the directory that holds path's last component (O_PATH, beneath the volume). Returns the fd or -errno.
    private static long OpenParent(VolumeRoot v, string path, out string name)
    {
        int slash = path.LastIndexOf('/');
        name = path[(slash + 1)..];
        string parent = slash < 0 ? "." : path[..slash];
        return HostPath.Openat2(v.Fd.Fd, parent, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, Beneath);
    }

    // Looks a volume path up without opening it for I/O: 0 with its type, or -errno.
    private static long Lookup(VolumeRoot v, string path, bool follow, out uint type)
    {
        type = 0;
        long fd = OpenBeneath(v, path, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC | (follow ? 0 : OpenFlags.O_NOFOLLOW));
        if (fd < 0)
        {
            return fd;
        }

        long r = HostFile.Fstat((int)fd, out Stat st);
        HostFile.Close((int)fd);
        type = st.st_mode & Stat.S_IFMT;
        return r;
    }

    /// <summary>Opens a path of a volume for I/O. Returns a new fd (owned by the caller) or -errno.</summary>
    public static long VolumeOpen(VolumeRoot v, string path, int flags, int mode, SafeFdHandle? procSelfFd = null)
    {
        flags &= ~OpenFlags.O_CLOEXEC;
        if ((flags & ~VolumeOpenFlags) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & OpenFlags.O_TMPFILE) == OpenFlags.O_TMPFILE)
        {
            return VolumeOpenTmpfile(v, path, flags, mode);
        }

        bool create = (flags & OpenFlags.O_CREAT) != 0;
        bool excl = create && (flags & OpenFlags.O_EXCL) != 0;
        bool follow = (flags & OpenFlags.O_NOFOLLOW) == 0 && !excl;
        if ((flags & OpenFlags.O_PATH) != 0)
        {
            return OpenBeneath(v, path, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC | (flags & (OpenFlags.O_NOFOLLOW | OpenFlags.O_DIRECTORY)));
        }

        bool write = (flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int pathFlags = OpenFlags.O_PATH | OpenFlags.O_CLOEXEC | (follow ? 0 : OpenFlags.O_NOFOLLOW) | (flags & OpenFlags.O_DIRECTORY);
            long pfd = OpenBeneath(v, path, pathFlags);
            if (pfd == -Errno.ENOENT.Value && create)
            {
                // A new name: the parent's walk decides ENOENT/ENOTDIR before a read-only volume says EROFS.
                long dir = OpenParent(v, path, out string name);
                if (dir < 0)
                {
                    return dir;
                }

                using var dirFd = new SafeFdHandle((int)dir);
                if (v.ReadOnly)
                {
                    return -Errno.EROFS.Value;
                }

                if ((flags & OpenFlags.O_DIRECTORY) != 0)
                {
                    return -Errno.EINVAL.Value; // O_CREAT | O_DIRECTORY, as Linux since 6.4
                }

                // O_EXCL: we create a fresh regular file, never open something that appeared meanwhile.
                int createFlags = (flags & ~(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY)) | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC | OpenFlags.O_NOCTTY;
                long fd = HostPathChange.Openat2(dirFd.Fd, name, createFlags, mode & 0xFFF, Beneath);
                if (fd == -Errno.EEXIST.Value && !excl)
                {
                    continue; // raced with a creation (or a dangling symlink): look again
                }

                return fd;
            }

            if (pfd < 0)
            {
                return pfd;
            }

            using var pathFd = new SafeFdHandle((int)pfd);
            if (excl)
            {
                return -Errno.EEXIST.Value;
            }

            long r = HostFile.Fstat(pathFd.Fd, out Stat st);
            if (r < 0)
            {
                return r;
            }

            uint type = st.st_mode & Stat.S_IFMT;
            if (type == Stat.S_IFLNK)
            {
                return -Errno.ELOOP.Value;
            }

            if (type == Stat.S_IFDIR && (write || create))
            {
                return -Errno.EISDIR.Value;
            }

            if (type != Stat.S_IFREG && type != Stat.S_IFDIR)
            {
                return -Errno.EACCES.Value; // devices, FIFOs and sockets are never opened for I/O
            }

            if (write && v.ReadOnly)
            {
                return -Errno.EROFS.Value;
            }

            // Reopen the very inode we checked, through our own fd: no path is walked a second time.
            int ioFlags = (flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW | OpenFlags.O_DIRECTORY)) | OpenFlags.O_CLOEXEC | OpenFlags.O_NOCTTY;
            return ReopenChecked(procSelfFd, pathFd, ioFlags);
        }

        return -Errno.EEXIST.Value; // a dangling symlink where O_CREAT would create its target: not followed
    }

    // open(O_TMPFILE): an unnamed file in the directory path (followed, as Linux's do_tmpfile looks it up), after
    // EROFS of a read-only volume. The host answers for the rest (EOPNOTSUPP where its file system has none).
    private static long VolumeOpenTmpfile(VolumeRoot v, string path, int flags, int mode)
    {
        if ((flags & (OpenFlags.O_CREAT | OpenFlags.O_PATH)) != 0 || (flags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY)
        {
            return -Errno.EINVAL.Value;
        }

        long dir = OpenBeneath(v, path, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
        if (dir < 0)
        {
            return dir;
        }

        using var dirFd = new SafeFdHandle((int)dir);
        if (v.ReadOnly)
        {
            return -Errno.EROFS.Value;
        }

        int tmpFlags = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_TMPFILE | OpenFlags.O_EXCL | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_NOATIME | OpenFlags.O_SYNC | OpenFlags.O_LARGEFILE)) | OpenFlags.O_CLOEXEC;
        return HostPathChange.Openat2(dirFd.Fd, ".", tmpFlags, mode & 0xFFF, Beneath);
    }

    /// <summary>Reads a symlink of a volume. Returns the target or null with -errno.</summary>
    public static string? VolumeReadLink(VolumeRoot v, string path, out long error)
    {
        long fd = OpenBeneath(v, path, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC);
        if (fd < 0)
        {
            error = fd;
            return null;
        }

        using var pathFd = new SafeFdHandle((int)fd);
        error = HostFile.Fstat(pathFd.Fd, out Stat st);
        if (error < 0)
        {
            return null;
        }

        if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFLNK)
        {
            error = -Errno.EINVAL.Value;
            return null;
        }

        return HostPath.ReadLinkFd(pathFd.Fd, out error);
    }

    // mkdir and symlink: Linux's filename_create, where an existing name (EEXIST) wins over EROFS.
    private static long VolumeCreate(VolumeRoot v, string path, System.Func<int, string, long> make)
    {
        if (path.Length == 0)
        {
            return -Errno.EEXIST.Value; // the volume's own directory
        }

        long dir = OpenParent(v, path, out string name);
        if (dir < 0)
        {
            return dir;
        }

        using var dirFd = new SafeFdHandle((int)dir);
        if (v.ReadOnly)
        {
            long fd = HostPath.Openat2(dirFd.Fd, name, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, Beneath);
            if (fd >= 0)
            {
                HostFile.Close((int)fd);
                return -Errno.EEXIST.Value;
            }

            return fd == -Errno.ENOENT.Value ? -Errno.EROFS.Value : fd;
        }

        return make(dirFd.Fd, name);
    }

    // unlink and rmdir: Linux asks for write access to the mount before it looks the last name up.
    private static long VolumeUnlink(VolumeRoot v, string path, int flags)
    {
        if ((flags & ~OpenFlags.AT_REMOVEDIR) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (path.Length == 0)
        {
            // The mount point itself: a directory is EISDIR to unlink, a file is busy (and not a directory).
            bool rmdir = (flags & OpenFlags.AT_REMOVEDIR) != 0;
            return v.IsFile ? (rmdir ? -Errno.ENOTDIR.Value : -Errno.EBUSY.Value) : rmdir ? -Errno.EBUSY.Value : -Errno.EISDIR.Value;
        }

        long dir = OpenParent(v, path, out string name);
        if (dir < 0)
        {
            return dir;
        }

        using var dirFd = new SafeFdHandle((int)dir);
        return v.ReadOnly ? -Errno.EROFS.Value : HostPathChange.Unlinkat(dirFd.Fd, name, flags);
    }

    // link: the old name must exist; then the new name is made as mkdir's is.
    private static long VolumeLink(VolumeRoot v, string oldPath, string newPath)
    {
        long r = Lookup(v, oldPath, follow: false, out uint type);
        if (r < 0)
        {
            return r;
        }

        if (newPath.Length == 0)
        {
            return -Errno.EEXIST.Value;
        }

        if (oldPath.Length == 0 || type == Stat.S_IFDIR)
        {
            // Checked by vfs_link after the new name is known to be free.
            return VolumeCreate(v, newPath, (_, _) => -Errno.EPERM.Value);
        }

        long od = OpenParent(v, oldPath, out string oldName);
        if (od < 0)
        {
            return od;
        }

        using var oldDir = new SafeFdHandle((int)od);
        return VolumeCreate(v, newPath, (dir, name) => HostPathChange.Linkat(oldDir.Fd, oldName, dir, name));
    }

    // linkat of an open file without a name (O_TMPFILE) through our /proc/self/fd, which asks for no
    // capability (AT_EMPTY_PATH would). Only a regular file with no links is taken: the host kernel then links
    // it only if it is an O_TMPFILE file opened without O_EXCL (else ENOENT), so no file named elsewhere on the
    // host can be given a name in the volume this way.
    private static long VolumeLinkFd(VolumeRoot v, SafeFdHandle file, string newPath, SafeFdHandle? procSelfFd)
    {
        long r = HostFile.Fstat(file.Fd, out Stat st);
        if (r < 0)
        {
            return r;
        }

        if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFREG || st.st_nlink != 0)
        {
            return -Errno.EINVAL.Value;
        }

        string fdName = file.Fd.ToString(CultureInfo.InvariantCulture);
        return VolumeCreate(v, newPath, (dir, name) => procSelfFd != null
            ? HostPathChange.LinkatFollow(procSelfFd.Fd, fdName, dir, name)
            : HostPathChange.LinkatFollow(OpenFlags.AT_FDCWD, "/proc/self/fd/" + fdName, dir, name));
    }

    // rename: both parents are walked, then write access to the mount is asked, then the names are looked up.
    private static long VolumeRename(VolumeRoot v, string oldPath, string newPath, uint flags)
    {
        if (oldPath.Length == 0 || newPath.Length == 0)
        {
            return -Errno.EBUSY.Value; // the volume's own directory is a mount point
        }

        long od = OpenParent(v, oldPath, out string oldName);
        if (od < 0)
        {
            return od;
        }

        using var oldDir = new SafeFdHandle((int)od);
        long nd = OpenParent(v, newPath, out string newName);
        if (nd < 0)
        {
            return nd;
        }

        using var newDir = new SafeFdHandle((int)nd);
        return v.ReadOnly ? -Errno.EROFS.Value : HostPathChange.Renameat2(oldDir.Fd, oldName, newDir.Fd, newName, flags);
    }

    // chmod, chown, utimensat: the path is looked up (following as asked), then the inode's fd is changed.
    private static long VolumeSetAttr(VolumeRoot v, string path, bool follow, System.Func<int, long> change)
    {
        long fd = OpenBeneath(v, path, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC | (follow ? 0 : OpenFlags.O_NOFOLLOW));
        if (fd < 0)
        {
            return fd;
        }

        using var pathFd = new SafeFdHandle((int)fd);
        return v.ReadOnly ? -Errno.EROFS.Value : change(pathFd.Fd);
    }
}
