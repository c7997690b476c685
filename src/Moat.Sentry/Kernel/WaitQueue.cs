using System.Collections.Generic;
using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Tasks waiting for something (a child's exit, pipe data, ...). A waiter registers, re-checks its
/// condition, then sleeps on its own wake event; Notify sets the events of all registered waiters.
/// </summary>
internal sealed class WaitQueue
{
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly List<Task> _waiters = [];

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

    /// <summary>Wakes every waiter; each re-checks its own condition.</summary>
    public void Notify()
    {
        lock (_mu)
        {
            foreach (Task t in _waiters)
            {
                t.Wake();
            }
        }
    }
}
