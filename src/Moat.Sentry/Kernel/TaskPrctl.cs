namespace Moat.Sentry.Kernel;

/// <summary>
/// The per-task settings of prctl(2) that only the task itself reads back: copied by clone (copy_process),
/// kept by execve.
/// </summary>
/// <param name="TimerSlackNs">PR_SET_TIMERSLACK's value: what the task's timers may be deferred by. The Sentry's
/// timers fire as soon as they can whatever it is; the value is the task's to read back (and /proc/PID/timerslack_ns).</param>
/// <param name="DefaultTimerSlackNs">What PR_SET_TIMERSLACK 0 restores: the parent's slack when the task was made.</param>
/// <param name="MceKill">PR_MCE_KILL_GET's answer: PR_MCE_KILL_DEFAULT (2), _LATE (0) or _EARLY (1). No machine
/// check reaches the sandbox's tasks; the policy is stored as Linux stores it.</param>
/// <param name="IoFlusher">PR_SET_IO_FLUSHER (PF_MEMALLOC_NOIO | PF_LOCAL_THROTTLE).</param>
internal readonly record struct TaskPrctl(ulong TimerSlackNs, ulong DefaultTimerSlackNs, int MceKill, bool IoFlusher)
{
    /// <summary>init_task's: 50 µs of slack, the default machine-check policy.</summary>
    public static TaskPrctl Initial => new(50_000, 50_000, 2, false);

    /// <summary>A clone's copy: the parent's slack becomes the child's default (copy_process).</summary>
    public TaskPrctl ForChild() => this with { DefaultTimerSlackNs = TimerSlackNs };
}
