using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// sched_setattr(2) and sched_getattr(2) over struct sched_attr (kernel/sched/syscalls.c), with the same
/// permission rules as sched_setscheduler (<see cref="SysSched"/>): root in the sandbox holds CAP_SYS_NICE, so
/// real-time policies are accepted and recorded; the host schedules every task alike.
/// </summary>
internal static class SysSchedAttr
{
    // struct sched_attr: size, policy, flags (u64), nice (s32), priority, runtime, deadline, period (u64),
    // util_min, util_max (VER1).
    private const int SizeVer0 = 48;
    private const int SizeVer1 = 56;
    private const int PageSize = 4096;

    private const ulong SCHED_FLAG_RESET_ON_FORK = 0x01;
    private const ulong SCHED_FLAG_KEEP_POLICY = 0x08;
    private const ulong SCHED_FLAG_KEEP_PARAMS = 0x10;
    private const ulong SCHED_FLAG_UTIL_CLAMP = 0x20 | 0x40;
    private const ulong SCHED_FLAG_ALL = 0x7f;
    private const ulong SCHED_FLAG_SUGOV = 0x1000_0000;
    private const int MinNice = -20;
    private const int MaxNice = 19;
    private const int MaxRtPriority = 99;

    /// <summary>
    /// Implements sched_setattr(2). Deviations, deliberate: SCHED_DEADLINE with valid parameters is refused with
    /// EPERM (no deadline scheduler, as Linux refuses when the task's CPUs do not span its root domain); the
    /// utilization clamps answer EOPNOTSUPP, as a kernel without CONFIG_UCLAMP_TASK does.
    /// </summary>
    public static long SchedSetattr(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        ulong addr = a.Pointer(1);
        if (addr == 0 || pid < 0 || a.UInt(2) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> attr = stackalloc byte[SizeVer1];
        long r = CopyAttrIn(t, addr, attr, out uint size);
        if (r < 0)
        {
            return r;
        }

        int policy = BinaryPrimitives.ReadInt32LittleEndian(attr[4..]);
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(attr[8..]);
        int nice = Math.Clamp(BinaryPrimitives.ReadInt32LittleEndian(attr[16..]), MinNice, MaxNice);
        uint priority = BinaryPrimitives.ReadUInt32LittleEndian(attr[20..]);
        ulong runtime = BinaryPrimitives.ReadUInt64LittleEndian(attr[24..]);
        ulong deadline = BinaryPrimitives.ReadUInt64LittleEndian(attr[32..]);
        ulong period = BinaryPrimitives.ReadUInt64LittleEndian(attr[40..]);
        if ((flags & SCHED_FLAG_UTIL_CLAMP) != 0 && size < SizeVer1)
        {
            return -Errno.EINVAL.Value;
        }

        if (policy < 0)
        {
            return -Errno.EINVAL.Value;
        }

        bool keepPolicy = (flags & SCHED_FLAG_KEEP_POLICY) != 0;
        Task? target = SysSched.Find(t, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        lock (SysSched.Mu)
        {
            SchedAttr cur = target.Sched;
            if ((flags & SCHED_FLAG_KEEP_PARAMS) != 0)
            {
                // get_params: the task's own priority, or its nice for a fair policy.
                nice = SchedAttr.IsRealTime(cur.Policy) ? 0 : cur.Nice;
                priority = SchedAttr.IsRealTime(cur.Policy) ? (uint)cur.RtPriority : 0;
            }

            bool resetOnFork;
            if (keepPolicy)
            {
                policy = cur.Policy;
                resetOnFork = cur.ResetOnFork;
            }
            else
            {
                resetOnFork = (flags & SCHED_FLAG_RESET_ON_FORK) != 0;
                if (policy is not (SchedAttr.SCHED_NORMAL or SchedAttr.SCHED_FIFO or SchedAttr.SCHED_RR or SchedAttr.SCHED_BATCH or SchedAttr.SCHED_IDLE or SchedAttr.SCHED_DEADLINE))
                {
                    return -Errno.EINVAL.Value;
                }
            }

            if ((flags & ~(SCHED_FLAG_ALL | SCHED_FLAG_SUGOV)) != 0 || priority > MaxRtPriority ||
                (policy == SchedAttr.SCHED_DEADLINE && !DeadlineParamsValid(flags, runtime, deadline, period)) ||
                SchedAttr.IsRealTime(policy) != (priority != 0))
            {
                return -Errno.EINVAL.Value;
            }

            bool privileged = t.Credentials.HasCapability(Credentials.CAP_SYS_NICE);
            if (!privileged && !UnprivilegedMay(t, target, cur, policy, (int)priority, nice, resetOnFork))
            {
                return -Errno.EPERM.Value;
            }

            if ((flags & SCHED_FLAG_SUGOV) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            if ((flags & SCHED_FLAG_UTIL_CLAMP) != 0)
            {
                return -Errno.EOPNOTSUPP.Value;
            }

            if (policy == SchedAttr.SCHED_DEADLINE)
            {
                return -Errno.EPERM.Value;
            }

            if ((flags & SCHED_FLAG_KEEP_PARAMS) != 0)
            {
                // Checked as asked, but policy and parameters stay (Linux then changes only the clamps).
                target.Sched = cur with { ResetOnFork = resetOnFork };
                return 0;
            }

            // SCHED_NORMAL and SCHED_BATCH take the nice value given (sched_setattr sets it, unlike
            // sched_setscheduler); the other policies keep the task's.
            bool fair = IsFair(policy);
            target.Sched = cur with
            {
                Policy = policy,
                RtPriority = (int)priority,
                Nice = fair ? nice : cur.Nice,
                ResetOnFork = resetOnFork,
            };
            return 0;
        }
    }

    /// <summary>
    /// Implements sched_getattr(2): as much of struct sched_attr as the caller's size holds, size set to that,
    /// zeros beyond it in a larger buffer.
    /// </summary>
    public static long SchedGetattr(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        ulong addr = a.Pointer(1);
        uint usize = a.UInt(2);
        if (addr == 0 || pid < 0 || usize > PageSize || usize < SizeVer0 || a.UInt(3) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target = SysSched.Find(t, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        // copy_struct_to_user: a larger buffer gets zeros beyond what Moat knows.
        SchedAttr s = target.Sched;
        int size = (int)Math.Min(usize, (uint)SizeVer1);
        Span<byte> attr = stackalloc byte[PageSize];
        attr.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(attr, (uint)size);
        BinaryPrimitives.WriteInt32LittleEndian(attr[4..], s.Policy);
        BinaryPrimitives.WriteUInt64LittleEndian(attr[8..], s.ResetOnFork ? SCHED_FLAG_RESET_ON_FORK : 0);
        if (SchedAttr.IsRealTime(s.Policy))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(attr[20..], (uint)s.RtPriority);
        }
        else
        {
            BinaryPrimitives.WriteInt32LittleEndian(attr[16..], s.Nice);
        }

        return t.MM.CopyOut(addr, attr[..(int)usize]) < 0 ? -Errno.EFAULT.Value : 0;
    }

    // sched_copy_attr: size 0 means VER0; outside VER0..a page, or non-zero bytes beyond what Moat knows, is
    // E2BIG with the size Moat knows written back into the caller's struct.
    private static long CopyAttrIn(Task t, ulong addr, Span<byte> attr, out uint size)
    {
        attr.Clear();
        if (t.MM.CopyIn(addr, out size) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (size == 0)
        {
            size = SizeVer0;
        }

        if (size < SizeVer0 || size > PageSize)
        {
            return TooBig(t, addr);
        }

        int known = (int)Math.Min(size, (uint)SizeVer1);
        if (t.MM.CopyIn(addr, attr[..known]) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (size > SizeVer1)
        {
            // copy_struct_from_user: the tail the kernel does not know must be zero.
            Span<byte> tail = stackalloc byte[256];
            for (ulong off = SizeVer1; off < size; off += (ulong)tail.Length)
            {
                Span<byte> chunk = tail[..(int)Math.Min((ulong)tail.Length, size - off)];
                if (t.MM.CopyIn(addr + off, chunk) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                if (chunk.ContainsAnyExcept((byte)0))
                {
                    return TooBig(t, addr);
                }
            }
        }

        return 0;
    }

    private static long TooBig(Task t, ulong addr)
    {
        t.MM.CopyOut(addr, (uint)SizeVer1); // as Linux, a failure to write it back is not reported
        return -Errno.E2BIG.Value;
    }

    // Linux's fair_policy: the policies whose tasks have a nice value that counts.
    private static bool IsFair(int policy) => policy is SchedAttr.SCHED_NORMAL or SchedAttr.SCHED_BATCH;

    // __checkparam_dl: a runtime of at least 1024 ns, runtime <= deadline <= period (0 means the deadline),
    // below 2^63, and the period within sched_deadline_period_{min,max}_us (100 us, 4.19 s).
    private static bool DeadlineParamsValid(ulong flags, ulong runtime, ulong deadline, ulong period)
    {
        if ((flags & SCHED_FLAG_SUGOV) != 0)
        {
            return true;
        }

        if (deadline == 0)
        {
            return false;
        }

        if (runtime < 1024)
        {
            return false;
        }

        if ((deadline & (1UL << 63)) != 0 || (period & (1UL << 63)) != 0)
        {
            return false;
        }

        ulong p = period == 0 ? deadline : period;
        return runtime <= deadline && deadline <= p && p >= 100_000 && p <= 4_194_304_000;
    }

    // user_check_sched_setscheduler without CAP_SYS_NICE, with sched_setattr's nice value for a fair policy and
    // SCHED_DEADLINE (never without the capability); the rest is sched_setscheduler's rule.
    private static bool UnprivilegedMay(Task t, Task target, SchedAttr cur, int policy, int priority, int nice, bool resetOnFork) =>
        !(IsFair(policy) && nice < cur.Nice && !SysPriority.IsNiceReduction(target, nice)) &&
        policy != SchedAttr.SCHED_DEADLINE &&
        SysSched.UnprivilegedMay(t, target, cur, policy, priority, resetOnFork);
}
