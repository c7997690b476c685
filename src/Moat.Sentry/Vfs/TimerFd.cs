using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>timerfd(2): a timer whose expirations are counted and read as a u64.</summary>
internal sealed class TimerFd : FileDescription
{
    private readonly Lock _mu = new();
    private readonly WaitQueue _events = new();

    // Protected by _mu.
    private ulong _expirations;

    public TimerFd(int clock, int flags)
    {
        Clock = clock;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
        Timer = new IntervalTimer(_ =>
        {
            lock (_mu)
            {
                _expirations++;
            }

            _events.Notify();
        });
    }

    public int Clock { get; }

    public IntervalTimer Timer { get; }

    public override WaitQueue? ReadinessQueue => _events;

    public override int Readiness(int events)
    {
        lock (_mu)
        {
            return _expirations > 0 ? events & (PollEvents.POLLIN | PollEvents.POLLRDNORM) : 0;
        }
    }

    /// <summary>Forgets expirations (timerfd_settime re-arms from zero).</summary>
    public void Reset()
    {
        lock (_mu)
        {
            _expirations = 0;
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
                if (_expirations > 0)
                {
                    if (dst.CopyOut(t.MM, 0, _expirations) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    _expirations = 0;
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

    public override long Stat(out Stat st)
    {
        st = new Stat { st_mode = 0x180, st_nlink = 1, st_blksize = 4096 };
        return 0;
    }

    protected override void Release() => Timer.Dispose();
}
