using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The sleep of poll, select and epoll_wait: the task waits on the readiness queues of all its files; files
/// whose readiness only the host knows are re-checked every few milliseconds.
/// </summary>
internal static class ReadinessWait
{
    private const int HostPollIntervalMs = 5;

    /// <summary>Sleeps until <paramref name="ready"/> holds. Returns 0, -ETIMEDOUT or -ERESTARTSYS.</summary>
    public static long Wait(Task t, IReadOnlyCollection<FileDescription> files, Func<bool> ready, int timeoutMs)
    {
        var queues = new HashSet<WaitQueue>();
        bool hostPolled = false;
        foreach (FileDescription f in files)
        {
            if (f.PolledFromHost || f.ReadinessQueue == null)
            {
                hostPolled = true;
            }
            else
            {
                queues.Add(f.ReadinessQueue);
            }
        }

        foreach (WaitQueue q in queues)
        {
            q.Add(t);
        }

        try
        {
            long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
            while (true)
            {
                long left = deadline == long.MaxValue ? -1 : Math.Max(0, deadline - Environment.TickCount64);
                int slice = hostPolled ? (int)(left < 0 ? HostPollIntervalMs : Math.Min(left, HostPollIntervalMs)) : (int)Math.Min(left, int.MaxValue);
                long r = t.Block(null, ready, slice);
                if (r != -Errno.ETIMEDOUT.Value || (deadline != long.MaxValue && Environment.TickCount64 >= deadline))
                {
                    return r;
                }
            }
        }
        finally
        {
            foreach (WaitQueue q in queues)
            {
                q.Remove(t);
            }
        }
    }
}
