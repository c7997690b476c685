using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// Notices stubs that die while none of their tasks is in the platform (all blocked in the Sentry, say in
/// nanosleep): the task threads only see a stub's death when they next resume it. One thread polls a pidfd
/// per live stub and calls the address space's lost handler, which makes the Sentry kill its tasks.
/// </summary>
internal static class StubDeathWatcher
{
    private static readonly Lock s_mu = new();
    private static readonly Dictionary<int, (SafeFdHandle Pidfd, Action Lost)> s_watched = new();
    private static SafeFdHandle? s_wake;
    private static Thread? s_thread;

    /// <summary>Calls <paramref name="lost"/> once, on the watcher thread, if <paramref name="pid"/> exits before <see cref="Unwatch"/>.</summary>
    public static long Watch(int pid, Action lost)
    {
        SafeFdHandle? pidfd = HostPoll.PidfdOpen(pid, out long err);
        if (pidfd == null)
        {
            return err;
        }

        lock (s_mu)
        {
            if (s_thread == null)
            {
                s_wake = HostPoll.EventFd(out err);
                if (s_wake == null)
                {
                    pidfd.Dispose();
                    return err;
                }

                s_thread = new Thread(Run) { IsBackground = true, Name = "moat stub watcher" };
                s_thread.Start();
            }

            s_watched[pid] = (pidfd, lost);
        }

        Kick();
        return 0;
    }

    /// <summary>Stops watching <paramref name="pid"/> (before the Sentry kills a stub on purpose).</summary>
    public static void Unwatch(int pid)
    {
        lock (s_mu)
        {
            if (s_watched.Remove(pid, out var w))
            {
                w.Pidfd.Dispose();
            }
        }

        Kick();
    }

    private static unsafe void Kick()
    {
        SafeFdHandle? wake = s_wake;
        if (wake != null)
        {
            ulong one = 1;
            HostFile.Write(wake.Fd, (byte*)&one, 8);
        }
    }

    private static unsafe void Run()
    {
        var fds = new List<HostPoll.PollFd>();
        var pids = new List<int>();
        while (true)
        {
            fds.Clear();
            pids.Clear();
            fds.Add(new HostPoll.PollFd { Fd = s_wake!.Fd, Events = HostPoll.POLLIN });
            lock (s_mu)
            {
                foreach ((int pid, var w) in s_watched)
                {
                    fds.Add(new HostPoll.PollFd { Fd = w.Pidfd.Fd, Events = HostPoll.POLLIN });
                    pids.Add(pid);
                }
            }

            HostPoll.PollFd[] arr = fds.ToArray();
            if (HostPoll.Poll(arr, -1) < 0)
            {
                continue; // EINTR
            }

            if (arr[0].Revents != 0)
            {
                ulong drained;
                HostFile.Read(s_wake.Fd, (byte*)&drained, 8);
            }

            for (int i = 1; i < arr.Length; i++)
            {
                if (arr[i].Revents == 0)
                {
                    continue;
                }

                Action? lost = null;
                lock (s_mu)
                {
                    // Still watched: nobody unwatched it between the poll and now, so this death is news.
                    if (s_watched.Remove(pids[i - 1], out var w) && w.Pidfd.Fd == arr[i].Fd)
                    {
                        w.Pidfd.Dispose();
                        lost = w.Lost;
                    }
                }

                lost?.Invoke();
            }
        }
    }
}
