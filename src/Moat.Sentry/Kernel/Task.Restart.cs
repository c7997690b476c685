namespace Moat.Sentry.Kernel;

/// <summary>
/// What restart_syscall(2) resumes: a call that answered ERESTART_RESTARTBLOCK (a relative sleep, poll with a
/// timeout) goes on to its first deadline after a stop or a signal that ran no handler, as Linux's
/// restart_block does.
/// </summary>
internal interface ISyscallRestart
{
    /// <summary>Continues the interrupted call; answers as the call itself would.</summary>
    long Restart(Task t);
}

internal sealed partial class Task
{
    /// <summary>
    /// The call restart_syscall resumes, set by a call that answers ERESTART_RESTARTBLOCK; null answers EINTR, as
    /// Linux's do_no_restart_syscall. Owned by the task thread.
    /// </summary>
    public ISyscallRestart? SyscallRestart { get; set; }
}
