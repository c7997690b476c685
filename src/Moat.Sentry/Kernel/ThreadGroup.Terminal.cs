namespace Moat.Sentry.Kernel;

/// <summary>A process's controlling terminal (Linux's signal->tty).</summary>
internal sealed partial class ThreadGroup
{
    /// <summary>
    /// The pty this process has as controlling terminal, or null: inherited by fork, dropped by setsid, set by a
    /// session leader's open or TIOCSCTTY. Protected by Kernel.TreeMu.
    /// </summary>
    public Vfs.Devpts.Terminal? ControllingTerminal { get; set; }
}
