using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>
/// The driver of a stack sleeps until its planned wake-up (for ever with no timer); a timer queued earlier
/// kicks it, one due later does not, and neither does re-arming a queued timer later.
/// </summary>
public sealed class TimerQueueWakeTests
{
    [Fact]
    public void Arm_EarlierThanThePlannedWake_KicksTheDriverOnce()
    {
        var q = new TimerQueue();
        int kicks = 0;
        q.Wake = () => kicks++;
        var a = new StackTimer(() => { });
        var b = new StackTimer(() => { });

        q.Arm(a, 5_000);          // the driver waits for a kick: any timer wakes it
        Assert.Equal(1, kicks);
        q.Arm(b, 9_000);          // later than the wake the driver will plan for
        Assert.Equal(1, kicks);
        q.Arm(a, 20_000);         // a later deadline leaves the queued entry alone
        Assert.Equal(1, kicks);

        q.WakeAt = q.NextDeadline; // the driver's plan: the stale entry of a at 5 000
        Assert.Equal(5_000, q.WakeAt);
        Assert.Equal(0, q.RunExpired(5_000)); // a re-queues itself at 20 000, b stays at 9 000
        q.WakeAt = q.NextDeadline;
        Assert.Equal(9_000, q.WakeAt);
        q.Arm(a, 7_000);          // earlier than the plan: kick
        Assert.Equal(2, kicks);
        Assert.Equal(7_000, q.WakeAt);
    }
}
