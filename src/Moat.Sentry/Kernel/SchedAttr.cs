namespace Moat.Sentry.Kernel;

/// <summary>
/// A task's scheduling attributes as Linux keeps them: policy, real-time priority, nice value and the
/// reset-on-fork flag. Immutable; a change replaces the object. The sandbox records them and reports them
/// back; the host schedules every task's thread alike.
/// </summary>
internal sealed record SchedAttr(int Policy, int RtPriority, int Nice, bool ResetOnFork)
{
    public const int SCHED_NORMAL = 0;
    public const int SCHED_FIFO = 1;
    public const int SCHED_RR = 2;
    public const int SCHED_BATCH = 3;
    public const int SCHED_IDLE = 5;
    public const int SCHED_DEADLINE = 6;
    public const int SCHED_RESET_ON_FORK = 0x4000_0000;

    public static SchedAttr Default { get; } = new(SCHED_NORMAL, 0, 0, false);

    public static bool IsRealTime(int policy) => policy is SCHED_FIFO or SCHED_RR;

    /// <summary>What a child (process or thread) starts with: Linux's sched_fork, which honours reset-on-fork.</summary>
    public SchedAttr ForChild()
    {
        if (!ResetOnFork)
        {
            return this;
        }

        // A real-time parent's child starts as a normal task at nice 0; otherwise only a negative nice is undone.
        return IsRealTime(Policy)
            ? Default
            : this with { Nice = Nice < 0 ? 0 : Nice, ResetOnFork = false };
    }
}
