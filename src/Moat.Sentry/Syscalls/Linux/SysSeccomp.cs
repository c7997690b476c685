using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Seccomp;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>seccomp(2): the application's own filters, run by the Sentry before each of its calls.</summary>
internal static class SysSeccomp
{
    // The flags Linux 6.x knows. NEW_LISTENER (and WAIT_KILLABLE_RECV, which needs it) are refused with EINVAL
    // as a kernel without user notification refuses them: the Sentry has no notification fd to give.
    private const uint KnownFlags = SeccompAbi.SECCOMP_FILTER_FLAG_TSYNC | SeccompAbi.SECCOMP_FILTER_FLAG_LOG |
        SeccompAbi.SECCOMP_FILTER_FLAG_SPEC_ALLOW | SeccompAbi.SECCOMP_FILTER_FLAG_TSYNC_ESRCH;

    /// <summary>
    /// Implements seccomp(2): SET_MODE_STRICT, SET_MODE_FILTER (TSYNC, TSYNC_ESRCH, LOG, SPEC_ALLOW; not
    /// NEW_LISTENER), GET_ACTION_AVAIL, GET_NOTIF_SIZES.
    /// </summary>
    public static long Seccomp(Task t, in SyscallArgs a) => Do(t, a.UInt(0), a.UInt(1), a.Pointer(2));

    /// <summary>seccomp(2)'s operations, shared with prctl(PR_SET_SECCOMP).</summary>
    public static long Do(Task t, uint op, uint flags, ulong uargs)
    {
        switch (op)
        {
            case SeccompAbi.SECCOMP_SET_MODE_STRICT:
                return flags != 0 || uargs != 0 ? -Errno.EINVAL.Value : -t.SetSeccompStrict().Value;
            case SeccompAbi.SECCOMP_SET_MODE_FILTER:
                return SetModeFilter(t, flags, uargs);
            case SeccompAbi.SECCOMP_GET_ACTION_AVAIL:
            {
                if (flags != 0)
                {
                    return -Errno.EINVAL.Value;
                }

                if (t.MM.CopyIn(uargs, out uint action) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                return action switch
                {
                    SeccompAbi.SECCOMP_RET_KILL_PROCESS or SeccompAbi.SECCOMP_RET_KILL_THREAD or SeccompAbi.SECCOMP_RET_TRAP or
                    SeccompAbi.SECCOMP_RET_ERRNO or SeccompAbi.SECCOMP_RET_USER_NOTIF or SeccompAbi.SECCOMP_RET_TRACE or
                    SeccompAbi.SECCOMP_RET_LOG or SeccompAbi.SECCOMP_RET_ALLOW => 0,
                    _ => -Errno.EOPNOTSUPP.Value,
                };
            }

            case SeccompAbi.SECCOMP_GET_NOTIF_SIZES:
            {
                if (flags != 0)
                {
                    return -Errno.EINVAL.Value;
                }

                Span<byte> sizes = stackalloc byte[6];
                BinaryPrimitives.WriteUInt16LittleEndian(sizes, SeccompAbi.SeccompNotifSize);
                BinaryPrimitives.WriteUInt16LittleEndian(sizes[2..], SeccompAbi.SeccompNotifRespSize);
                BinaryPrimitives.WriteUInt16LittleEndian(sizes[4..], SeccompAbi.SeccompDataSize);
                return t.MM.CopyOut(uargs, sizes) < 0 ? -Errno.EFAULT.Value : 0;
            }

            default:
                return -Errno.EINVAL.Value;
        }
    }

    // Linux's order: flags, then the program's header, its length, the no_new_privs rule, its instructions,
    // the verifier, and only then the mode and the instruction budget.
    private static long SetModeFilter(Task t, uint flags, ulong uargs)
    {
        if ((flags & ~KnownFlags) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> fprog = stackalloc byte[SeccompAbi.SockFprogSize];
        if (t.MM.CopyIn(uargs, fprog) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        int len = BinaryPrimitives.ReadUInt16LittleEndian(fprog);
        ulong filter = BinaryPrimitives.ReadUInt64LittleEndian(fprog[8..]);
        if (len == 0 || len > SeccompAbi.BPF_MAXINSNS)
        {
            return -Errno.EINVAL.Value;
        }

        // Without no_new_privs a filter could make a set-uid program misbehave; only CAP_SYS_ADMIN may skip it.
        if (!t.NoNewPrivs && !t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
        {
            return -Errno.EACCES.Value;
        }

        byte[] bytes = new byte[len * BpfInstruction.Size];
        if (t.MM.CopyIn(filter, bytes) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        BpfInstruction[] program = BpfInstruction.Decode(bytes);
        Errno err = BpfVerifier.Check(program);
        if (!err.IsNone)
        {
            return -err.Value;
        }

        return t.AddSeccompFilter(
            program,
            log: (flags & SeccompAbi.SECCOMP_FILTER_FLAG_LOG) != 0,
            tsync: (flags & SeccompAbi.SECCOMP_FILTER_FLAG_TSYNC) != 0,
            tsyncEsrch: (flags & SeccompAbi.SECCOMP_FILTER_FLAG_TSYNC_ESRCH) != 0);
    }
}
