using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>A task's part in a group stop: it waits on its own wake event until continued or killed.</summary>
internal sealed partial class Task
{
    /// <summary>Notified when a signal is queued for this task (signalfd readiness).</summary>
    public WaitQueue SignalQueued { get; } = new();

    /// <summary>Brings the task into the Sentry soon: out of a wait, or out of application code.</summary>
    public void Kick()
    {
        Wake();
        Context.Interrupt();
    }

    private bool KillPending()
    {
        lock (_sigMu)
        {
            return (_pending & (1UL << (Signal.SIGKILL - 1))) != 0;
        }
    }

    // 0 running, 1 asleep in Block, 2 stopped, 3 frozen. Written with full fences: a task going to sleep and a group
    // stop starting each see the other (Block).
    private int _jobState;

    /// <summary>Whether the task is stopped or asleep in the Sentry: it runs no app code before it checks for a stop.</summary>
    public bool IsQuiescent => Volatile.Read(ref _jobState) != 0;

    // A stopped task runs nothing: SIGCONT clears the group's stop and wakes it; SIGKILL wakes it to die.
    private void WaitWhileStopped()
    {
        Interlocked.Exchange(ref _jobState, 2);
        Kernel.CheckGroupStopped(Group);
        try
        {
            while (true)
            {
                _wake.Reset();
                // A tracer that attached meanwhile gets the stop reported as a ptrace stop (HandleSignals).
                if (Group.StopSignal == 0 || Exit != null || KillPending() || (Tracer != null && !_groupStopTaken))
                {
                    return;
                }

                _wake.Wait();
            }
        }
        finally
        {
            Interlocked.Exchange(ref _jobState, 0);
        }
    }

    // A frozen sandbox (Kernel.Freeze) runs nothing: the task waits here, counted as parked, until the thaw.
    // SIGKILL still gets through, so a paused container can be killed.
    private void WaitWhileFrozen()
    {
        Interlocked.Exchange(ref _jobState, 3);
        try
        {
            while (true)
            {
                _wake.Reset();
                if (!Kernel.Frozen || Exit != null || KillPending())
                {
                    return;
                }

                _wake.Wait();
            }
        }
        finally
        {
            Interlocked.Exchange(ref _jobState, 0);
        }
    }

    /// <summary>
    /// Sleeps on <paramref name="done"/> where no signal may interrupt (a vfork parent): counted as asleep for
    /// a group stop or a freeze, and parked at the end if the sandbox is frozen by then.
    /// </summary>
    public void WaitUninterruptibly(ManualResetEventSlim done)
    {
        EnterSleep();
        done.Wait();
        LeaveSleep();
        if (Kernel.Frozen)
        {
            WaitWhileFrozen();
        }
    }

    // Around a sleep in Block: a sleeping task counts as stopped for a group stop in progress.
    private void EnterSleep()
    {
        Interlocked.Exchange(ref _jobState, 1);
        if (Group.StopSignal != 0)
        {
            Kernel.CheckGroupStopped(Group);
        }
    }

    private void LeaveSleep() => Interlocked.Exchange(ref _jobState, 0);
}
