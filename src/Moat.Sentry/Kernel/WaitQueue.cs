using System.Collections.Generic;
using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Something other than a task that waits on a <see cref="WaitQueue"/> (an AIO poll request): it is told of
/// each Notify and re-checks its condition elsewhere.
/// </summary>
internal interface IWaiter
{
    /// <summary>Called under the queue's lock (a leaf): must not block or take a lock; hands the work off.</summary>
    void Notified();
}

/// <summary>
/// Tasks waiting for something (a child's exit, pipe data, ...). A waiter registers, re-checks its
/// condition, then sleeps on its own wake event; Notify sets the events of all registered waiters and tells
/// the registered <see cref="IWaiter"/>s.
/// </summary>
internal sealed class WaitQueue
{
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly List<Task> _waiters = [];
    private List<IWaiter>? _others;

    public void Add(Task t)
    {
        lock (_mu)
        {
            _waiters.Add(t);
        }
    }

    public void Remove(Task t)
    {
        lock (_mu)
        {
            _waiters.Remove(t);
        }
    }

    public void Add(IWaiter w)
    {
        lock (_mu)
        {
            (_others ??= []).Add(w);
        }
    }

    public void Remove(IWaiter w)
    {
        lock (_mu)
        {
            _others?.Remove(w);
        }
    }

    /// <summary>Wakes every waiter; each re-checks its own condition.</summary>
    public void Notify()
    {
        lock (_mu)
        {
            foreach (Task t in _waiters)
            {
                t.Wake();
            }

            if (_others != null)
            {
                foreach (IWaiter w in _others)
                {
                    w.Notified();
                }
            }
        }
    }
}
