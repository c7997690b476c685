using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The time limit of one blocking socket call (SO_RCVTIMEO / SO_SNDTIMEO), shared by all the waits of that
/// call. As in Linux, a call with a time limit answers EINTR to a signal and is never restarted; running out
/// of time answers EAGAIN.
/// </summary>
internal readonly struct SocketDeadline
{
    private readonly long _deadline;

    /// <param name="timeoutUs">The limit in microseconds; 0 for none.</param>
    public SocketDeadline(long timeoutUs)
    {
        _deadline = timeoutUs <= 0 ? long.MaxValue : Environment.TickCount64 + Math.Max(1, (timeoutUs + 999) / 1000);
    }

    /// <summary>Sleeps on <paramref name="queue"/> until <paramref name="ready"/>. Returns 0, -EAGAIN, -EINTR or -ERESTARTSYS.</summary>
    public long Wait(Task t, WaitQueue queue, Func<bool> ready)
    {
        int timeoutMs = -1;
        if (_deadline != long.MaxValue)
        {
            long left = _deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return ready() ? 0 : -Errno.EAGAIN.Value;
            }

            timeoutMs = (int)Math.Min(left, int.MaxValue);
        }

        long r = t.Block(queue, ready, timeoutMs);
        if (r == -Errno.ETIMEDOUT.Value)
        {
            return -Errno.EAGAIN.Value;
        }

        return r == -Errno.ERESTARTSYS.Value && _deadline != long.MaxValue ? -Errno.EINTR.Value : r;
    }
}
