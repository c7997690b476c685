using System;
using System.Threading;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// Runs a stack's timers on the host's clock from a thread of its own, sleeping until the next deadline; a timer
/// armed earlier than that kicks it (<see cref="TimerQueue.Wake"/>), so a stack without timers (every sandbox
/// whose program has no connection) never wakes.
/// </summary>
internal sealed class StackDriver : IDisposable
{
    // A sleep is at least a millisecond (the event's resolution) and at most an hour (a long keepalive idle).
    private const long MinSleepNs = 1_000_000;
    private const long MaxSleepNs = 3_600_000_000_000;

    private readonly NetworkStack _stack;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _kick = new();
    private volatile bool _stopping;

    public StackDriver(NetworkStack stack)
    {
        _stack = stack;
        lock (stack.Mu)
        {
            stack.Timers.Wake = _kick.Set;
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "netstack timers" };
        _thread.Start();
    }

    private void Run()
    {
        while (!_stopping)
        {
            // Reset before planning: a kick after the plan is kept for the wait below.
            _kick.Reset();
            long next = _stack.ProcessTimersAndPlan();
            if (next == long.MaxValue)
            {
                _kick.Wait();
                continue;
            }
            long wait = Math.Clamp(next - _stack.Clock.NowNs, MinSleepNs, MaxSleepNs);
            _kick.Wait(TimeSpan.FromMilliseconds(Math.Ceiling(wait / 1e6)));
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _kick.Set();
        _thread.Join();
        lock (_stack.Mu)
        {
            _stack.Timers.Wake = null;
        }
        _kick.Dispose();
    }
}
