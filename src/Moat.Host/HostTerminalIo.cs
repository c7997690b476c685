using System;

namespace Moat.Host;

/// <summary>Span-based reads and writes of terminal fds and their foreground group, for callers without unsafe code.</summary>
public static unsafe class HostTerminalIo
{
    private const int EINTR = 4;
    private const uint TIOCGPGRP = 0x540F;

    /// <summary>One read(2) into <paramref name="buffer"/>, retried on EINTR: the count, 0 at the end, or -errno.</summary>
    public static long Read(int fd, Span<byte> buffer)
    {
        while (true)
        {
            long n;
            fixed (byte* p = buffer)
            {
                n = HostFile.Read(fd, p, (ulong)buffer.Length);
            }

            if (n != -EINTR)
            {
                return n;
            }
        }
    }

    /// <summary>Writes all of <paramref name="data"/>; false once a write fails or writes nothing.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            for (int done = 0; done < data.Length;)
            {
                long w = HostFile.Write(fd, p + done, (ulong)(data.Length - done));
                if (w == -EINTR)
                {
                    continue;
                }

                if (w <= 0)
                {
                    return false;
                }

                done += (int)w;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="fd"/> has something to read (or has ended) within <paramref name="timeoutMs"/>.</summary>
    public static bool WaitReadable(int fd, int timeoutMs)
    {
        Span<HostPoll.PollFd> pfd = stackalloc HostPoll.PollFd[1];
        pfd[0] = new HostPoll.PollFd { Fd = fd, Events = HostPoll.POLLIN };
        return HostPoll.Poll(pfd, timeoutMs) > 0;
    }

    /// <summary>Whether this process's group is the foreground group of the terminal <paramref name="fd"/> (TIOCGPGRP).</summary>
    public static bool IsForeground(int fd)
    {
        int group = 0;
        return HostFile.Ioctl(fd, TIOCGPGRP, &group) >= 0 && group == HostProcess.Syscall(Moat.Abi.Sysno.getpgrp);
    }
}
