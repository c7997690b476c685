namespace Moat.Sentry;

/// <summary>
/// A sandbox's counters: the application's CPU time (ns), its memory (bytes: now, the most at once, the cap,
/// allocations the cap refused, processes it killed) and its tasks (now, the cap; 0 for none).
/// </summary>
public readonly record struct SandboxUsage(
    long CpuUserNs,
    long CpuSystemNs,
    ulong MemoryBytes,
    ulong MemoryMaxBytes,
    ulong MemoryLimit,
    long MemoryFailures,
    long OomKills,
    int Tasks,
    int TaskLimit);
