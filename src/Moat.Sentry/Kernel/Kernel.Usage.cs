using System.Collections.Generic;

namespace Moat.Sentry.Kernel;

/// <summary>What the sandbox uses as a whole, for an OCI runtime's <c>events --stats</c> (a cgroup's counters).</summary>
internal sealed partial class Kernel
{
    // User and system time of every process that has exited. Protected by TreeMu.
    private (long User, long System) _cpuExited;

    /// <summary>The tasks (threads) alive now: the pids cgroup's pids.current.</summary>
    public int LiveTaskCount
    {
        get
        {
            lock (TreeMu)
            {
                return _liveTasks;
            }
        }
    }

    /// <summary>
    /// The application's CPU time, in nanoseconds, over the sandbox's life: every process's stub time, live or
    /// exited (what cpuacct would count of the app's own instructions; the Sentry's time serving it is not in it).
    /// </summary>
    public (long User, long System) CpuUsage()
    {
        List<(ThreadGroup Group, Task Any)> live;
        (long User, long System) total;
        lock (TreeMu)
        {
            total = _cpuExited;
            live = [];
            foreach (ThreadGroup g in _groups.Values)
            {
                if (g.Tasks.Count > 0)
                {
                    live.Add((g, g.Tasks[0]));
                }
            }
        }

        // A process that ends meanwhile is not counted twice: its final time went to _cpuExited after the
        // snapshot, and its stub's time (read here) is at most that.
        foreach ((ThreadGroup g, Task any) in live)
        {
            if (g.CpuByThreads)
            {
                (long tu, long ts) = CpuClocks.ProcessTimes(this, g);
                total = (total.User + tu, total.System + ts);
                continue;
            }

            Mm.MemoryManager mm = any.MM;
            (long u, long s) = mm.HasAddressSpace ? mm.AddressSpace.CpuTime() : (0, 0);
            total = (total.User + g.CpuBefore.User + u, total.System + g.CpuBefore.System + s);
        }

        return total;
    }
}
