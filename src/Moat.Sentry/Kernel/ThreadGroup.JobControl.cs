using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>Job-control state of a process: a group stop in force, and the stop/continue events wait(2) reports.</summary>
internal sealed partial class ThreadGroup
{
    private int _stopSignal;

    /// <summary>
    /// The signal that stopped the group, or 0 while it runs. Written under Kernel.TreeMu; read without a
    /// lock on each return to the app, so it is volatile.
    /// </summary>
    public int StopSignal
    {
        get => Volatile.Read(ref _stopSignal);
        set => Interlocked.Exchange(ref _stopSignal, value); // a full fence: see Task.Block
    }

    /// <summary>Whether every task of the current stop has stopped and the parent was told. Protected by Kernel.TreeMu.</summary>
    public bool StopNotified { get; set; }

    /// <summary>The stop signal wait(WUNTRACED) has yet to report, or 0. Protected by Kernel.TreeMu.</summary>
    public int StopReport { get; set; }

    /// <summary>Whether wait(WCONTINUED) has a continue to report. Protected by Kernel.TreeMu.</summary>
    public bool ContinueReport { get; set; }
}
