using Moat.Abi;

namespace Moat.Host;

/// <summary>Host futexes on shared memory (no FUTEX_PRIVATE_FLAG: the other side is another process).</summary>
public static unsafe class HostFutex
{
    public const int Wait = 0;
    public const int Wake = 1;

    /// <summary>Sleeps while *<paramref name="word"/> == <paramref name="expected"/>, at most <paramref name="timeoutNs"/>. Returns 0 or -errno.</summary>
    public static long WaitShared(int* word, int expected, long timeoutNs)
    {
        Timespec ts = new() { tv_sec = timeoutNs / 1_000_000_000, tv_nsec = timeoutNs % 1_000_000_000 };
        return HostProcess.Syscall(Sysno.futex, (long)word, Wait, expected, (long)&ts);
    }

    /// <summary>Wakes up to <paramref name="count"/> sleepers on <paramref name="word"/>.</summary>
    public static long WakeShared(int* word, int count) => HostProcess.Syscall(Sysno.futex, (long)word, Wake, count);
}
