using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Host;

namespace Moat.Platform.Systrap;

/// <summary>
/// Stubs made ahead of time, so that fork and exec do not wait for a stub to be spawned, seized, emptied and
/// given its mapper (docs/systrap-platform.md, "the ready stub"). One long-lived maker thread makes them, then
/// lets the main stub thread go (<see cref="SystrapAddressSpace.Release"/>), idle in its pause loop; the task
/// thread that takes one seizes it (<see cref="SystrapAddressSpace.Claim"/>).
/// </summary>
/// <remarks>
/// The maker starts with the second address space asked for: a sandbox that never forks or execs keeps no
/// spare stub. A stub's PR_SET_PDEATHSIG follows the thread that spawned it, so the maker lives as long as the
/// pool; <see cref="Dispose"/> ends it and kills what is left. A ready stub runs nothing but pause() and its
/// idle mapper, and has nothing of the app mapped. The maker polls a pidfd of each ready stub: one that dies
/// while it waits (killed from outside) is reaped and replaced at once, not left as a zombie.
/// </remarks>
internal sealed class StubPool : IDisposable
{
    /// <summary>Stubs kept ready: one covers a fork or exec at a time, the usual shell or build pattern.</summary>
    private const int Target = 1;

    private readonly Func<SystrapAddressSpace?> _make;
    private readonly object _mu = new();

    // Ready stubs with a pidfd each, oldest first. Protected by _mu.
    private readonly Queue<(SystrapAddressSpace Space, SafeFdHandle Pidfd)> _ready = new();
    private Thread? _maker;
    private SafeFdHandle? _wake;
    private bool _disposed;
    private int _asked;

    // The maker is making a stub now. Protected by _mu; _mu is Monitor-waited on for the stub it makes.
    private bool _making;

    /// <param name="make">Creates one address space on the calling (maker) thread.</param>
    public StubPool(Func<SystrapAddressSpace?> make)
    {
        _make = make;
    }

    /// <summary>
    /// A ready address space, claimed by the calling thread, or null (none ready, or claiming failed): the
    /// caller then makes one itself.
    /// </summary>
    public SystrapAddressSpace? Take()
    {
        (SystrapAddressSpace Space, SafeFdHandle Pidfd) ready;
        lock (_mu)
        {
            if (_disposed)
            {
                return null;
            }

            if (++_asked == 2 && _maker == null)
            {
                _wake = HostPoll.EventFd(out _);
                if (_wake != null)
                {
                    _maker = new Thread(Make) { IsBackground = true, Name = "moat stub pool" };
                    _maker.Start();
                }
            }

            if (!_ready.TryDequeue(out ready) && !WaitForMakerLocked(out ready))
            {
                return null;
            }
        }

        Kick();
        ready.Pidfd.Dispose();
        if (ready.Space.Claim() < 0)
        {
            ready.Space.Dispose(); // died meanwhile: SIGKILL is harmless, and it is reaped here
            return null;
        }

        return ready.Space;
    }

    // The pool is empty: if the maker is making a stub, it is ready sooner than one spawned now, and spawning a
    // second at once only makes the two compete for the CPUs. Waits for it (boundedly: the caller spawns its own
    // if the maker is slow or fails). Preconditions: _mu is held.
    private bool WaitForMakerLocked(out (SystrapAddressSpace Space, SafeFdHandle Pidfd) ready)
    {
        long deadline = Environment.TickCount64 + 1000;
        while (_making && !_disposed)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                break;
            }

            Monitor.Wait(_mu, (int)left);
            if (_ready.TryDequeue(out ready))
            {
                return true;
            }
        }

        ready = default;
        return false;
    }

    private unsafe void Kick()
    {
        SafeFdHandle? wake = _wake;
        if (wake != null)
        {
            ulong one = 1;
            HostFile.Write(wake.Fd, (byte*)&one, 8);
        }
    }

    private void Make()
    {
        var fds = new List<HostPoll.PollFd>();
        var spaces = new List<SystrapAddressSpace>();
        while (true)
        {
            bool full;
            fds.Clear();
            spaces.Clear();
            fds.Add(new HostPoll.PollFd { Fd = _wake!.Fd, Events = HostPoll.POLLIN });
            lock (_mu)
            {
                if (_disposed)
                {
                    return;
                }

                full = _ready.Count >= Target;
                _making = !full;
                foreach ((SystrapAddressSpace space, SafeFdHandle pidfd) in _ready)
                {
                    fds.Add(new HostPoll.PollFd { Fd = pidfd.Fd, Events = HostPoll.POLLIN });
                    spaces.Add(space);
                }
            }

            if (!full)
            {
                if (!MakeOne())
                {
                    lock (_mu)
                    {
                        _making = false;
                        Monitor.PulseAll(_mu);
                    }

                    // The host refuses a stub now (out of processes or memory): callers make their own meanwhile.
                    Wait([new HostPoll.PollFd { Fd = _wake.Fd, Events = HostPoll.POLLIN }], 100);
                }

                continue;
            }

            HostPoll.PollFd[] arr = fds.ToArray();
            Wait(arr, -1);
            for (int i = 1; i < arr.Length; i++)
            {
                if (arr[i].Revents != 0)
                {
                    Drop(spaces[i - 1]);
                }
            }
        }
    }

    // Makes one stub, lets it go and queues it; false if the host refused one.
    private bool MakeOne()
    {
        SystrapAddressSpace? space = _make();
        if (space == null)
        {
            return false;
        }

        SafeFdHandle? pidfd = space.Release() < 0 ? null : HostPoll.PidfdOpen(space.Pid, out _);
        if (pidfd == null)
        {
            space.Dispose();
            return false;
        }

        lock (_mu)
        {
            _making = false;
            Monitor.PulseAll(_mu);
            if (!_disposed)
            {
                _ready.Enqueue((space, pidfd));
                return true;
            }
        }

        pidfd.Dispose();
        space.Dispose();
        return true;
    }

    // A ready stub died: unless a task took it meanwhile (its owner then sees the death), reap it.
    private void Drop(SystrapAddressSpace dead)
    {
        SafeFdHandle? pidfd = null;
        lock (_mu)
        {
            int n = _ready.Count;
            for (int i = 0; i < n; i++)
            {
                (SystrapAddressSpace Space, SafeFdHandle Pidfd) e = _ready.Dequeue();
                if (e.Space == dead)
                {
                    pidfd = e.Pidfd;
                }
                else
                {
                    _ready.Enqueue(e);
                }
            }
        }

        if (pidfd != null)
        {
            pidfd.Dispose();
            dead.Dispose();
        }
    }

    private unsafe void Wait(HostPoll.PollFd[] fds, int timeoutMs)
    {
        if (HostPoll.Poll(fds, timeoutMs) > 0 && fds[0].Revents != 0)
        {
            ulong drained;
            HostFile.Read(_wake!.Fd, (byte*)&drained, 8);
        }
    }

    /// <summary>Ends the maker (the stubs it spawned die with it, through PDEATHSIG) and kills and reaps the ready stubs.</summary>
    public void Dispose()
    {
        List<(SystrapAddressSpace Space, SafeFdHandle Pidfd)> left;
        Thread? maker;
        lock (_mu)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Monitor.PulseAll(_mu);
            left = [.. _ready];
            _ready.Clear();
            maker = _maker;
        }

        Kick();
        maker?.Join(); // a stub it was making is then queued to nobody and disposed by it
        foreach ((SystrapAddressSpace space, SafeFdHandle pidfd) in left)
        {
            pidfd.Dispose();
            space.Dispose();
        }

        _wake?.Dispose();
    }
}
