using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// The signal-driven I/O commands of fcntl(2) (F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX, F_SETSIG,
/// F_GETSIG) and FIOASYNC, as fs/fcntl.c and fs/ioctl.c answer them.
/// </summary>
internal static class SysFcntlOwner
{
    public const int F_SETOWN = 8;
    public const int F_GETOWN = 9;
    public const int F_SETSIG = 10;
    public const int F_GETSIG = 11;
    public const int F_SETOWN_EX = 15;
    public const int F_GETOWN_EX = 16;
    public const uint FIOASYNC = 0x5452;

    /// <summary>Serves one of the commands above on <paramref name="f"/>. Returns the result or -errno.</summary>
    public static long Fcntl(Task t, FileDescription f, int cmd, ulong arg)
    {
        switch (cmd)
        {
            case F_SETOWN:
            {
                // f_setown: a negative argument names a process group.
                int who = (int)arg;
                if (who == int.MinValue)
                {
                    return -Errno.EINVAL.Value;
                }

                int type = who < 0 ? FileAsync.F_OWNER_PGRP : FileAsync.F_OWNER_PID;
                who = t.Kernel.GlobalOf(t.PidNs, Math.Abs(who)); // the owner is kept by its global id
                if ((who == 0 && arg != 0) || (who != 0 && !PidExists(t.Kernel, who)))
                {
                    return -Errno.ESRCH.Value;
                }

                f.Async.SetOwner(t, type, who);
                return 0;
            }

            case F_GETOWN:
            {
                (int type, int id) = f.Async.Owner;
                id = t.Kernel.IdIn(t.PidNs, id);
                return type == FileAsync.F_OWNER_PGRP ? -id : id;
            }

            case F_SETOWN_EX:
            {
                Span<int> ex = stackalloc int[2];
                if (t.MM.CopyIn(arg, System.Runtime.InteropServices.MemoryMarshal.AsBytes(ex)) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                if (ex[0] is not (FileAsync.F_OWNER_TID or FileAsync.F_OWNER_PID or FileAsync.F_OWNER_PGRP))
                {
                    return -Errno.EINVAL.Value;
                }

                int global = ex[1] > 0 ? t.Kernel.GlobalOf(t.PidNs, ex[1]) : 0;
                if (ex[1] != 0 && (ex[1] < 0 || global == 0 || !PidExists(t.Kernel, global)))
                {
                    return -Errno.ESRCH.Value;
                }

                f.Async.SetOwner(t, ex[0], global);
                return 0;
            }

            case F_GETOWN_EX:
            {
                (int type, int id) = f.Async.Owner;
                Span<int> ex = [type, t.Kernel.IdIn(t.PidNs, id)];
                return t.MM.CopyOut(arg, System.Runtime.InteropServices.MemoryMarshal.AsBytes(ex)) < 0 ? -Errno.EFAULT.Value : 0;
            }

            case F_SETSIG:
                if (arg > Signal.SIGRTMAX)
                {
                    return -Errno.EINVAL.Value;
                }

                f.Async.Signal = (int)arg;
                return 0;

            case F_GETSIG:
                return f.Async.Signal;

            default:
                return -Errno.EINVAL.Value;
        }
    }

    /// <summary>
    /// ioctl_fioasync: turns O_ASYNC on or off; ENOTTY where the file has no fasync. Returns 0 or -errno.
    /// </summary>
    public static long Fioasync(Task t, FileDescription f, int fd, ulong arg)
    {
        if (t.MM.CopyIn(arg, out int on) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return ((f.StatusFlags & OpenFlags.O_ASYNC) != 0) == (on != 0) || f.SetAsync(fd, on != 0) ? 0 : -Errno.ENOTTY.Value;
    }

    // find_vpid: a pid in use by a task, a process (zombies too), a process group or a session.
    private static bool PidExists(Kernel.Kernel k, int pid)
    {
        if (k.FindTask(pid) != null)
        {
            return true;
        }

        lock (k.TreeMu)
        {
            if (k.FindGroupLocked(pid) != null)
            {
                return true;
            }

            foreach (ThreadGroup g in k.AllGroupsLocked())
            {
                if (g.ProcessGroup == pid || g.Session == pid)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
