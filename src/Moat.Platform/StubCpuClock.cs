using System;
using System.Threading;
using Moat.Host;

namespace Moat.Platform;

/// <summary>
/// The CPU time the host counts for one stub process or stub thread, which is the app's: its instructions
/// run there. Both clocks start at zero when made (a forked child's or a new thread's clock starts at zero,
/// not at what the stub spent getting ready) and never go back, even once the host has let go of the stub.
/// </summary>
/// <remarks>
/// The run time comes from the scheduler (nanoseconds). The host samples user and system time at ticks;
/// as Linux's cputime_adjust does for getrusage, the run time is split in their proportion, and neither
/// part ever decreases.
/// </remarks>
internal sealed class StubCpuClock : IDisposable
{
    private const long NsPerTick = 10_000_000;
    private readonly int _pid;
    private readonly int _tid;
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly long _baseRuntime;
    private readonly long _baseUser;
    private readonly long _baseSystem;
    private SafeFdHandle? _schedstat;
    private long _lastRuntime;
    private long _prevUser;
    private long _prevSystem;
    private bool _disposed;

    private StubCpuClock(int pid, int tid)
    {
        _pid = pid;
        _tid = tid;
        _baseRuntime = RawRuntime();
        RawSplit(out _baseUser, out _baseSystem);
    }

    /// <summary>The clock of a whole stub process (all its threads, live and exited).</summary>
    public static StubCpuClock ForProcess(int pid) => new(pid, 0);

    /// <summary>The clock of one stub thread.</summary>
    public static StubCpuClock ForThread(int pid, int tid) => new(pid, tid);

    /// <summary>CPU time used since this clock was made, in nanoseconds. Cheap: one host call.</summary>
    public long RuntimeNs()
    {
        lock (_mu)
        {
            long raw = _disposed ? -1 : RawRuntime();
            if (raw >= 0 && raw - _baseRuntime > _lastRuntime)
            {
                _lastRuntime = raw - _baseRuntime;
            }

            return _lastRuntime;
        }
    }

    /// <summary>
    /// How long the thread has waited runnable for a CPU (schedstat's run_delay), in nanoseconds and counted
    /// from the thread's start; -1 for a process clock or when it cannot be read. One host call.
    /// </summary>
    public long RunDelayNs()
    {
        lock (_mu)
        {
            SafeFdHandle? fd = _tid == 0 || _disposed ? null : Schedstat(out _);
            return fd == null || HostCpuClock.ReadSchedstat(fd.Fd, out _, out long delay) < 0 ? -1 : delay;
        }
    }

    /// <summary>User and system time since this clock was made, in nanoseconds; they add up to <see cref="RuntimeNs"/>.</summary>
    public (long User, long System) Times()
    {
        long rtime = RuntimeNs();
        lock (_mu)
        {
            long u = 0, s = 0;
            if (!_disposed)
            {
                RawSplit(out u, out s);
                u = Math.Max(0, u - _baseUser);
                s = Math.Max(0, s - _baseSystem);
            }

            if (_prevUser + _prevSystem >= rtime)
            {
                return (_prevUser, _prevSystem);
            }

            long stime = s == 0 ? 0 : u == 0 ? rtime : (long)((Int128)s * rtime / (s + u));
            stime = Math.Max(stime, _prevSystem);
            long utime = rtime - stime;
            if (utime < _prevUser)
            {
                utime = _prevUser;
                stime = rtime - utime;
            }

            _prevUser = utime;
            _prevSystem = stime;
            return (utime, stime);
        }
    }

    public void Dispose()
    {
        lock (_mu)
        {
            _disposed = true;
            _schedstat?.Dispose();
            _schedstat = null;
        }
    }

    // Preconditions: _mu is held, or the constructor runs.
    private long RawRuntime()
    {
        if (_tid == 0)
        {
            return HostCpuClock.ProcessNs(_pid, HostCpuClock.Sched);
        }

        SafeFdHandle? fd = Schedstat(out long error);
        return fd == null ? error : HostCpuClock.ReadSchedstatNs(fd.Fd);
    }

    // The thread's schedstat file, opened on first use. Preconditions: _mu is held, or the constructor runs.
    private SafeFdHandle? Schedstat(out long error)
    {
        error = 0;
        _schedstat ??= HostCpuClock.OpenSchedstat(_pid, _tid, out error);
        return _schedstat;
    }

    // The host's tick-sampled user and system time (any unit: only their ratio is used).
    private void RawSplit(out long user, out long system)
    {
        user = system = 0;
        if (_tid == 0)
        {
            long prof = HostCpuClock.ProcessNs(_pid, HostCpuClock.Prof);
            long virt = HostCpuClock.ProcessNs(_pid, HostCpuClock.Virt);
            if (prof >= 0 && virt >= 0)
            {
                user = virt;
                system = Math.Max(0, prof - virt);
            }
        }
        else if (HostCpuClock.ReadThreadTicks(_pid, _tid, out long u, out long s) >= 0)
        {
            user = u * NsPerTick;
            system = s * NsPerTick;
        }
    }
}
