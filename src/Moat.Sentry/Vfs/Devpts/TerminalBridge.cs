using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>
/// A host terminal in place of a sandbox pty's master (an OCI container's console): bytes typed on the host
/// go into the pty's line discipline, what the pty's processes write comes out on the host, and the host's
/// window size follows to the pty. The host side is the replica of a host pty in raw mode, so all terminal
/// processing happens once, in the Sentry. Two dedicated threads, each blocking on one direction; the
/// window size is re-read from the host replica whenever the output side wakes, at least every 100 ms
/// (the Sentry is not the host terminal's session, so no SIGWINCH reaches it). End of input from the
/// host (the console's master closed) hangs the pty up, as a master's close does; once no process holds the
/// pty's replica and its output is written, the bridge closes its host fd, so the console's reader sees the
/// end as it would when a runc container's last process closes its pty.
/// </summary>
internal sealed unsafe class TerminalBridge
{
    private const int BufferSize = 4096;
    private const int WakeIntervalMs = 100;
    private const uint TIOCGWINSZ = 0x5413;

    private readonly Terminal _tty;
    private readonly SafeFdHandle _host;
    private readonly AutoResetEvent _wake = new(false);
    private volatile bool _done;
    private Thread? _output;

    private TerminalBridge(Terminal tty, SafeFdHandle host)
    {
        _tty = tty;
        _host = host;
        tty.BridgeWake = _wake;
    }

    /// <summary>Starts copying between <paramref name="host"/> (which the bridge then owns) and <paramref name="tty"/>'s master side.</summary>
    public static TerminalBridge Start(Terminal tty, SafeFdHandle host)
    {
        var b = new TerminalBridge(tty, host);
        b.FollowWindowSize();
        b._output = new Thread(b.Output) { IsBackground = true, Name = $"pty{tty.Index}-out" };
        b._output.Start();
        new Thread(b.Input) { IsBackground = true, Name = $"pty{tty.Index}-in" }.Start();
        return b;
    }

    /// <summary>
    /// Waits until the output side has copied what the sandbox wrote (it ends once no process holds the
    /// replica any more), for at most <paramref name="timeoutMs"/>: the Sentry must not exit with a
    /// container's last line still in the pty. False on timeout.
    /// </summary>
    public bool WaitDrained(int timeoutMs)
    {
        _wake.Set();
        return _output?.Join(timeoutMs) ?? true;
    }

    private void Input()
    {
        try
        {
            CopyIn();
        }
        finally
        {
            _done = true;
            _wake.Set();
            _output?.Join(); // the output side may be writing to the host fd
            _host.Dispose();
            _tty.HangUp(); // the console is gone: as a master's close (frees /dev/pts/N)
        }
    }

    private void CopyIn()
    {
        byte[] buf = new byte[BufferSize];
        Span<HostPoll.PollFd> pfd = stackalloc HostPoll.PollFd[1];
        while (true)
        {
            pfd[0] = new HostPoll.PollFd { Fd = _host.Fd, Events = HostPoll.POLLIN };
            long ready = HostPoll.Poll(pfd, WakeIntervalMs);
            if (_done)
            {
                return;
            }

            if (ready <= 0)
            {
                continue;
            }

            long n;
            fixed (byte* p = buf)
            {
                n = HostFile.Read(_host.Fd, p, BufferSize);
            }

            if (n == -Errno.EINTR.Value || n == -Errno.EAGAIN.Value)
            {
                continue;
            }

            if (n <= 0)
            {
                return;
            }

            int off = 0;
            while (off < n)
            {
                ulong signals = 0;
                int took;
                lock (_tty.Mu)
                {
                    if (_tty.HungUp)
                    {
                        return;
                    }

                    took = _tty.Ld.Receive(buf.AsSpan(off, (int)n - off), ref signals);
                }

                _tty.Changed();
                _tty.SignalForeground(signals);
                off += took;
                if (off < n)
                {
                    if (_done)
                    {
                        return;
                    }

                    _wake.WaitOne(WakeIntervalMs); // the replica's queue is full: wait for a reader
                }
            }
        }
    }

    private void Output()
    {
        try
        {
            CopyOut();
        }
        finally
        {
            _done = true;
        }
    }

    private void CopyOut()
    {
        byte[] buf = new byte[BufferSize];
        while (!_done)
        {
            int n;
            bool hungUp, unused;
            lock (_tty.Mu)
            {
                n = Math.Min(BufferSize, _tty.Ld.Output.Count);
                (ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b) = _tty.Ld.Output.Peek(n);
                a.Span.CopyTo(buf);
                b.Span.CopyTo(buf.AsSpan(a.Length));
                _tty.Ld.Output.Drop(n);
                hungUp = _tty.HungUp;
                unused = _tty.ReplicaOpens == 0;
            }

            if (n > 0)
            {
                _tty.Changed();
                if (!WriteAll(buf, n))
                {
                    return; // the host side is gone; input will see it too
                }

                continue;
            }

            if (hungUp || unused)
            {
                return;
            }

            _wake.WaitOne(WakeIntervalMs);
            FollowWindowSize();
        }
    }

    private bool WriteAll(byte[] buf, int n)
    {
        int done = 0;
        while (done < n)
        {
            long w;
            fixed (byte* p = buf)
            {
                w = HostFile.Write(_host.Fd, p + done, (ulong)(n - done));
            }

            if (w == -Errno.EINTR.Value)
            {
                continue;
            }

            if (w <= 0)
            {
                return false;
            }

            done += (int)w;
        }

        return true;
    }

    private void FollowWindowSize()
    {
        Winsize w;
        if (HostFile.Ioctl(_host.Fd, TIOCGWINSZ, &w) < 0)
        {
            return;
        }

        bool changed;
        lock (_tty.Mu)
        {
            changed = !_tty.Size.Equals(w);
            _tty.Size = w;
        }

        if (changed)
        {
            _tty.SignalForeground(1UL << (Signal.SIGWINCH - 1));
        }
    }
}
