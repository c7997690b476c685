using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Net;

/// <summary>
/// The network of <c>--network=host</c> watches its host sockets here: one Sentry thread waits in a host epoll
/// (edge-triggered) and wakes the socket's waiters on every change, so poll, epoll and blocking calls in the
/// sandbox sleep on a wait queue like any other file (gVisor's fdnotifier).
/// </summary>
internal sealed class HostNotifier
{
    private readonly SafeFdHandle _ep;
    private readonly Lock _mu = new();

    // Protected by _mu: the wait queue of each watched host fd.
    private readonly Dictionary<int, WaitQueue> _queues = [];

    public HostNotifier()
    {
        _ep = HostNet.EpollCreate(out long error) ?? throw new InvalidOperationException($"epoll_create1 failed: errno {-error}");
        var thread = new Thread(Loop) { IsBackground = true, Name = "moat-hostnet" };
        thread.Start();
    }

    public void Register(SafeFdHandle fd, WaitQueue q)
    {
        lock (_mu)
        {
            _queues[fd.Fd] = q;
        }

        HostNet.EpollAdd(_ep, fd.Fd, (ulong)fd.Fd);
    }

    /// <summary>Stops watching; called before the fd is closed, so a reused number is never confused.</summary>
    public void Unregister(SafeFdHandle fd)
    {
        HostNet.EpollRemove(_ep, fd.Fd);
        lock (_mu)
        {
            _queues.Remove(fd.Fd);
        }
    }

    private void Loop()
    {
        var events = new HostNet.EpollEvent[64];
        while (true)
        {
            long n = HostNet.EpollWait(_ep, events, -1);
            for (int i = 0; i < n; i++)
            {
                WaitQueue? q;
                lock (_mu)
                {
                    q = _queues.GetValueOrDefault((int)events[i].Data);
                }

                q?.Notify();
            }
        }
    }
}
