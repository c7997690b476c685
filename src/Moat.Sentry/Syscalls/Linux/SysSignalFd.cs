using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>signalfd(2) and signalfd4(2).</summary>
internal static class SysSignalFd
{
    private const ulong UnblockableMask = (1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1));

    /// <summary>Implements signalfd4(2): a new signalfd for fd -1, else a new mask for an existing one.</summary>
    public static long Signalfd4(Task t, in SyscallArgs a)
    {
        int fd = a.Int(0);
        int flags = a.Int(3);
        if (a.SizeT(2) != 8 || (flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(a.Pointer(1), out ulong mask) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        mask &= ~UnblockableMask;
        if (fd != -1)
        {
            FileDescription? f = t.Fds.Get(fd);
            if (f == null)
            {
                return -Errno.EBADF.Value;
            }

            try
            {
                if (f is not SignalFd sfd)
                {
                    return -Errno.EINVAL.Value;
                }

                sfd.Mask = mask;
                return fd;
            }
            finally
            {
                f.DecRef();
            }
        }

        var s = new SignalFd(t, mask, flags);
        int nfd = t.Fds.Add(s, (flags & OpenFlags.O_CLOEXEC) != 0, 0, (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        s.DecRef();
        return nfd;
    }

    /// <summary>Implements signalfd(2): signalfd4 without flags.</summary>
    public static long Signalfd(Task t, in SyscallArgs a) => Signalfd4(t, new SyscallArgs(a[0], a[1], a[2], 0));
}
