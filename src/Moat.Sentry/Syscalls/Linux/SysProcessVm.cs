using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// process_vm_readv(2) and process_vm_writev(2) between the sandbox's processes: both address spaces are the
/// Sentry's own MemoryManagers, so bytes go through a small Sentry buffer, never through the host.
/// </summary>
internal static class SysProcessVm
{
    private const int UioMaxIov = 1024;
    private const int UioFastIov = 8;

    /// <summary>Implements process_vm_readv(2).</summary>
    public static long ProcessVmReadv(Task t, in SyscallArgs a) => Transfer(t, a, write: false);

    /// <summary>Implements process_vm_writev(2).</summary>
    public static long ProcessVmWritev(Task t, in SyscallArgs a) => Transfer(t, a, write: true);

    // Linux's process_vm_rw in its order: flags, the local iovecs (nothing to move ends here, before the pid is
    // looked at), the remote iovecs, an empty remote range, then the task (ESRCH) and ptrace access in attach
    // mode with the real ids (EPERM). Bytes move one page-bounded piece at a time, so a fault on either side
    // stops the transfer at a page boundary and what was moved is the answer (EFAULT only if nothing was).
    private static long Transfer(Task t, in SyscallArgs a, bool write)
    {
        int pid = a.Int(0);
        ulong localAddr = a.Pointer(1);
        ulong localCount = a[2];
        ulong remoteAddr = a.Pointer(3);
        ulong remoteCount = a[4];
        if (a[5] != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (localCount > UioMaxIov || remoteCount > UioMaxIov)
        {
            return localCount > UioMaxIov ? -Errno.EINVAL.Value : ReadIovecsOnlyForErrors(t, localAddr, (int)localCount);
        }

        Span<ulong> local = localCount <= UioFastIov ? stackalloc ulong[(int)localCount * 2] : new ulong[(int)localCount * 2];
        long r = ReadIovecs(t.MM, localAddr, local, capTotal: true, out ulong localTotal);
        if (r < 0)
        {
            return r;
        }

        if (localTotal == 0)
        {
            return 0;
        }

        Span<ulong> remote = remoteCount <= UioFastIov ? stackalloc ulong[(int)remoteCount * 2] : new ulong[(int)remoteCount * 2];
        r = ReadIovecs(t.MM, remoteAddr, remote, capTotal: false, out ulong remoteTotal);
        if (r < 0)
        {
            return r;
        }

        if (remoteTotal == 0)
        {
            return 0;
        }

        Task? target = t.Kernel.FindTask(t.PidNs, pid);
        if (target == null || target.Exit != null || target.Group.Zombie)
        {
            return -Errno.ESRCH.Value;
        }

        if (!PtraceAccess.MayRead(t, target))
        {
            return -Errno.EPERM.Value;
        }

        MemoryManager remoteMm = target.MM;
        Span<byte> bounce = stackalloc byte[(int)Mman.PageSize];
        ulong done = 0;
        int li = 0;
        ulong lOff = 0;
        for (int ri = 0; ri < remote.Length / 2 && done < localTotal; ri++)
        {
            ulong rBase = remote[ri * 2];
            ulong rLen = remote[(ri * 2) + 1];
            ulong rOff = 0;
            while (rOff < rLen && done < localTotal)
            {
                while (lOff >= local[(li * 2) + 1])
                {
                    li++;
                    lOff = 0;
                }

                ulong la = local[li * 2] + lOff;
                ulong ra = rBase + rOff;
                ulong n = Math.Min(rLen - rOff, local[(li * 2) + 1] - lOff);
                n = Math.Min(n, Mman.PageSize - (ra & (Mman.PageSize - 1)));
                n = Math.Min(n, Mman.PageSize - (la & (Mman.PageSize - 1)));
                n = Math.Min(n, localTotal - done);
                Span<byte> chunk = bounce[..(int)n];
                bool ok = write
                    ? t.MM.CopyIn(la, chunk) >= 0 && remoteMm.CopyOut(ra, chunk) >= 0
                    : remoteMm.CopyIn(ra, chunk) >= 0 && t.MM.CopyOut(la, chunk) >= 0;
                if (!ok)
                {
                    KickStaleUsers(t, remoteMm);
                    return done > 0 ? (long)done : -Errno.EFAULT.Value;
                }

                done += n;
                rOff += n;
                lOff += n;
            }
        }

        KickStaleUsers(t, remoteMm);
        return (long)done;
    }

    // A write that copied copy-on-write pages of the target leaves its host mapping of the old ones until one
    // of its threads drops them on its way back to app code: make those running app code come back now.
    private static void KickStaleUsers(Task t, MemoryManager remoteMm)
    {
        if (!remoteMm.HasStaleHostMappings)
        {
            return;
        }

        // Every task in that memory, of the target's process or of another sharing it (CLONE_VM).
        t.Kernel.InterruptStaleMemoryUsers();
    }

    // The remote count is over UIO_MAXIOV but the local one is not: Linux still reads the local iovecs first.
    private static long ReadIovecsOnlyForErrors(Task t, ulong addr, int count)
    {
        Span<ulong> local = count <= UioFastIov ? stackalloc ulong[count * 2] : new ulong[count * 2];
        long r = ReadIovecs(t.MM, addr, local, capTotal: true, out ulong total);
        return r < 0 ? r : total == 0 ? 0 : -Errno.EINVAL.Value;
    }

    // Reads (base, length) pairs: EFAULT, EINVAL for a length that is negative as ssize_t; the local side's total
    // is capped at MAX_RW_COUNT, as import_iovec trims the iovec that crosses it.
    private static long ReadIovecs(MemoryManager mm, ulong addr, Span<ulong> iov, bool capTotal, out ulong total)
    {
        total = 0;
        if (iov.Length > 0 && mm.CopyIn(addr, MemoryMarshal.AsBytes(iov)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        for (int i = 0; i < iov.Length / 2; i++)
        {
            ulong len = iov[(i * 2) + 1];
            if ((long)len < 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (capTotal && len > SysReadWrite.MaxRwCount - total)
            {
                len = SysReadWrite.MaxRwCount - total;
                iov[(i * 2) + 1] = len;
            }

            total = total + len < total ? ulong.MaxValue : total + len;
        }

        return 0;
    }
}
