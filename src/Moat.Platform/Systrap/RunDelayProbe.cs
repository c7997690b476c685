using System.Diagnostics;

namespace Moat.Platform.Systrap;

/// <summary>
/// Watches one app thread's scheduler delay (schedstat's run_delay: the time it waited runnable for a CPU)
/// over spells of a few milliseconds in which it never slept on its futex. In such a spell the thread has
/// no wake-up latency to count, so every nanosecond of delay is a CPU that another thread held while this
/// one had work: the CPUs are oversubscribed. Task thread only.
/// </summary>
/// <remarks>
/// A spell in which the stub slept is spoiled (its delay includes wake-ups, which on a VM can cost tens of
/// microseconds on an idle CPU) and is only used as the start of the next one. At most one host call
/// (a pread of the thread's schedstat) per spell.
/// </remarks>
internal struct RunDelayProbe
{
    /// <summary>The length of a spell, in Stopwatch ticks (~4 ms).</summary>
    public static readonly long SpellTicks = Stopwatch.Frequency / 256;

    // A share of the spell above 1/LoadedShare spent waiting for a CPU means an oversubscribed host.
    private const int LoadedShare = 8;

    // Start of the spell (Stopwatch timestamp; 0 before the first sample) and the delay then, in ns.
    private long _since;
    private long _delayNs;
    private bool _spoiled;

    /// <summary>The app thread slept during this spell.</summary>
    public void Spoil() => _spoiled = true;

    /// <summary>Whether a spell has passed at <paramref name="now"/>, so that <see cref="Sample"/> is due.</summary>
    public readonly bool Due(long now) => _since == 0 || now - _since >= SpellTicks;

    /// <summary>
    /// Ends the spell with the thread's run_delay <paramref name="delayNs"/> (negative when unknown) and starts
    /// the next; says whether the thread waited for a CPU for more than an eighth of a clean spell.
    /// </summary>
    public bool Sample(long now, long delayNs)
    {
        bool loaded = false;
        if (_since != 0 && !_spoiled && delayNs >= 0 && _delayNs >= 0)
        {
            double spellNs = (now - _since) * 1e9 / Stopwatch.Frequency;
            loaded = (delayNs - _delayNs) * (double)LoadedShare > spellNs;
        }

        _since = now;
        _delayNs = delayNs;
        _spoiled = false;
        return loaded;
    }
}
