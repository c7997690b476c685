using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;

namespace Moat.Platform.Systrap;

/// <summary>
/// How long each side of a hand-off spins before it sleeps on the futex. A sleeping side costs a futex
/// wake-up (on this kind of VM ~6 µs on the same CPU, ~45 µs across CPUs); a spinning side costs a CPU.
/// </summary>
/// <remarks>
/// The stub spins while the Sentry serves a syscall, which usually takes a few microseconds. The Sentry
/// spins while the app runs, which only pays when the app traps again soon (syscall-heavy code); it is
/// worth a CPU only while there is one to spare, so at most CPUs-1 Sentry threads spin at once and the
/// rest sleep at once. MOAT_SYSTRAP_SPIN_US and MOAT_SYSTRAP_STUB_SPIN_US override the budgets.
/// </remarks>
internal sealed class SpinPolicy
{
    private readonly int _maxSpinners = Math.Max(1, Environment.ProcessorCount - 1);
    private int _spinners;

    public SpinPolicy()
    {
        double sentryUs = Budget("MOAT_SYSTRAP_SPIN_US", 50);
        double stubUs = Budget("MOAT_SYSTRAP_STUB_SPIN_US", 50);
        SentryTicksBudget = (long)(sentryUs * Stopwatch.Frequency / 1e6);
        StubIterations = (uint)Math.Min(uint.MaxValue, stubUs * 1000 / PauseNanoseconds());
    }

    /// <summary>Stopwatch ticks a Sentry thread may spin waiting for a trap, when it may spin at all.</summary>
    public long SentryTicksBudget { get; }

    /// <summary>Pause iterations the stub spins waiting for the Sentry's answer.</summary>
    public uint StubIterations { get; }

    /// <summary>Whether the host's CPUs are oversubscribed: then nobody spins. MOAT_SYSTRAP_LOAD_AWARE=0 ignores it.</summary>
    public CpuContention Contention { get; } = new();

    /// <summary>Whether spinning waits watch for a loaded host (<see cref="CpuContention"/>).</summary>
    public bool LoadAware { get; } = Environment.GetEnvironmentVariable("MOAT_SYSTRAP_LOAD_AWARE") != "0";

    /// <summary>Takes a spinning turn if one is free; <see cref="EndSpin"/> gives it back.</summary>
    public bool TryBeginSpin()
    {
        if (SentryTicksBudget == 0)
        {
            return false;
        }

        if (Interlocked.Increment(ref _spinners) <= _maxSpinners)
        {
            return true;
        }

        Interlocked.Decrement(ref _spinners);
        return false;
    }

    public void EndSpin() => Interlocked.Decrement(ref _spinners);

    private static double Budget(string name, double dflt) =>
        double.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0 ? v : dflt;

    // The cost of one pause instruction differs tenfold between CPU models: measure it.
    private static double PauseNanoseconds()
    {
        const int N = 20000;
        long best = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < N; i++)
            {
                System.Runtime.Intrinsics.X86.X86Base.Pause();
            }

            best = Math.Min(best, Stopwatch.GetTimestamp() - t0);
        }

        return Math.Max(1.0, best * 1e9 / Stopwatch.Frequency / N);
    }
}
