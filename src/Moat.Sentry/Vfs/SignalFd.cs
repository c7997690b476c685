using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// signalfd(2): reading takes the reader's pending signals in the mask, as struct signalfd_siginfo. Readiness
/// follows the task that created it (as gVisor does; Linux looks at the polling task).
/// </summary>
internal sealed class SignalFd : FileDescription
{
    /// <summary>sizeof(struct signalfd_siginfo).</summary>
    public const int InfoSize = 128;

    private const int SiTimer = -2;

    private readonly Task _owner;
    private ulong _mask;

    public SignalFd(Task owner, ulong mask, int flags)
    {
        _owner = owner;
        _mask = mask;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
    }

    /// <summary>The signals this file reads (bit n-1 for signal n); signalfd4 on this fd replaces it.</summary>
    public ulong Mask
    {
        get => Volatile.Read(ref _mask);
        set
        {
            Volatile.Write(ref _mask, value);
            _owner.SignalQueued.Notify();
        }
    }

    public override WaitQueue? ReadinessQueue => _owner.SignalQueued;

    public override int Readiness(int events) =>
        (_owner.PendingSignals & Mask) != 0 ? events & (PollEvents.POLLIN | PollEvents.POLLRDNORM) : 0;

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        ulong count = dst.Total;
        if (count < InfoSize)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> buf = stackalloc byte[InfoSize];
        ulong done = 0;
        while (done + InfoSize <= count)
        {
            if (!t.TryDequeue(Mask, out SigInfo info))
            {
                if (done > 0)
                {
                    break;
                }

                if ((StatusFlags & OpenFlags.O_NONBLOCK) != 0)
                {
                    return -Errno.EAGAIN.Value;
                }

                long r = t.Block(t.SignalQueued, () => (t.PendingSignals & Mask) != 0);
                if (r < 0)
                {
                    return r;
                }

                continue;
            }

            Encode(info, buf);
            if (dst.CopyOut(t.MM, done, buf) < 0)
            {
                // Linux loses the dequeued signal too; report what was read, or EFAULT.
                return done > 0 ? (long)done : -Errno.EFAULT.Value;
            }

            done += InfoSize;
        }

        return (long)done;
    }

    public override long Stat(out Stat st)
    {
        st = default;
        st.st_mode = 0x180; // anon inode: no file type bits, 0600
        st.st_nlink = 1;
        st.st_blksize = 4096;
        return 0;
    }

    /// <summary>Fills struct signalfd_siginfo from a siginfo, field by field as its layout (by signal and code) has them.</summary>
    public static void Encode(in SigInfo info, Span<byte> o)
    {
        o.Clear();
        ReadOnlySpan<byte> si = MemoryMarshal.AsBytes(new ReadOnlySpan<SigInfo>(in info));
        int sig = info.si_signo;
        int code = info.si_code;
        BinaryPrimitives.WriteInt32LittleEndian(o, sig);
        BinaryPrimitives.WriteInt32LittleEndian(o[4..], info.si_errno);
        BinaryPrimitives.WriteInt32LittleEndian(o[8..], code);
        bool kernelCode = code > 0 && code < SigInfo.SI_KERNEL;
        if (kernelCode && sig is Signal.SIGSEGV or Signal.SIGBUS or Signal.SIGILL or Signal.SIGFPE or Signal.SIGTRAP)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(o[72..], info.si_addr); // ssi_addr
            return;
        }

        if (code == SiTimer)
        {
            si.Slice(16, 4).CopyTo(o[24..]); // ssi_tid (the timer id)
            si.Slice(20, 4).CopyTo(o[32..]); // ssi_overrun
            si.Slice(24, 4).CopyTo(o[44..]); // ssi_int
            si.Slice(24, 8).CopyTo(o[48..]); // ssi_ptr
            return;
        }

        si.Slice(16, 8).CopyTo(o[12..]); // ssi_pid, ssi_uid
        if (kernelCode && sig == Signal.SIGCHLD)
        {
            si.Slice(24, 4).CopyTo(o[40..]); // ssi_status
            si.Slice(32, 8).CopyTo(o[56..]); // ssi_utime
            si.Slice(40, 8).CopyTo(o[64..]); // ssi_stime
        }
        else if (code < 0)
        {
            si.Slice(24, 4).CopyTo(o[44..]); // ssi_int
            si.Slice(24, 8).CopyTo(o[48..]); // ssi_ptr
        }
    }
}
