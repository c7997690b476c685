using System;
using System.Threading;
using Moat.Sentry.Kernel;

namespace Moat.Tests.Kernel;

public sealed class IntervalTimerTests : IDisposable
{
    private const long Ms = 1_000_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30); // only a failing test waits it out: generous for a loaded machine

    private readonly ManualResetEventSlim _fired = new();
    private readonly IntervalTimer _timer;
    private int _count;
    private int _target = 1;
    private IntervalTimer? _firedBy;

    public IntervalTimerTests()
    {
        _timer = new IntervalTimer(t =>
        {
            _firedBy = t;
            if (Interlocked.Increment(ref _count) >= Volatile.Read(ref _target))
            {
                _fired.Set();
            }
        });
    }

    public void Dispose()
    {
        _timer.Arm(0, 0);
        _timer.Dispose();
        _fired.Dispose();
    }

    [Fact]
    public void Arm_OneShot_FiresOnce()
    {
        _timer.Arm(20 * Ms, 0);

        Assert.True(_fired.Wait(Patience));
        Thread.Sleep(100);

        Assert.Equal(1, Volatile.Read(ref _count));
        Assert.Same(_timer, _firedBy);
        Assert.Equal((0L, 0L), _timer.Remaining());
    }

    [Fact]
    public void Arm_WithInterval_FiresRepeatedly()
    {
        Volatile.Write(ref _target, 3);

        _timer.Arm(10 * Ms, 10 * Ms);

        Assert.True(_fired.Wait(Patience));
        Assert.True(Volatile.Read(ref _count) >= 3);
        (long value, long interval) = _timer.Remaining();
        Assert.Equal(10 * Ms, interval);
        Assert.True(value > 0);
    }

    [Fact]
    public void Arm_WithInterval_RemainingReportsInterval()
    {
        _timer.Arm(5000 * Ms, 250 * Ms);

        (long value, long interval) = _timer.Remaining();

        Assert.Equal(250 * Ms, interval);
        Assert.True(value > 0 && value <= 5000 * Ms);
    }

    [Fact]
    public void Arm_Zero_Disarms()
    {
        _timer.Arm(100 * Ms, 0);

        _timer.Arm(0, 0);
        bool fired = _fired.Wait(300);

        Assert.False(fired);
        Assert.Equal(0, Volatile.Read(ref _count));
        Assert.Equal(0L, _timer.Remaining().ValueNs);
    }

    [Fact]
    public void Arm_ZeroWhilePeriodic_StopsFiring()
    {
        Volatile.Write(ref _target, 2);
        _timer.Arm(10 * Ms, 10 * Ms);
        Assert.True(_fired.Wait(Patience));

        _timer.Arm(0, 0);
        // A callback already past its check may still be running; let it finish.
        Thread.Sleep(50);
        int stopped = Volatile.Read(ref _count);
        Thread.Sleep(100);

        Assert.Equal(stopped, Volatile.Read(ref _count));
        Assert.Equal((0L, 0L), _timer.Remaining());
    }

    [Fact]
    public void Remaining_NeverArmed_IsZero()
    {
        Assert.Equal((0L, 0L), _timer.Remaining());
    }

    [Fact]
    public void Remaining_RightAfterArming_IsPositiveAndAtMostArmedValue()
    {
        _timer.Arm(1000 * Ms, 0);

        (long value, long interval) = _timer.Remaining();

        Assert.True(value > 0, $"value {value}");
        Assert.True(value <= 1000 * Ms, $"value {value}");
        Assert.Equal(0, interval);
    }

    [Fact]
    public void Remaining_Later_IsNotMoreThanEarlier()
    {
        _timer.Arm(1000 * Ms, 0);
        long first = _timer.Remaining().ValueNs;

        Thread.Sleep(20);
        long second = _timer.Remaining().ValueNs;

        Assert.True(second > 0);
        Assert.True(second < first, $"{second} !< {first}");
    }

    [Fact]
    public void Arm_Rearm_ReplacesDeadline()
    {
        _timer.Arm(1000 * Ms, 0);

        _timer.Arm(20 * Ms, 0);

        Assert.True(_timer.Remaining().ValueNs <= 20 * Ms);
        Assert.True(_fired.Wait(Patience));
        Thread.Sleep(50);
        Assert.Equal(1, Volatile.Read(ref _count));
    }

    [Fact]
    public void TakeOverrun_NothingMissed_IsZero()
    {
        Assert.Equal(0, _timer.TakeOverrun());

        _timer.Arm(10 * Ms, 0);
        Assert.True(_fired.Wait(Patience));

        Assert.Equal(0, _timer.TakeOverrun());
    }
}
