using System;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>Job control: group stops, continuing, and what wait(2) sees of them.</summary>
internal sealed partial class Kernel
{
    /// <summary>SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU (bit n-1 for signal n).</summary>
    public const ulong StopSignalMask =
        (1UL << (Signal.SIGSTOP - 1)) | (1UL << (Signal.SIGTSTP - 1)) | (1UL << (Signal.SIGTTIN - 1)) | (1UL << (Signal.SIGTTOU - 1));

    /// <summary>
    /// Stops <paramref name="t"/>'s process by <paramref name="sig"/>: each task stops at its next return to
    /// the app (tasks blocked in the Sentry stay blocked). The parent hears of it once no task can run app
    /// code any more (<see cref="CheckGroupStopped"/>).
    /// </summary>
    public void BeginGroupStop(Task t, int sig)
    {
        ThreadGroup g = t.Group;
        List<Task> others;
        lock (TreeMu)
        {
            if (g.ExitStatus != null || g.StopSignal != 0)
            {
                return;
            }

            g.StopSignal = sig;
            g.StopNotified = false;
            g.ContinueReport = false;
            others = [.. g.Tasks];
        }

        foreach (Task o in others)
        {
            if (o != t)
            {
                o.Kick();
            }
        }
    }

    /// <summary>
    /// What sending SIGCONT does besides queueing it, even when it is blocked or ignored: pending stop
    /// signals go, and a stopped process resumes and its parent hears of it.
    /// </summary>
    public void ContinueGroup(ThreadGroup g)
    {
        lock (TreeMu)
        {
            foreach (Task o in g.Tasks)
            {
                o.DiscardPendingMask(StopSignalMask);
            }

            if (g.StopSignal == 0 || g.ExitStatus != null)
            {
                return;
            }

            g.StopSignal = 0;
            g.StopReport = 0;
            foreach (Task o in g.Tasks)
            {
                o.Wake();
            }

            // A stop that never completed was never reported, so neither is its end.
            if (g.StopNotified)
            {
                g.StopNotified = false;
                g.ContinueReport = true;
                NotifyParentLocked(g, ChildEvent.CLD_CONTINUED, Signal.SIGCONT);
            }
        }
    }

    /// <summary>
    /// Completes a group stop once every live task is stopped or asleep in the Sentry (a sleeper that wakes
    /// stops before it returns to the app): the parent gets CLD_STOPPED and wait(WUNTRACED) can see it.
    /// Called by tasks as they stop or go to sleep, and when a task of a stopping group exits.
    /// </summary>
    public void CheckGroupStopped(ThreadGroup g)
    {
        lock (TreeMu)
        {
            if (g.StopSignal == 0 || g.StopNotified || g.ExitStatus != null)
            {
                return;
            }

            foreach (Task o in g.Tasks)
            {
                if (!o.IsQuiescent && o.Exit == null)
                {
                    return;
                }
            }

            g.StopNotified = true;
            g.StopReport = g.StopSignal;
            NotifyParentLocked(g, ChildEvent.CLD_STOPPED, g.StopSignal);
        }
    }

