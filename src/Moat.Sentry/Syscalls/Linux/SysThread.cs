using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Task lifetime and per-thread state: exit, ids, TLS, robust lists, rseq, scheduling.</summary>
internal static class SysThread
{
    private const int ARCH_SET_GS = 0x1001;
    private const int ARCH_SET_FS = 0x1002;
    private const int ARCH_GET_FS = 0x1003;
    private const int ARCH_GET_GS = 0x1004;

    private const uint RseqFlagUnregister = 1;
    private const uint RseqMinLength = 32;

    /// <summary>Implements exit(2): the thread ends; the last thread's status is the process's.</summary>
    public static long Exit(Task t, in SyscallArgs a)
    {
        t.RequestExit(ExitStatus.Exited(a.Int(0)));
        return 0;
    }

    /// <summary>Implements exit_group(2).</summary>
    public static long ExitGroup(Task t, in SyscallArgs a)
    {
        t.Kernel.ExitGroup(t, ExitStatus.Exited(a.Int(0)));
        return 0;
    }

    /// <summary>Implements getpid(2): the id in the caller's own pid namespace.</summary>
    public static long Getpid(Task t, in SyscallArgs a) => t.Group.Pid.In(t.PidNs);

    /// <summary>Implements gettid(2).</summary>
    public static long Gettid(Task t, in SyscallArgs a) => t.Pid.In(t.PidNs);

    /// <summary>
    /// Implements getppid(2). The first process's parent is outside the sandbox: 0, as for init; so is a parent
    /// outside the caller's pid namespace (a namespace's init sees 0).
    /// </summary>
    public static long Getppid(Task t, in SyscallArgs a)
    {
        lock (t.Kernel.TreeMu)
        {
            return t.Group.Parent?.Pid.In(t.PidNs) ?? 0;
        }
    }

    /// <summary>Implements set_tid_address(2).</summary>
    public static long SetTidAddress(Task t, in SyscallArgs a)
    {
        t.ClearChildTid = a.Pointer(0);
        return t.Pid.In(t.PidNs);
    }

    /// <summary>Implements set_robust_list(2).</summary>
    public static long SetRobustList(Task t, in SyscallArgs a)
    {
        // sizeof(struct robust_list_head) on x86-64.
        if (a.SizeT(1) != 24)
        {
            return -Errno.EINVAL.Value;
        }

        t.RobustListHead = a.Pointer(0);
        return 0;
    }

    /// <summary>
    /// Implements get_robust_list(2): any thread's head, for callers that may ptrace-read it (Linux's
    /// PTRACE_MODE_READ_REALCREDS: the same process, root, or the same ids and a dumpable target).
    /// </summary>
    public static long GetRobustList(Task t, in SyscallArgs a)
    {
        int tid = a.Int(0);
        Task? target = tid == 0 ? t : t.Kernel.FindTask(t.PidNs, tid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        if (!PtraceAccess.MayRead(t, target))
        {
            return -Errno.EPERM.Value;
        }

        ulong head = target.RobustListHead;
        if (t.MM.CopyOut(a.Pointer(2), 24UL) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return t.MM.CopyOut(a.Pointer(1), head) < 0 ? -Errno.EFAULT.Value : 0;
    }

    /// <summary>Implements arch_prctl(2) for the TLS base registers.</summary>
    public static long ArchPrctl(Task t, in SyscallArgs a)
    {
        ref PtraceRegs regs = ref t.Registers;
        switch (a.Int(0))
        {
            case ARCH_SET_FS:
                if (!IsCanonical(a.Pointer(1)))
                {
                    return -Errno.EPERM.Value;
                }

                regs.fs_base = a.Pointer(1);
                return 0;
            case ARCH_SET_GS:
                if (!IsCanonical(a.Pointer(1)))
                {
                    return -Errno.EPERM.Value;
                }

                regs.gs_base = a.Pointer(1);
                return 0;
            case ARCH_GET_FS:
                return t.MM.CopyOut(a.Pointer(1), regs.fs_base);
            case ARCH_GET_GS:
                return t.MM.CopyOut(a.Pointer(1), regs.gs_base);
            default:
                return -Errno.EINVAL.Value;
        }
    }

    /// <summary>Whether addr may be a TLS base: below TASK_SIZE_MAX, as Linux's do_arch_prctl_64 and clone's set_new_tls require (else EPERM).</summary>
    public static bool IsCanonical(ulong addr) => addr < 0x0000_7FFF_FFFF_F000UL;

    /// <summary>
    /// Implements rseq(2) registration. The sandbox has one virtual CPU per task as far as rseq is concerned:
    /// cpu_id is written as 0 at registration and never changes, so no critical section ever needs an abort.
    /// </summary>
    public static long Rseq(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(0);
        uint len = a.UInt(1);
        uint flags = a.UInt(2);
        uint sig = a.UInt(3);
        if ((flags & ~RseqFlagUnregister) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & RseqFlagUnregister) != 0)
        {
            if (t.RseqAddress == 0 || addr != t.RseqAddress)
            {
                return -Errno.EINVAL.Value;
            }

            if (len != t.RseqLength)
            {
                return -Errno.EINVAL.Value;
            }

            if (sig != t.RseqSignature)
            {
                return -Errno.EPERM.Value;
            }

            t.RseqAddress = 0;
            return 0;
        }

        if (t.RseqAddress != 0)
        {
            return addr == t.RseqAddress && len == t.RseqLength ? (sig == t.RseqSignature ? -Errno.EBUSY.Value : -Errno.EPERM.Value) : -Errno.EINVAL.Value;
        }

        if ((addr & 31) != 0 || len < RseqMinLength)
        {
            return -Errno.EINVAL.Value;
        }

        // struct rseq: cpu_id_start (u32), cpu_id (u32), rseq_cs (u64), flags (u32), node_id, mm_cid.
        Span<uint> head = [0, 0];
        if (t.MM.CopyOut(addr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(head)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        t.RseqAddress = addr;
        t.RseqLength = len;
        t.RseqSignature = sig;
        return 0;
    }

    /// <summary>Implements sched_yield(2).</summary>
    public static long SchedYield(Task t, in SyscallArgs a)
    {
        Thread.Yield();
        return 0;
    }

    /// <summary>Implements getcpu(2), consistent with rseq's virtual CPU 0.</summary>
    public static long Getcpu(Task t, in SyscallArgs a)
    {
        if (a.Pointer(0) != 0 && t.MM.CopyOut(a.Pointer(0), 0u) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (a.Pointer(1) != 0 && t.MM.CopyOut(a.Pointer(1), 0u) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return 0;
    }
}
