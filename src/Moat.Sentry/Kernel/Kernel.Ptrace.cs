using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// ptrace(2)'s links in the process tree: attaching and what the tracer's wait(2) sees of its tracees (their
/// stops, and the exits of those that are not its own children).
/// </summary>
internal sealed partial class Kernel
{
    /// <summary>
    /// Makes <paramref name="tracer"/> trace <paramref name="target"/> (PTRACE_ATTACH, PTRACE_SEIZE). Returns 0,
    /// -ESRCH or -EPERM as Linux's ptrace_attach does.
    /// </summary>
    public long PtraceAttach(Task tracer, Task target, bool seize, int options)
    {
        if (target.Group == tracer.Group)
        {
            return -Errno.EPERM.Value;
        }

        if (!PtraceAccess.MayRead(tracer, target))
        {
            return -Errno.EPERM.Value;
        }

        lock (TreeMu)
        {
            if (target.Exit != null || target.Group.ExitStatus != null)
            {
                return -Errno.EPERM.Value;
            }

            if (target.Tracer != null)
            {
                return -Errno.EPERM.Value;
            }

            target.PtraceLinkLocked(tracer, seize, options);
        }

        if (!seize)
        {
            // SEND_SIG_PRIV: the stop the tracer waits for comes from the kernel.
            target.SendSignal(Signal.SIGSTOP, new SigInfo { si_signo = Signal.SIGSTOP, si_code = SigInfo.SI_KERNEL });
        }

        return 0;
    }

    /// <summary>PTRACE_TRACEME: the caller's parent process traces it. Returns 0 or -EPERM.</summary>
    public long PtraceTraceMe(Task t)
    {
        lock (TreeMu)
        {
            if (t.Tracer != null)
            {
                return -Errno.EPERM.Value;
            }

            ThreadGroup? parent = t.Group.Parent;
            Task? tracer = null;
            if (parent != null)
            {
                foreach (Task pt in parent.Tasks)
                {
                    if (pt.Exit == null && (tracer == null || pt.Tid == parent.Tgid))
                    {
                        tracer = pt;
                    }
                }
            }

            if (tracer == null)
            {
                return -Errno.EPERM.Value;
            }

            t.PtraceLinkLocked(tracer, seized: false, options: 0);
            return 0;
        }
    }

    /// <summary>
    /// Tells the tracer's process of a tracee's stop or exit: SIGCHLD (unless SA_NOCLDSTOP for a stop), then
    /// its waiters. Preconditions: TreeMu is held.
    /// </summary>
    public void NotifyTracerLocked(Task tracee, Task tracer, int code, int status)
    {
        ThreadGroup g = tracer.Group;
        bool stop = code == ChildEvent.CLD_TRAPPED;
        if (!stop || (g.SignalActions[Signal.SIGCHLD].Flags & SignalAction.SA_NOCLDSTOP) == 0)
        {
            g.SignalTarget(Signal.SIGCHLD)?.SendSignal(
                Signal.SIGCHLD, new SigInfo { si_signo = Signal.SIGCHLD, si_code = code, si_pid = tracee.Tid, si_status = status });
        }

        g.ChildEvents.Notify();
    }

    // A traced task is exiting. Its tracer hears of it unless it is the parent of a process whose last task
    // this is (then the ordinary zombie report is the one). Preconditions: TreeMu is held.
    private void PtraceTaskExitingLocked(Task t, bool lastOfGroup, ExitStatus status)
    {
        Task? tracer = t.Tracer;
        if (tracer == null)
        {
            return;
        }

        if (lastOfGroup && t.Group.Parent == tracer.Group)
        {
            t.PtraceUnlinkLocked(0);
            return;
        }

        // Linux reports the exit of a traced thread to its tracer, which reaps it with wait.
        t.PtraceReport = 0;
        t.PtraceExitReport = status;
        var ev = ChildEvent.Exited(t.Group, status);
        NotifyTracerLocked(t, tracer, ev.Code, ev.Status);
    }

    // Tracees of any task of the waiting process that match, for wait(2). Returns an event, or null; sets any.
    // Preconditions: TreeMu is held.
    private ChildEvent? TryWaitTraceesLocked(ThreadGroup waiter, System.Func<ThreadGroup, bool> matches, int pid, bool wClone, bool wAll, bool exited, bool consume, ref bool any)
    {
        foreach (Task tracer in waiter.Tasks)
        {
            List<Task>? tracees = tracer.TraceesLocked;
            if (tracees == null)
            {
                continue;
            }

            foreach (Task tracee in tracees)
            {
                if (pid > 0 ? tracee.Tid != pid : !matches(tracee.Group))
                {
                    continue;
                }

                // A thread, or a process whose exit signal is not SIGCHLD, is a "clone" child: only __WCLONE or
                // __WALL see it, as Linux's eligible_child says.
                bool cloneChild = tracee.Tid != tracee.Group.Tgid || tracee.Group.ExitSignal != Signal.SIGCHLD;
                if (!wAll && cloneChild != wClone)
                {
                    continue;
                }

                any = true;
                if (tracee.PtraceExitReport is ExitStatus es)
                {
                    if (!exited)
                    {
                        continue;
                    }

                    if (consume)
                    {
                        tracee.PtraceExitReport = null;
                        tracees.Remove(tracee);
                        tracee.PtraceUnlinkLocked(0);
                    }

                    ChildEvent e = ChildEvent.Exited(tracee.Group, es);
                    return e with { Pid = tracee.Tid };
                }

                if (tracee.PtraceReport != 0)
                {
                    int code = tracee.PtraceReport;
                    if (consume)
                    {
                        tracee.PtraceReport = 0;
                    }

                    return new ChildEvent(tracee.Group, ChildEvent.CLD_TRAPPED, code, tracee.Tid);
                }
            }
        }

        return null;
    }

    // Whether a child's group stop is reported through ptrace to this waiter instead (its leader is traced by it).
    private static bool StopSeenThroughPtrace(ThreadGroup waiter, ThreadGroup child)
    {
        foreach (Task ct in child.Tasks)
        {
            if (ct.Tracer?.Group == waiter)
            {
                return true;
            }
        }

        return false;
    }
}
