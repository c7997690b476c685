using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// The freezer (an OCI runtime's pause/resume): the whole sandbox stops as a frozen cgroup stops, without a
/// signal. Each task parks at its next stop point: on its way back to app code, or in a blocking wait it is
/// in or enters (the wait does not end early: its condition is not even checked while frozen, so nothing is
/// consumed, and a timeout that passes meanwhile is seen after the thaw). Timers keep running, as on Linux:
/// a signal they raise meanwhile is queued and delivered after the thaw. SIGKILL still kills a frozen task
/// (cgroup v2's freezer), so a paused container can be deleted.
/// </summary>
internal sealed partial class Kernel
{
    // 1 while frozen. Read by every task at its stop points; written under TreeMu.
    private int _frozen;

    /// <summary>Whether the sandbox is frozen (between <see cref="Freeze"/> and <see cref="Thaw"/>).</summary>
    public bool Frozen => Volatile.Read(ref _frozen) != 0;

    /// <summary>
    /// Freezes every task, present and future, and waits up to <paramref name="timeoutMs"/> until each is
    /// parked (stopped or asleep in the Sentry, or exiting). Returns whether they all are; the sandbox stays
    /// frozen either way, until <see cref="Thaw"/>.
    /// </summary>
    public bool Freeze(int timeoutMs)
    {
        List<Task> all;
        lock (TreeMu)
        {
            Volatile.Write(ref _frozen, 1);
            all = [.. _tasks.Values];
        }

        // Tasks in app code come into the Sentry; tasks asleep stay asleep (they count as parked).
        foreach (Task t in all)
        {
            t.Kick();
        }

        var clock = Stopwatch.StartNew();
        while (!AllParked())
        {
            if (clock.ElapsedMilliseconds > timeoutMs)
            {
                return false;
            }

            // Not a hot path: an outside request waiting for the sandbox to settle.
            Thread.Sleep(1);
        }

        return true;
    }

    /// <summary>Ends a freeze: every task goes on where it parked.</summary>
    public void Thaw()
    {
        List<Task> all;
        lock (TreeMu)
        {
            Volatile.Write(ref _frozen, 0);
            all = [.. _tasks.Values];
        }

        foreach (Task t in all)
        {
            t.Wake();
        }
    }

    private bool AllParked()
    {
        lock (TreeMu)
        {
            foreach (Task t in _tasks.Values)
            {
                if (!t.IsQuiescent && t.Exit == null)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
