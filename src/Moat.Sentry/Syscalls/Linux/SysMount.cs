using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Mounts;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>mount(2), umount2(2) and umount: argument decoding; the work is <see cref="Mounting"/>'s.</summary>
internal static class SysMount
{
    /// <summary>Implements mount(2).</summary>
    public static long Mount(Task t, in SyscallArgs a)
    {
        long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(1), followLast: true, out string target);
        if (r < 0)
        {
            return r;
        }

        ulong flags = a[3];
        r = CopyInOptional(t, a.Pointer(0), PathResolver.PathMax - 1, out string? source);
        if (r < 0)
        {
            return r;
        }

        r = CopyInOptional(t, a.Pointer(2), PathResolver.PathMax - 1, out string? fsType);
        if (r < 0)
        {
            return r;
        }

        // The data is one page at most (copy_mount_options); tmpfs and proc read it as a string.
        r = CopyInOptional(t, a.Pointer(4), (int)Mman.PageSize - 1, out string? data);
        if (r == -Errno.ENAMETOOLONG.Value)
        {
            return -Errno.EINVAL.Value;
        }

        if (r < 0)
        {
            return r;
        }

        if (source != null && (flags & (MountOptions.MS_BIND | MountOptions.MS_MOVE)) != 0)
        {
            r = PathResolver.Resolve(t, OpenFlags.AT_FDCWD, source, followLast: true, out source);
            if (r < 0)
            {
                return r;
            }
        }

        return Mounting.Mount(t, source, target, fsType, flags, data);
    }

    /// <summary>Implements umount2(2).</summary>
    public static long Umount2(Task t, in SyscallArgs a)
    {
        long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), followLast: (a.Int(1) & Mounting.UMOUNT_NOFOLLOW) == 0, out string target);
        return r < 0 ? r : Mounting.Umount(t, target, a.Int(1));
    }

    // A string argument that may be NULL.
    private static long CopyInOptional(Task t, ulong addr, int max, out string? value)
    {
        value = null;
        if (addr == 0)
        {
            return 0;
        }

        long r = t.MM.CopyInString(addr, max, out string s);
        value = s;
        return r;
    }
}