    /// <summary>
    /// Whether process group <paramref name="pgrp"/> of <paramref name="session"/> is orphaned: no live member
    /// has a parent in another group of the same session (Linux's will_become_orphaned_pgrp). The sandbox's
    /// init has no parent here, as a container's init has none in the container's session.
    /// </summary>
    public bool IsOrphanedProcessGroupLocked(int pgrp, int session)
    {
        foreach (ThreadGroup g in _groups.Values)
        {
            if (g.ProcessGroup != pgrp || g.Zombie || g.ExitStatus != null)
            {
                continue;
            }

            ThreadGroup? p = g.Parent;
            if (p != null && p.ProcessGroup != pgrp && p.Session == session)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether the default action of <paramref name="sig"/> (a stop signal) stops <paramref name="g"/>: SIGTSTP,
    /// SIGTTIN and SIGTTOU are discarded in an orphaned process group, where no job-control shell could
    /// continue it (Linux checks this when the signal is taken).
    /// </summary>
    public bool StopsGroup(ThreadGroup g, int sig)
    {
        if (sig == Signal.SIGSTOP)
        {
            return true;
        }

        lock (TreeMu)
        {
            return !IsOrphanedProcessGroupLocked(g.ProcessGroup, g.Session);
        }
    }

    /// <summary>Sending a stop signal drops a pending SIGCONT from every task of the process.</summary>
    public void DiscardPendingContinue(ThreadGroup g)
    {
        lock (TreeMu)
        {
            foreach (Task o in g.Tasks)
            {
                o.DiscardPendingMask(1UL << (Signal.SIGCONT - 1));
            }
        }
    }

    /// <summary>
    /// Finds an event of a child of <paramref name="parent"/> that <paramref name="matches"/>: an exit, a
    /// stop or a continue, as asked, in that order for each child. With <paramref name="consume"/> the event
    /// is taken (a zombie is reaped). <paramref name="anyChild"/> says whether any child matched at all.
    /// </summary>
    /// Tracees come first: their ptrace stops (reported whatever the options) and the exits of those that are
    /// not children; <paramref name="pid"/> (when positive) names one by task id.
    public ChildEvent? TryWait(ThreadGroup parent, Func<ThreadGroup, bool> matches, int pid, bool wClone, bool wAll, bool exited, bool stopped, bool continued, bool consume, out bool anyChild)
    {
        lock (TreeMu)
        {
            anyChild = false;
            ChildEvent? traced = TryWaitTraceesLocked(parent, matches, pid, wClone, wAll, exited, consume, ref anyChild);
            if (traced != null)
            {
                return traced;
            }

            foreach (ThreadGroup c in parent.Children)
            {
                if (!matches(c))
                {
                    continue;
                }

                anyChild = true;
                if (c.Zombie)
                {
                    if (!exited)
                    {
                        continue;
                    }

                    if (consume)
                    {
                        ReapLocked(parent, c);
                    }

                    return ChildEvent.Exited(c, c.ExitStatus!.Value);
                }

                if (stopped && c.StopReport != 0 && !StopSeenThroughPtrace(parent, c))
                {
                    int sig = c.StopReport;
                    if (consume)
                    {
                        c.StopReport = 0;
                    }

                    return new ChildEvent(c, ChildEvent.CLD_STOPPED, sig);
                }

                if (continued && c.ContinueReport)
                {
                    if (consume)
                    {
                        c.ContinueReport = false;
                    }

                    return new ChildEvent(c, ChildEvent.CLD_CONTINUED, Signal.SIGCONT);
                }
            }

            return null;
        }
    }

    private void ReapLocked(ThreadGroup parent, ThreadGroup c)
    {
        parent.Children.Remove(c);
        RemoveGroupLocked(c);
        c.ExitEvents.Notify(); // a pidfd's POLLHUP
        parent.CpuChildren = (
            parent.CpuChildren.User + c.CpuFinal.User + c.CpuChildren.User,
            parent.CpuChildren.System + c.CpuFinal.System + c.CpuChildren.System);
    }

    // Sends the parent SIGCHLD (unless it asked for none with SA_NOCLDSTOP), then wakes its waiters. Under
    // TreeMu, so that a wait(2) that sees the event also finds the signal queued, as on Linux.
    private static void NotifyParentLocked(ThreadGroup g, int code, int status)
    {
        ThreadGroup? parent = g.Parent;
        if (parent == null)
        {
            return;
        }

        if ((parent.SignalActions[Signal.SIGCHLD].Flags & SignalAction.SA_NOCLDSTOP) == 0)
        {
            parent.SignalTarget(Signal.SIGCHLD)?.SendSignal(
                Signal.SIGCHLD, new SigInfo { si_signo = Signal.SIGCHLD, si_code = code, si_pid = g.Pid.In(parent.PidNs), si_status = status });
        }

        parent.ChildEvents.Notify();
    }
}
