using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>eventfd(2): a 64-bit counter read and written 8 bytes at a time.</summary>
internal sealed class EventFd : FileDescription
{
    public const int EFD_SEMAPHORE = 1;
    private const ulong Max = 0xFFFF_FFFF_FFFF_FFFE;

    private readonly Lock _mu = new();
    private readonly bool _semaphore;
    private readonly WaitQueue _events = new();

    // Protected by _mu.
    private ulong _count;

    public EventFd(ulong initial, int flags)
    {
        _count = initial;
        _semaphore = (flags & EFD_SEMAPHORE) != 0;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
    }

    public override WaitQueue? ReadinessQueue => _events;

    public override int Readiness(int events)
    {
        lock (_mu)
        {
            int r = (_count > 0 ? PollEvents.POLLIN | PollEvents.POLLRDNORM : 0) | (_count < Max ? PollEvents.POLLOUT | PollEvents.POLLWRNORM : 0);
            return r & events;
        }
    }

    /// <summary>
    /// Linux's eventfd_signal, for a completion in the kernel (an AIO request with IOCB_FLAG_RESFD): adds one,
    /// stopping at ULLONG_MAX rather than blocking.
    /// </summary>
    public void Signal()
    {
        lock (_mu)
        {
            if (_count < ulong.MaxValue)
            {
                _count++;
            }

            _events.Notify();
        }
    }

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        ulong count = dst.Total;
        if (count < 8)
        {
            return -Errno.EINVAL.Value;
        }

        while (true)
        {
            lock (_mu)
            {
                if (_count > 0)
                {
                    ulong value = _semaphore ? 1 : _count;
                    if (dst.CopyOut(t.MM, 0, value) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    _count -= value;
                    _events.Notify();
                    return 8;
                }

                if ((StatusFlags & OpenFlags.O_NONBLOCK) != 0)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = t.Block(_events, () => Readiness(PollEvents.POLLIN) != 0);
            if (r < 0)
            {
                return r;
            }
        }
    }

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None)
    {
        ulong count = src.Total;
        if (count < 8)
        {
            return -Errno.EINVAL.Value;
        }

        if (src.CopyIn(t.MM, 0, out ulong value) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (value == ulong.MaxValue)
        {
            return -Errno.EINVAL.Value;
        }

        while (true)
        {
            lock (_mu)
            {
                if (Max - _count >= value)
                {
                    _count += value;
                    _events.Notify();
                    return 8;
                }

                if ((StatusFlags & OpenFlags.O_NONBLOCK) != 0)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = t.Block(_events, () => { lock (_mu) { return Max - _count >= value; } });
            if (r < 0)
            {
                return r;
            }
        }
    }

    public override long Stat(out Stat st)
    {
        st = default;
        st.st_mode = 0x180; // anon inode: no file type bits, 0600
        st.st_nlink = 1;
        st.st_blksize = 4096;
        return 0;
    }
}
