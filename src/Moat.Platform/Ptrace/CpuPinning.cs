using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// Keeps a tracer thread and its stub thread on one CPU. They run strictly in turn (one waits while the
/// other works), so sharing a CPU costs no parallelism, and every hand-off becomes a same-CPU wake-up
/// instead of a cross-CPU one (on this kind of VM: about 6 µs instead of 45 µs).
/// Each CPU takes at most one pair, so pinned tasks never crowd a CPU while another idles; tasks beyond
/// one per CPU stay unpinned and the host scheduler balances them. MOAT_PIN=0 turns pinning off.
/// </summary>
internal static class CpuPinning
{
    private static readonly bool s_enabled = Environment.GetEnvironmentVariable("MOAT_PIN") != "0";
    private static readonly Lock s_mu = new();

    // CPUs holding a pinned pair, as a bit mask. Protected by s_mu.
    private static ulong s_used;

    /// <summary>Pins the calling host thread and <paramref name="stubTid"/> to a free CPU. Returns the CPU, or -1.</summary>
    public static unsafe int PinPair(int stubTid)
    {
        int cpus = Math.Min(Environment.ProcessorCount, 64);
        ulong allowed = HostCpus.AllowedMask; // moat do --cpus
        if (!s_enabled || System.Numerics.BitOperations.PopCount(allowed & (cpus == 64 ? ulong.MaxValue : (1UL << cpus) - 1)) < 2)
        {
            return -1;
        }

        int cpu = -1;
        lock (s_mu)
        {
            for (int i = 0; i < cpus; i++)
            {
                if ((s_used & (1UL << i)) == 0 && (allowed & (1UL << i)) != 0)
                {
                    cpu = i;
                    s_used |= 1UL << i;
                    break;
                }
            }
        }

        if (cpu < 0)
        {
            return -1;
        }

        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        mask[0] = 1UL << cpu;
        HostProcess.Syscall(Sysno.sched_setaffinity, 0, 128, (long)mask);
        HostProcess.Syscall(Sysno.sched_setaffinity, stubTid, 128, (long)mask);
        return cpu;
    }

    /// <summary>Frees the CPU of a pair that is done, and lets the calling host thread run on any allowed CPU again.</summary>
    public static unsafe void Unpin(int cpu)
    {
        if (cpu < 0)
        {
            return;
        }

        lock (s_mu)
        {
            s_used &= ~(1UL << cpu);
        }

        ulong* mask = stackalloc ulong[16];
        ulong allowed = HostCpus.AllowedMask;
        new Span<ulong>(mask, 16).Fill(allowed == ulong.MaxValue ? ulong.MaxValue : 0);
        mask[0] = allowed;
        HostProcess.Syscall(Sysno.sched_setaffinity, 0, 128, (long)mask);
    }
}
