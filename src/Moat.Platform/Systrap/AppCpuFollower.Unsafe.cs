using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Systrap;

/// <summary>
/// On a loaded host (<see cref="CpuContention"/>), keeps a task's app thread on the CPU its Sentry thread
/// runs on, as the ptrace platform pins a tracer with its stub. Nobody spins then, so each hand-off is a
/// futex wake-up, and the two sides run strictly in turn: on one CPU the waker goes to sleep and the woken
/// thread, which slept, is next in line, where a wake-up on another busy CPU waits behind that CPU's threads.
/// On an idle host the app thread runs anywhere again, so that a spinning Sentry never shares its CPU.
/// Task thread only.
/// </summary>
internal struct AppCpuFollower
{
    // The CPU the app thread is bound to; meaningful while _bound.
    private int _cpu;
    private bool _bound;

    /// <summary>Whether the app thread is bound to one CPU now.</summary>
    public readonly bool Bound => _bound;

    /// <summary>Binds app thread <paramref name="tid"/> to the calling thread's CPU, or moves it there if that changed.</summary>
    public unsafe void Follow(int tid)
    {
        int cpu = Thread.GetCurrentProcessorId();
        if ((_bound && cpu == _cpu) || cpu < 0 || cpu >= 64 || (HostCpus.AllowedMask & (1UL << cpu)) == 0)
        {
            return;
        }

        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        mask[0] = 1UL << cpu;
        if (HostProcess.Syscall(Sysno.sched_setaffinity, tid, 128, (long)mask) == 0)
        {
            _cpu = cpu;
            _bound = true;
        }
    }

    /// <summary>Lets app thread <paramref name="tid"/> run on every CPU of the sandbox again.</summary>
    public unsafe void Release(int tid)
    {
        if (!_bound)
        {
            return;
        }

        ulong* mask = stackalloc ulong[16];
        ulong allowed = HostCpus.AllowedMask;
        new Span<ulong>(mask, 16).Fill(allowed == ulong.MaxValue ? ulong.MaxValue : 0);
        mask[0] = allowed;
        HostProcess.Syscall(Sysno.sched_setaffinity, tid, 128, (long)mask);
        _bound = false;
    }
}
