using System;
using System.Globalization;
using Moat.Abi;

namespace Moat.Host;

/// <summary>
/// The host's CPU-time accounting of the Sentry's own children (the stubs, where the app's instructions run).
/// A process's clocks are read with clock_gettime on Linux's per-process CPU clock ids, which any process
/// may read for a pid it sees; a thread's with /proc/PID/task/TID/schedstat (Linux refuses thread clock ids
/// outside the caller's thread group) and, for the user/system split, its stat line.
/// </summary>
public static unsafe class HostCpuClock
{
    /// <summary>Linux's CPUCLOCK_PROF: user + system time, sampled at ticks.</summary>
    public const int Prof = 0;

    /// <summary>Linux's CPUCLOCK_VIRT: user time, sampled at ticks.</summary>
    public const int Virt = 1;

    /// <summary>Linux's CPUCLOCK_SCHED: the scheduler's run time, in nanoseconds.</summary>
    public const int Sched = 2;

    /// <summary>Reads clock <paramref name="which"/> of host process <paramref name="pid"/>, in nanoseconds (-errno on failure).</summary>
    public static long ProcessNs(int pid, int which)
    {
        int clock = (~pid << 3) | which;
        long r = HostProcess.ClockGettime(clock, out Timespec ts);
        return r < 0 ? r : (ts.tv_sec * 1_000_000_000) + ts.tv_nsec;
    }

    /// <summary>Opens /proc/PID/task/TID/schedstat of a stub thread, read-only and close-on-exec.</summary>
    public static SafeFdHandle? OpenSchedstat(int pid, int tid, out long error)
    {
        long fd = Open(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task/{tid}/schedstat"));
        error = fd < 0 ? fd : 0;
        return fd < 0 ? null : new SafeFdHandle((int)fd);
    }

    /// <summary>The thread's run time in nanoseconds from its schedstat fd (the first field), or -errno.</summary>
    public static long ReadSchedstatNs(int fd)
    {
        long r = ReadSchedstat(fd, out long runtime, out _);
        return r < 0 ? r : runtime;
    }

    /// <summary>
    /// Both times of a schedstat fd, in nanoseconds: how long the thread ran, and how long it waited runnable
    /// for a CPU (run_delay, the second field). Returns 0 or -errno.
    /// </summary>
    public static long ReadSchedstat(int fd, out long runtimeNs, out long runDelayNs)
    {
        runtimeNs = runDelayNs = 0;
        byte* buf = stackalloc byte[96];
        long n = HostFile.PRead(fd, buf, 96, 0);
        if (n <= 0)
        {
            return n < 0 ? n : -Errno.EIO.Value;
        }

        int i = 0;
        if (!ParseField(buf, (int)n, ref i, out runtimeNs) || !ParseField(buf, (int)n, ref i, out runDelayNs))
        {
            return -Errno.EIO.Value;
        }

        return 0;
    }

    // One decimal field at buf[i..], then the space after it.
    private static bool ParseField(byte* buf, int n, ref int i, out long v)
    {
        v = 0;
        int start = i;
        for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
        {
            v = (v * 10) + (buf[i] - '0');
        }

        bool any = i > start;
        if (i < n && buf[i] == ' ')
        {
            i++;
        }

        return any;
    }

    /// <summary>A stub thread's user and system time in clock ticks, from /proc/PID/task/TID/stat, or -errno.</summary>
    public static long ReadThreadTicks(int pid, int tid, out long user, out long system)
    {
        user = system = 0;
        long fd = Open(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task/{tid}/stat"));
        if (fd < 0)
        {
            return fd;
        }

        byte* buf = stackalloc byte[1024];
        long n = HostFile.PRead((int)fd, buf, 1024, 0);
        HostFile.Close((int)fd);
        if (n <= 0)
        {
            return n < 0 ? n : -Errno.EIO.Value;
        }

        // pid (comm) state ppid ...: utime is field 14, stime 15; comm may hold spaces and ')', so count after the last ')'.
        int close = -1;
        for (int i = 0; i < n; i++)
        {
            if (buf[i] == ')')
            {
                close = i;
            }
        }

        int field = 3; // the field after the space after ')' is the third (state)
        long cur = 0;
        for (long i = close + 2; i < n && close >= 0; i++)
        {
            byte c = buf[i];
            if (c == ' ' || c == '\n')
            {
                if (field == 14)
                {
                    user = cur;
                }
                else if (field == 15)
                {
                    system = cur;
                    return 0;
                }

                field++;
                cur = 0;
            }
            else if (c >= '0' && c <= '9')
            {
                cur = (cur * 10) + (c - '0');
            }
        }

        return -Errno.EIO.Value;
    }

    private static long Open(string path)
    {
        int len = System.Text.Encoding.ASCII.GetByteCount(path);
        byte* p = stackalloc byte[len + 1];
        System.Text.Encoding.ASCII.GetBytes(path, new Span<byte>(p, len));
        p[len] = 0;
        return HostProcess.Syscall(Sysno.openat, -100 /* AT_FDCWD */, (long)p, 0x80000 /* O_RDONLY|O_CLOEXEC */, 0);
    }
}
