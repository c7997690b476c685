using System.Diagnostics;

namespace Moat.Platform.Systrap;

/// <summary>
/// Watches one app thread's scheduler delay (schedstat's run_delay: the time it waited runnable for a CPU)
/// over spells of a few milliseconds. A thread that has a CPU whenever it has work waits for none; one that
/// waits for a CPU for more than a quarter of a spell shares its CPUs with more runnable threads than they can
/// run: the host is oversubscribed. Task thread only.
/// </summary>
/// <remarks>
/// Each time the app thread is woken from its futex (the stub slept for the Sentry's answer) it may wait a
/// little for a CPU even on an idle host; an allowance per wake-up is taken off. A spell in which the app
/// thread was kept on the Sentry thread's CPU (<see cref="AppCpuFollower"/>) is spoiled: there it waits for
/// the Sentry thread to go to sleep, which is not load. At most one host call (a pread of the thread's
/// schedstat) per spell.
/// </remarks>
internal struct RunDelayProbe
{
    /// <summary>The length of a spell, in Stopwatch ticks (~4 ms).</summary>
    public static readonly long SpellTicks = Stopwatch.Frequency / 256;

    // A share of the spell above 1/LoadedShare spent waiting for a CPU means an oversubscribed host.
    private const int LoadedShare = 4;

    // What a wake-up may wait for a CPU on an idle host, in ns.
    private const long WakeAllowanceNs = 2000;

    // Start of the spell (Stopwatch timestamp; 0 before the first sample) and the delay then, in ns.
    private long _since;
    private long _delayNs;
    private bool _spoiled;
    private int _wakes;

    /// <summary>This spell says nothing about the host's load.</summary>
    public void Spoil() => _spoiled = true;

    /// <summary>The app thread was woken from its futex.</summary>
    public void Woke() => _wakes++;

    /// <summary>Whether a spell has passed at <paramref name="now"/>, so that <see cref="Sample"/> is due.</summary>
    public readonly bool Due(long now) => _since == 0 || now - _since >= SpellTicks;

    /// <summary>
    /// Ends the spell with the thread's run_delay <paramref name="delayNs"/> (negative when unknown) and starts
    /// the next; says whether the thread waited for a CPU for more than a quarter of a clean spell, beyond
    /// the allowance for its wake-ups.
    /// </summary>
    public bool Sample(long now, long delayNs)
    {
        bool loaded = false;
        if (_since != 0 && !_spoiled && delayNs >= 0 && _delayNs >= 0)
        {
            double spellNs = (now - _since) * 1e9 / Stopwatch.Frequency;
            double waited = delayNs - _delayNs - ((double)_wakes * WakeAllowanceNs);
            loaded = waited * LoadedShare > spellNs;
        }

        _since = now;
        _delayNs = delayNs;
        _spoiled = false;
        _wakes = 0;
        return loaded;
    }
}
