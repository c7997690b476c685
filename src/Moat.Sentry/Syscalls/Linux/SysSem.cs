using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>semget(2), semop(2), semtimedop(2), semctl(2): SysV semaphores.</summary>
internal static class SysSem
{
    /// <summary>Implements semget(2).</summary>
    public static long Semget(Task t, in SyscallArgs a) => t.Kernel.Ipc.Sem.Get(t.Credentials, a.Int(0), a.Int(1), a.Int(2));

    /// <summary>Implements semop(2).</summary>
    public static long Semop(Task t, in SyscallArgs a) => DoSemop(t, a.Int(0), a.Pointer(1), a.UInt(2), -1);

    /// <summary>Implements semtimedop(2): a relative timeout; running out is EAGAIN.</summary>
    public static long Semtimedop(Task t, in SyscallArgs a)
    {
        int timeoutMs = -1;
        ulong ts = a.Pointer(3);
        if (ts != 0)
        {
            if (t.MM.CopyIn(ts, out Timespec spec) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (a.UInt(2) >= 1 && a.Int(0) >= 0 && a.UInt(2) <= SemRegistry.MaxOps &&
                (spec.tv_sec < 0 || spec.tv_nsec < 0 || spec.tv_nsec >= 1_000_000_000))
            {
                // Linux reads the operations first; an unreadable array is still EFAULT.
                Span<SemBuf> ops = stackalloc SemBuf[(int)a.UInt(2)];
                long check = ReadOps(t, a.Pointer(1), ops);
                return check < 0 ? check : -Errno.EINVAL.Value;
            }

            long ms = (spec.tv_sec * 1000) + ((spec.tv_nsec + 999_999) / 1_000_000);
            timeoutMs = spec.tv_sec > int.MaxValue / 1000 ? int.MaxValue : (int)Math.Min(ms, int.MaxValue);
        }

        return DoSemop(t, a.Int(0), a.Pointer(1), a.UInt(2), timeoutMs);
    }

    private static long DoSemop(Task t, int id, ulong sops, uint nsops, int timeoutMs)
    {
        if (nsops < 1 || id < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (nsops > SemRegistry.MaxOps)
        {
            return -Errno.E2BIG.Value;
        }

        // At most SEMOPM (500) operations of 6 bytes: the fast path reads them onto the stack.
        Span<SemBuf> ops = stackalloc SemBuf[(int)nsops];
        long r = ReadOps(t, sops, ops);
        return r < 0 ? r : t.Kernel.Ipc.Sem.Op(t, id, ops, timeoutMs);
    }

    private static long ReadOps(Task t, ulong addr, Span<SemBuf> ops)
    {
        Span<byte> bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(ops);
        return t.MM.CopyIn(addr, bytes) < 0 ? -Errno.EFAULT.Value : 0;
    }

    /// <summary>Implements semctl(2), in Linux's order of checks.</summary>
    public static long Semctl(Task t, in SyscallArgs a)
    {
        int id = a.Int(0);
        int num = a.Int(1);
        int cmd = a.Int(2);
        ulong arg = a[3];
        if (id < 0)
        {
            return -Errno.EINVAL.Value;
        }

        SemRegistry sem = t.Kernel.Ipc.Sem;
        switch (cmd)
        {
            case IpcConst.IPC_INFO:
            case IpcConst.SEM_INFO:
            {
                long r = sem.Info(cmd == IpcConst.SEM_INFO, out SemInfo info);
                return t.MM.CopyOut(arg, info) < 0 ? -Errno.EFAULT.Value : r;
            }

            case IpcConst.IPC_STAT:
            case IpcConst.SEM_STAT:
            case IpcConst.SEM_STAT_ANY:
            {
                long r = sem.Stat(t.Credentials, id, cmd != IpcConst.IPC_STAT, cmd != IpcConst.SEM_STAT_ANY, out SemidDs ds);
                if (r < 0)
                {
                    return r;
                }

                return t.MM.CopyOut(arg, ds) < 0 ? -Errno.EFAULT.Value : r;
            }

            case IpcConst.GETVAL:
            case IpcConst.GETPID:
            case IpcConst.GETNCNT:
            case IpcConst.GETZCNT:
                return sem.GetOne(t.Credentials, t.PidNs, id, num, cmd);

            case IpcConst.SETVAL:
                return sem.SetOne(t, id, num, (int)arg);

            case IpcConst.GETALL:
            {
                long n = sem.CountOf(id);
                if (n < 0)
                {
                    return n;
                }

                ushort[] values = new ushort[n];
                long r = sem.GetAll(t.Credentials, id, values);
                if (r < 0)
                {
                    return r;
                }

                return t.MM.CopyOut(arg, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) < 0 ? -Errno.EFAULT.Value : 0;
            }

            case IpcConst.SETALL:
            {
                long n = sem.CountOf(id);
                if (n < 0)
                {
                    return n;
                }

                // Linux checks permission before it reads the values.
                long perm = sem.Access(t.Credentials, id, 0x92);
                if (perm < 0)
                {
                    return perm;
                }

                ushort[] values = new ushort[n];
                if (t.MM.CopyIn(arg, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                return sem.SetAll(t, id, values);
            }

            case IpcConst.IPC_SET:
            {
                if (t.MM.CopyIn(arg, out SemidDs ds) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                return sem.Set(t.Credentials, id, ds);
            }

            case IpcConst.IPC_RMID:
                return sem.Remove(t.Credentials, id);

            default:
                return -Errno.EINVAL.Value;
        }
    }
}
