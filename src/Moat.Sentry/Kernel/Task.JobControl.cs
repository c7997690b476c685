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

    // A stopped task runs nothing: SIGCONT clears the group's stop and wakes it; SIGKILL wakes it to die.
    private void WaitWhileStopped()
    {
        while (true)
        {
            _wake.Reset();
            if (Group.StopSignal == 0 || Exit != null || KillPending())
            {
                return;
            }

            _wake.Wait();
        }
    }
}
