using Moat.Abi;

namespace Moat.Host;

/// <summary>
/// Host calls that change a file tree, each relative to a directory fd the caller holds (the gofer, for
/// read-write volumes). Names are single components; no call here walks a path.
/// </summary>
public static unsafe class HostPathChange
{
    /// <summary>openat2(2) with a creation mode. Returns the fd or -errno.</summary>
    public static long Openat2(int dirfd, string path, int flags, int mode, ulong resolve)
    {
        byte[] p = CString(path);
        ulong* how = stackalloc ulong[3];
        how[0] = (ulong)(uint)flags;
        how[1] = (ulong)(uint)mode;
        how[2] = resolve;
        fixed (byte* pp = p)
        {
            while (true)
            {
                long r = HostProcess.Syscall(437 /* openat2 */, dirfd, (long)pp, (long)how, 24);
                if (r != -Errno.EINTR.Value && r != -Errno.EAGAIN.Value)
                {
                    return r;
                }
            }
        }
    }

    /// <summary>mkdirat(2).</summary>
    public static long Mkdirat(int dirfd, string name, int mode)
    {
        fixed (byte* n = CString(name))
        {
            return HostProcess.Syscall(Sysno.mkdirat, dirfd, (long)n, mode);
        }
    }

    /// <summary>unlinkat(2).</summary>
    public static long Unlinkat(int dirfd, string name, int flags)
    {
        fixed (byte* n = CString(name))
        {
            return HostProcess.Syscall(Sysno.unlinkat, dirfd, (long)n, flags);
        }
    }

    /// <summary>symlinkat(2). The target is stored, never followed here.</summary>
    public static long Symlinkat(string target, int dirfd, string name)
    {
        fixed (byte* tp = CString(target))
        fixed (byte* n = CString(name))
        {
            return HostProcess.Syscall(Sysno.symlinkat, (long)tp, dirfd, (long)n);
        }
    }

    /// <summary>linkat(2) without following a final symlink.</summary>
    public static long Linkat(int oldDirfd, string oldName, int newDirfd, string newName)
    {
        fixed (byte* o = CString(oldName))
        fixed (byte* n = CString(newName))
        {
            return HostProcess.Syscall(Sysno.linkat, oldDirfd, (long)o, newDirfd, (long)n, 0);
        }
    }

    /// <summary>mknodat(2) of a node that is no device (a unix socket's, a FIFO).</summary>
    public static long Mknodat(int dirfd, string name, int mode)
    {
        fixed (byte* n = CString(name))
        {
            return HostProcess.Syscall(Sysno.mknodat, dirfd, (long)n, mode, 0);
        }
    }

    /// <summary>linkat(2) following the old path's final link: a /proc/self/fd link names the open file itself.</summary>
    public static long LinkatFollow(int oldDirfd, string oldPath, int newDirfd, string newName)
    {
        fixed (byte* o = CString(oldPath))
        fixed (byte* n = CString(newName))
        {
            return HostProcess.Syscall(Sysno.linkat, oldDirfd, (long)o, newDirfd, (long)n, OpenFlags.AT_SYMLINK_FOLLOW);
        }
    }

    /// <summary>renameat2(2).</summary>
    public static long Renameat2(int oldDirfd, string oldName, int newDirfd, string newName, uint flags)
    {
        fixed (byte* o = CString(oldName))
        fixed (byte* n = CString(newName))
        {
            return HostProcess.Syscall(Sysno.renameat2, oldDirfd, (long)o, newDirfd, (long)n, flags);
        }
    }

    /// <summary>fchmodat2(fd, "", mode, AT_EMPTY_PATH): the mode of the inode an O_PATH fd holds.</summary>
    public static long FchmodFd(int fd, int mode)
    {
        byte empty = 0;
        return HostProcess.Syscall(Sysno.fchmodat2, fd, (long)&empty, mode, OpenFlags.AT_EMPTY_PATH);
    }

    /// <summary>fchownat(fd, "", uid, gid, AT_EMPTY_PATH): the owner of the inode an O_PATH fd holds.</summary>
    public static long FchownFd(int fd, uint uid, uint gid)
    {
        byte empty = 0;
        return HostProcess.Syscall(Sysno.fchownat, fd, (long)&empty, unchecked((int)uid), unchecked((int)gid), OpenFlags.AT_EMPTY_PATH);
    }

    /// <summary>utimensat(fd, "", times, AT_EMPTY_PATH): the times of the inode an O_PATH fd holds.</summary>
    public static long UtimensFd(int fd, Timespec atime, Timespec mtime)
    {
        byte empty = 0;
        Timespec* times = stackalloc Timespec[2];
        times[0] = atime;
        times[1] = mtime;
        return HostProcess.Syscall(Sysno.utimensat, fd, (long)&empty, (long)times, OpenFlags.AT_EMPTY_PATH);
    }

    /// <summary>fchmod(2) on an fd open for I/O.</summary>
    public static long Fchmod(int fd, int mode) => HostProcess.Syscall(Sysno.fchmod, fd, mode);

    /// <summary>fchown(2) on an fd open for I/O.</summary>
    public static long Fchown(int fd, uint uid, uint gid) => HostProcess.Syscall(Sysno.fchown, fd, unchecked((int)uid), unchecked((int)gid));

    /// <summary>utimensat(fd, NULL, times, 0): futimens(3).</summary>
    public static long Futimens(int fd, Timespec atime, Timespec mtime)
    {
        Timespec* times = stackalloc Timespec[2];
        times[0] = atime;
        times[1] = mtime;
        return HostProcess.Syscall(Sysno.utimensat, fd, 0, (long)times, 0);
    }

    /// <summary>fstatfs(2); <paramref name="buf"/> is a struct statfs (120 bytes).</summary>
    public static long Fstatfs(int fd, byte* buf) => HostProcess.Syscall(Sysno.fstatfs, fd, (long)buf);

    private static byte[] CString(string s)
    {
        byte[] b = new byte[LinuxString.Encoding.GetByteCount(s) + 1];
        LinuxString.Encoding.GetBytes(s, b);
        return b;
    }
}
