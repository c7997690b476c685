using System.Diagnostics;
using Moat.Platform.Systrap;

namespace Moat.Tests.Platform;

/// <summary>The systrap hand-off's view of a loaded host: CpuContention's holds and RunDelayProbe's verdicts.</summary>
public sealed class SpinLoadTests
{
    private const long T0 = 1_000_000_000;

    [Fact]
    public void Contention_IdleUntilMarked_ThenHeldForTheMinimum()
    {
        var c = new CpuContention();
        Assert.False(c.IsContended(T0));
        c.Mark(T0);
        Assert.True(c.IsContended(T0));
        Assert.True(c.IsContended(T0 + CpuContention.MinHoldTicks - 1));
        Assert.False(c.IsContended(T0 + CpuContention.MinHoldTicks));
    }

    [Fact]
    public void Contention_LoadStillThereAfterAHold_DoublesIt_UpToTheMaximum()
    {
        var c = new CpuContention();
        long now = T0;
        c.Mark(now);
        long hold = CpuContention.MinHoldTicks;
        for (int i = 0; i < 20; i++)
        {
            now += c.HoldTicks; // the hold ends and the very next probe finds the load again
            c.Mark(now);
            hold = System.Math.Min(hold * 2, CpuContention.MaxHoldTicks);
            Assert.Equal(hold, c.HoldTicks);
        }

        Assert.Equal(CpuContention.MaxHoldTicks, c.HoldTicks);
    }

    [Fact]
    public void Contention_MarkDuringAHold_DoesNotExtendIt_QuietSpell_ResetsIt()
    {
        var c = new CpuContention();
        c.Mark(T0);
        c.Mark(T0 + 10);
        Assert.Equal(CpuContention.MinHoldTicks, c.HoldTicks);
        Assert.False(c.IsContended(T0 + CpuContention.MinHoldTicks));

        c.Mark(T0 + CpuContention.MinHoldTicks); // load again right after: doubled
        Assert.Equal(2 * CpuContention.MinHoldTicks, c.HoldTicks);

        long later = T0 + (10 * CpuContention.MaxHoldTicks); // long quiet, then a burst: short hold again
        c.Mark(later);
        Assert.Equal(CpuContention.MinHoldTicks, c.HoldTicks);
    }

    private static long Ns(long ticks) => (long)(ticks * 1e9 / Stopwatch.Frequency);

    [Fact]
    public void Probe_WaitedMoreThanAQuarter_IsLoaded_LessIsNot()
    {
        var p = new RunDelayProbe();
        long spell = RunDelayProbe.SpellTicks;
        Assert.True(p.Due(T0));
        Assert.False(p.Sample(T0, 1000)); // the first sample only starts a spell
        Assert.False(p.Due(T0 + spell - 1));
        Assert.True(p.Due(T0 + spell));

        Assert.False(p.Sample(T0 + spell, 1000 + (Ns(spell) / 5)));
        Assert.True(p.Sample(T0 + (2 * spell), 1000 + (Ns(spell) / 5) + (Ns(spell) / 3)));
    }

    [Fact]
    public void Probe_WakeUpsHaveAnAllowance()
    {
        var p = new RunDelayProbe();
        long spell = RunDelayProbe.SpellTicks;
        long waited = Ns(spell) / 2;
        p.Sample(T0, 0);
        for (int i = 0; i < waited / 2000; i++)
        {
            p.Woke(); // as many wake-ups as 2 µs each explain
        }

        Assert.False(p.Sample(T0 + spell, waited));

        // The count starts again with the next spell: the same wait without wake-ups is load.
        Assert.True(p.Sample(T0 + (2 * spell), 2 * waited));
    }

    [Fact]
    public void Probe_SpoiledSpell_OrUnknownDelay_SaysNothing()
    {
        var p = new RunDelayProbe();
        long spell = RunDelayProbe.SpellTicks;
        p.Sample(T0, 0);
        p.Spoil(); // the app thread was kept on the Sentry thread's CPU
        Assert.False(p.Sample(T0 + spell, Ns(spell)));

        // The next clean spell is judged again.
        Assert.True(p.Sample(T0 + (2 * spell), Ns(spell) + (Ns(spell) / 2)));

        Assert.False(p.Sample(T0 + (3 * spell), -1));
        Assert.False(p.Sample(T0 + (4 * spell), Ns(spell) * 10));
    }
}
