using System;
using System.Threading;

namespace Moat.Bench.Running;

/// <summary>
/// <c>--load N</c>: N CPU-bound threads in the bench process that run beside every trial, native and
/// sandboxed alike, so a ratio can be read on a busy host. They compute and never sleep, allocate or
/// make a system call, like a build or another tenant's job would from the scheduler's point of view.
/// </summary>
public sealed class HostLoad : IDisposable
{
    private readonly Thread[] _threads;
    private volatile bool _stop;

    // Keeps the loop's result observable so the JIT cannot drop the work.
    private long _sink;

    private HostLoad(int threads)
    {
        _threads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Burn) { IsBackground = true, Name = $"moat-bench-load-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>How many burning threads run.</summary>
    public int Threads => _threads.Length;

    /// <summary>Starts <paramref name="threads"/> burning threads (none for 0).</summary>
    public static HostLoad Start(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        return new HostLoad(threads);
    }

    /// <summary>Stops the threads and waits for them to end.</summary>
    public void Dispose()
    {
        _stop = true;
        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }

    private void Burn()
    {
        ulong x = 88172645463325252UL;
        while (!_stop)
        {
            // xorshift64: a few cycles of integer work per round, nothing the CPU can skip.
            for (int i = 0; i < 4096; i++)
            {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
        }

        Interlocked.Add(ref _sink, (long)x);
    }
}
