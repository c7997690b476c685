using Moat.Abi;

namespace Moat.Host;

/// <summary>
/// The mount calls that confine a process to one directory tree: the new mount API (open_tree,
/// move_mount, mount_setattr, fsopen/fsmount) and pivot_root. Each returns a new fd or 0, or -errno.
/// Only for a process that is alone in a fresh mount namespace.
/// </summary>
public static unsafe class HostMount
{
    public const ulong MOUNT_ATTR_RDONLY = 0x1;
    public const ulong MOUNT_ATTR_NOSUID = 0x2;
    public const ulong MOUNT_ATTR_NODEV = 0x4;
    public const ulong MOUNT_ATTR_NOEXEC = 0x8;

    private const int MS_REC = 0x4000;
    private const int MS_PRIVATE = 0x40000;
    private const int OPEN_TREE_CLONE = 1;
    private const int AT_RECURSIVE = 0x8000;
    private const int AT_EMPTY_PATH = 0x1000;
    private const int MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    private const int MOVE_MOUNT_T_EMPTY_PATH = 0x40;
    private const int FSOPEN_CLOEXEC = 1;
    private const int FSCONFIG_SET_STRING = 1;
    private const int FSCONFIG_CMD_CREATE = 6;
    private const int FSMOUNT_CLOEXEC = 1;
    private const int MNT_DETACH = 2;

    /// <summary>mount(NULL, "/", NULL, MS_REC|MS_PRIVATE): nothing done here propagates to the host, nor back.</summary>
    public static long MakeAllPrivate()
    {
        byte* slash = stackalloc byte[] { (byte)'/', 0 };
        return HostProcess.Syscall(Sysno.mount, 0, (long)slash, 0, MS_REC | MS_PRIVATE, 0);
    }

    /// <summary>open_tree(CLONE|RECURSIVE): a detached copy of the mount tree at <paramref name="dirFd"/>.</summary>
    public static long CloneTree(int dirFd)
    {
        byte empty = 0;
        return HostProcess.Syscall(Sysno.open_tree, dirFd, (long)&empty, OPEN_TREE_CLONE | OpenFlags.O_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    }

    /// <summary>mount_setattr(AT_RECURSIVE): sets <paramref name="attrSet"/> and private propagation on a whole tree.</summary>
    public static long SetAttributes(int mountFd, ulong attrSet)
    {
        byte empty = 0;
        ulong* attr = stackalloc ulong[4] { attrSet, 0, MS_PRIVATE, 0 }; // struct mount_attr
        return HostProcess.Syscall(Sysno.mount_setattr, mountFd, (long)&empty, AT_EMPTY_PATH | AT_RECURSIVE, (long)attr, 32);
    }

    /// <summary>move_mount: attaches the detached tree <paramref name="mountFd"/> on top of directory <paramref name="targetFd"/>.</summary>
    public static long Attach(int mountFd, int targetFd)
    {
        byte empty = 0;
        return HostProcess.Syscall(Sysno.move_mount, mountFd, (long)&empty, targetFd, (long)&empty, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    }

    /// <summary>
    /// Makes the attached mount <paramref name="mountFd"/> the root of every thread (pivot_root(".", ".")
    /// from inside it) and detaches the old root, so no path outside the new root is reachable any more.
    /// </summary>
    public static long PivotInto(int mountFd)
    {
        byte* dot = stackalloc byte[] { (byte)'.', 0 };
        byte* slash = stackalloc byte[] { (byte)'/', 0 };
        long r = HostProcess.Syscall(Sysno.fchdir, mountFd);
        if (r < 0)
        {
            return r;
        }

        r = HostProcess.Syscall(Sysno.pivot_root, (long)dot, (long)dot);
        if (r < 0)
        {
            return r;
        }

        r = HostProcess.Syscall(Sysno.umount2, (long)dot, MNT_DETACH);
        return r < 0 ? r : HostProcess.Syscall(Sysno.chdir, (long)slash);
    }

    /// <summary>
    /// A new, detached, read-only procfs of this process's PID namespace: it lists only the processes of that
    /// namespace, and its system-wide files can be read (cpuinfo, meminfo) but not written. Returns its mount fd.
    /// </summary>
    public static long NewReadOnlyProc()
    {
        byte* proc = stackalloc byte[] { (byte)'p', (byte)'r', (byte)'o', (byte)'c', 0 };
        long fs = HostProcess.Syscall(Sysno.fsopen, (long)proc, FSOPEN_CLOEXEC);
        if (fs < 0)
        {
            return fs;
        }

        try
        {
            long r = HostProcess.Syscall(Sysno.fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0);
            return r < 0 ? r : HostProcess.Syscall(Sysno.fsmount, fs, FSMOUNT_CLOEXEC, (long)(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
        }
        finally
        {
            HostFile.Close((int)fs);
        }
    }

    /// <summary>
    /// A new, detached, read-only procfs that shows only processes (subset=pid): no /proc/sys to write, no
    /// system-wide files, only the processes of this PID namespace. Returns its mount fd.
    /// </summary>
    public static long NewProcessOnlyProc() => NewMount("proc", "subset", "pid", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);

    /// <summary>A new, detached, small tmpfs (nosuid, nodev, noexec), writable until made read-only. Returns its mount fd.</summary>
    public static long NewSmallTmpfs() => NewMount("tmpfs", "size", "16k", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);

    // fsopen(type), one string option, create, fsmount with the given attributes.
    private static long NewMount(string type, string key, string value, ulong attributes)
    {
        byte[] t = System.Text.Encoding.ASCII.GetBytes(type + "\0");
        byte[] k = System.Text.Encoding.ASCII.GetBytes(key + "\0");
        byte[] v = System.Text.Encoding.ASCII.GetBytes(value + "\0");
        long fs;
        fixed (byte* pt = t)
        {
            fs = HostProcess.Syscall(Sysno.fsopen, (long)pt, FSOPEN_CLOEXEC);
        }

        if (fs < 0)
        {
            return fs;
        }

        try
        {
            long r;
            fixed (byte* pk = k)
            fixed (byte* pv = v)
            {
                r = HostProcess.Syscall(Sysno.fsconfig, fs, FSCONFIG_SET_STRING, (long)pk, (long)pv, 0);
            }

            if (r >= 0)
            {
                r = HostProcess.Syscall(Sysno.fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0);
            }

            return r < 0 ? r : HostProcess.Syscall(Sysno.fsmount, fs, FSMOUNT_CLOEXEC, (long)attributes);
        }
        finally
        {
            HostFile.Close((int)fs);
        }
    }
}
