using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Host;

namespace Moat.Platform.Systrap;

/// <summary>
/// Stubs made ahead of time, so that fork and exec do not wait for a stub to be spawned, seized and emptied
/// (about half a millisecond here). One long-lived thread makes them: spawns, empties the address space,
/// starts the mapper, then lets the main thread go (<see cref="SystrapAddressSpace.Release"/>) idle in its
/// pause loop; the task thread that takes one seizes it (<see cref="SystrapAddressSpace.Claim"/>).
/// </summary>
/// <remarks>
/// The pool starts with the first address space asked for after the sandbox's first one: a sandbox that never
/// forks or execs keeps no spare stub. A stub's PR_SET_PDEATHSIG follows the thread that spawned it, so the
/// maker thread lives as long as the pool. A waiting stub runs nothing but pause() and has no app mapped.
/// </remarks>
internal sealed class StubPool : IDisposable
{
    /// <summary>Stubs kept ready: one covers a fork or exec at a time, the usual shell or build pattern.</summary>
    private const int Target = 1;

    private readonly Func<SystrapAddressSpace?> _make;
    private readonly Lock _mu = new();

    // Ready stubs, oldest first. Protected by _mu.
    private readonly Queue<SystrapAddressSpace> _ready = new();
    private Thread? _maker;
    private bool _disposed;
    private int _asked;

    // Set when the maker should look at the pool again.
    private readonly AutoResetEvent _refill = new(false);

    /// <param name="make">Creates one address space on the calling (maker) thread.</param>
    public StubPool(Func<SystrapAddressSpace?> make)
    {
        _make = make;
    }

    /// <summary>
    /// A ready address space, claimed by the calling thread, or null (none ready yet, or claiming failed):
    /// the caller then makes one itself.
    /// </summary>
    public SystrapAddressSpace? Take()
    {
        SystrapAddressSpace? space = null;
        lock (_mu)
        {
            if (_disposed)
            {
                return null;
            }

            if (++_asked == 2 && _maker == null)
            {
                _maker = new Thread(Make) { IsBackground = true, Name = "moat stub pool" };
                _maker.Start();
            }

            _ready.TryDequeue(out space);
        }

        if (space == null)
        {
            return null;
        }

        _refill.Set();
        if (space.Claim() < 0)
        {
            space.Dispose();
            return null;
        }

        return space;
    }

    private void Make()
    {
        while (true)
        {
            bool full;
            lock (_mu)
            {
                if (_disposed)
                {
                    return;
                }

                full = _ready.Count >= Target;
            }

            if (full)
            {
                _refill.WaitOne();
                continue;
            }

            SystrapAddressSpace? space = _make();
            if (space == null || space.Release() < 0)
            {
                space?.Dispose();

                // The host refuses a stub now (out of processes or memory): callers make their own meanwhile.
                Thread.Sleep(100);
                continue;
            }

            lock (_mu)
            {
                if (!_disposed)
                {
                    _ready.Enqueue(space);
                    continue;
                }
            }

            space.Dispose();
            return;
        }
    }

    public void Dispose()
    {
        List<SystrapAddressSpace> left;
        lock (_mu)
        {
            _disposed = true;
            left = [.. _ready];
            _ready.Clear();
        }

        _refill.Set();
        foreach (SystrapAddressSpace s in left)
        {
            s.Dispose(); // SIGKILL and reap: a released stub is our child like any other
        }
    }
}
