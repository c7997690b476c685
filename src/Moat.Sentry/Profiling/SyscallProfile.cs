using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Profiling;

/// <summary>
/// <c>moat do --profile FILE</c>: per syscall number (and per host signal: page faults are SIGSEGV stops),
/// how often it happened, the time the Sentry spent serving it (blocking included), and the time of the
/// platform switch that ended in it: from resuming the app to the app's next stop, that is the app's own
/// computation plus the platform's hand-off both ways. For a program that does little but syscalls, the
/// switch time is the hand-off cost. It also counts the bytes the serving thread allocated on the managed
/// heap (the syscall path should allocate nothing; what does is what the GC, and the Sentry's RSS, pay
/// for). Recording is two timestamps, two allocation counter reads and four interlocked adds per event.
/// </summary>
public sealed class SyscallProfile
{
    private const int SignalBase = Sysno.MaxSyscall;
    private const int Buckets = SignalBase + 65;
    private readonly long[] _count = new long[Buckets];
    private readonly long[] _sentryTicks = new long[Buckets];
    private readonly long[] _switchTicks = new long[Buckets];
    private readonly long[] _allocated = new long[Buckets];
    private readonly long _start = Stopwatch.GetTimestamp();

    /// <summary>Records a syscall stop: <paramref name="switchTicks"/> in the platform, <paramref name="sentryTicks"/> serving it.</summary>
    public void RecordSyscall(int nr, long switchTicks, long sentryTicks, long allocated = 0) =>
        Record((uint)nr < SignalBase ? nr : SignalBase, switchTicks, sentryTicks, allocated);

    /// <summary>Records a stop for a host signal (a fault, or a signal sent to the stub).</summary>
    public void RecordSignal(int signo, long switchTicks, long sentryTicks, long allocated = 0) =>
        Record(SignalBase + Math.Clamp(signo, 0, 64), switchTicks, sentryTicks, allocated);

    /// <summary>Records a switch that ended for another reason (an interrupt from the Sentry).</summary>
    public void RecordOther(long switchTicks, long sentryTicks, long allocated = 0) => Record(SignalBase, switchTicks, sentryTicks, allocated);

    private void Record(int bucket, long switchTicks, long sentryTicks, long allocated)
    {
        Interlocked.Increment(ref _count[bucket]);
        Interlocked.Add(ref _switchTicks[bucket], switchTicks);
        Interlocked.Add(ref _sentryTicks[bucket], sentryTicks);
        Interlocked.Add(ref _allocated[bucket], allocated);
    }

    /// <summary>The report, most expensive entries first (by Sentry + switch time); at most <paramref name="top"/> rows.</summary>
    public void WriteReport(TextWriter w, int top = int.MaxValue)
    {
        var rows = new List<int>();
        long events = 0, sentry = 0, platform = 0, allocated = 0;
        for (int b = 0; b < Buckets; b++)
        {
            if (_count[b] > 0)
            {
                rows.Add(b);
                events += _count[b];
                sentry += _sentryTicks[b];
                platform += _switchTicks[b];
                allocated += _allocated[b];
            }
        }

        rows.Sort((a, b) => (_sentryTicks[b] + _switchTicks[b]).CompareTo(_sentryTicks[a] + _switchTicks[a]));
        double wallMs = Ms(Stopwatch.GetTimestamp() - _start);
        w.WriteLine(Invariant($"# moat profile: {events} stops in {wallMs:F1} ms of wall time; all tasks together: {Ms(sentry):F1} ms in the Sentry, {Ms(platform):F1} ms in the platform switch (app code + hand-off), {allocated} bytes allocated serving them"));
        w.WriteLine(Invariant($"{"event",-24} {"count",10} {"sentry ms",10} {"sentry µs/op",13} {"switch µs/op",13} {"total ms",10} {"alloc B/op",11}"));
        for (int i = 0; i < rows.Count && i < top; i++)
        {
            int b = rows[i];
            long n = _count[b];
            w.WriteLine(Invariant($"{Name(b),-24} {n,10} {Ms(_sentryTicks[b]),10:F1} {Us(_sentryTicks[b]) / n,13:F2} {Us(_switchTicks[b]) / n,13:F2} {Ms(_sentryTicks[b] + _switchTicks[b]),10:F1} {_allocated[b] / n,11}"));
        }
    }

    private static string Name(int bucket)
    {
        if (bucket < SignalBase)
        {
            return Sysno.Name(bucket);
        }

        if (bucket == SignalBase)
        {
            return "(other stops)";
        }

        int signo = bucket - SignalBase;
        return signo == Signal.SIGSEGV ? "(page fault: SIGSEGV)" : "(host signal " + signo.ToString(CultureInfo.InvariantCulture) + ")";
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static double Us(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
