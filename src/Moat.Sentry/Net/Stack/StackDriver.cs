using System;
using System.Threading;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// Runs a stack's timers on the host's clock from a thread of its own, waking at the next deadline (at most
/// every 10 ms, so that a timer armed meanwhile waits no longer than that).
/// </summary>
internal sealed class StackDriver : IDisposable
{
    private const long MaxSleepNs = 10_000_000;

    private readonly NetworkStack _stack;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();

    public StackDriver(NetworkStack stack)
    {
        _stack = stack;
        _thread = new Thread(Run) { IsBackground = true, Name = "netstack timers" };
        _thread.Start();
    }

    private void Run()
    {
        while (!_stop.IsSet)
        {
            _stack.ProcessTimers();
            long wait = Math.Clamp(_stack.NextDeadline - _stack.Clock.NowNs, 1_000_000, MaxSleepNs);
            _stop.Wait(TimeSpan.FromTicks(wait / 100));
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
