using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Cli;

/// <summary>
/// <c>moat do</c> on a terminal (or with <c>-t</c>): the program gets a pty of the Sentry's own as its
/// controlling terminal, so job control, Ctrl-C and full-screen programs work as at a terminal. The Sentry is
/// handed the replica of a host pty in raw mode (its bridge feeds the Sentry pty's line discipline, so every
/// byte is processed once, inside); this class relays between that host pty's master and the caller's
/// terminal, which goes raw for the run and gets its settings back on every way out this process can see.
/// The window size is copied before the program starts and again on each SIGWINCH (the Sentry follows the
/// host replica's size and signals the pty's foreground group).
/// </summary>
internal sealed class DoTerminal : IDisposable
{
    private const int Stdin = 0;
    private const int Stdout = 1;
    private const int Stderr = 2;
    private const int DrainIdleMs = 100;
    private const int DrainLimitMs = 2000;

    private const int F_DUPFD_CLOEXEC = 1030;

    private readonly SafeFdHandle _master;
    private readonly SafeFdHandle _replica;
    private readonly bool[] _onPty = new bool[3];
    private readonly bool _inputIsTerminal;
    private readonly int _sizeFrom = -1; // the terminal whose window size the pty follows; -1: none
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly object _rawMu = new();
    private byte[]? _saved; // the caller's terminal's settings before raw mode; null once restored (under _rawMu)
    private Thread? _out;
    private volatile bool _ending;

    private DoTerminal(SafeFdHandle master, SafeFdHandle replica, bool forced)
    {
        _master = master;
        _replica = replica;
        _inputIsTerminal = HostPty.IsTerminal(Stdin);
        _onPty[Stdin] = _onPty[Stdout] = true;
        _onPty[Stderr] = forced || HostPty.IsTerminal(Stderr);
        _sizeFrom = _inputIsTerminal ? Stdin : HostPty.IsTerminal(Stdout) ? Stdout : -1;
    }

    /// <summary>
    /// When the program gets a pty (never with <paramref name="noTty"/>, always with <paramref name="tty"/>,
    /// else when stdin and stdout are terminals and moat is in the foreground): opens the host pty, puts the
    /// caller's terminal (if stdin is one) in raw mode with its window size on the pty, and starts relaying.
    /// stdin and stdout are on the pty, stderr too unless it is redirected (always under -t). Null when no
    /// pty is wanted (or, unasked, none can be had), or with a message.
    /// </summary>
    public static DoTerminal? Open(bool tty, bool noTty, out string? error)
    {
        error = null;
        if (noTty || !(tty || Interactive()))
        {
            return null;
        }

        long r = HostPty.OpenRaw(out SafeFdHandle? master, out SafeFdHandle? replica, out _);
        if (r < 0)
        {
            error = tty ? "-t: cannot open a pty for the program: " + Errno.FromValue((int)-r).Name : null;
            return null;
        }

        var t = new DoTerminal(master!, replica!, forced: tty);
        t.FollowWindowSize();
        t.Start();
        return t;
    }

    // Unasked, only an interactive run takes the terminal. With stdout in a pipe (`moat do -- ls | less`) the
    // relay would read the keys meant for the reader; in the background (`moat do -- make &`) going raw would
    // stop moat (SIGTTOU). Both keep today's stdio.
    private static bool Interactive() =>
        HostPty.IsTerminal(Stdin) && HostPty.IsTerminal(Stdout) && HostTerminalIo.IsForeground(Stdin);

    /// <summary>For a Sentry in another process: which of its fds 0-2 get the host pty's replica (the rest are inherited).</summary>
    public (int From, int To)[] ReplicaFds()
    {
        var fds = new List<(int From, int To)>();
        for (int fd = Stdin; fd <= Stderr; fd++)
        {
            if (_onPty[fd])
            {
                fds.Add((_replica.Fd, fd));
            }
        }

        return [.. fds];
    }

    /// <summary>For a Sentry in this process: its init's fds 0-2 (fd 0, a copy of the replica, it then owns).</summary>
    public SafeFdHandle?[] SandboxStdio()
    {
        var stdio = new SafeFdHandle?[3];
        var copy = new SafeFdHandle((int)HostFile.Fcntl(_replica.Fd, F_DUPFD_CLOEXEC, 3));
        stdio[Stdin] = copy;
        for (int fd = Stdout; fd <= Stderr; fd++)
        {
            stdio[fd] = new SafeFdHandle(_onPty[fd] ? copy.Fd : fd, ownsHandle: false);
        }

        return stdio;
    }

    private void Start()
    {
        if (_sizeFrom >= 0 && !OperatingSystem.IsWindows())
        {
            _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGWINCH, c =>
            {
                c.Cancel = true;
                FollowWindowSize();
            }));
        }

        if (_inputIsTerminal && !OperatingSystem.IsWindows())
        {
            // Stopped and continued (kill -STOP, then fg): the caller's shell may have reset the terminal
            // meanwhile. Cancelled, so that .NET does not put back the settings it saw first (it would then
            // also "restore" them at exit, over ours).
            _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGCONT, c =>
            {
                c.Cancel = true;
                Reraw();
            }));
            AppDomain.CurrentDomain.UnhandledException += (_, _) => RestoreTerminal();
        }

        // Raw only now: the first signal registration has .NET note the terminal's settings, and they must be the caller's.
        lock (_rawMu)
        {
            _saved = _inputIsTerminal ? HostPty.SetRaw(Stdin, out _) : null;
        }

        _out = new Thread(CopyOut) { IsBackground = true, Name = "moat-tty-out" };
        _out.Start();
        new Thread(CopyIn) { IsBackground = true, Name = "moat-tty-in" }.Start();
    }

    /// <summary>Once the sandbox has ended: copies what is left of its output, then gives the caller's terminal its settings back.</summary>
    public void Dispose()
    {
        _ending = true;
        _out?.Join(DrainLimitMs);
        RestoreTerminal();
        foreach (PosixSignalRegistration s in _signals)
        {
            s.Dispose();
        }

        _replica.Dispose(); // the master stays open: the input thread may still wait on the caller's terminal
    }

    private void RestoreTerminal()
    {
        lock (_rawMu)
        {
            if (_saved != null)
            {
                HostPty.Restore(Stdin, _saved);
                _saved = null;
            }
        }
    }

    private void Reraw()
    {
        lock (_rawMu)
        {
            if (_saved != null)
            {
                HostPty.SetRaw(Stdin, out _);
            }
        }
    }

    private void FollowWindowSize()
    {
        if (_sizeFrom >= 0)
        {
            HostPty.CopyWindowSize(_sizeFrom, _master.Fd);
        }
    }

    // The caller's keys to the pty. At the end of a non-terminal stdin (-t with a pipe) the pty gets its EOF
    // character, so a program reading it sees the end; a terminal's end comes with a SIGHUP moat passes on.
    private void CopyIn()
    {
        byte[] buf = new byte[4096];
        while (true)
        {
            long n = HostTerminalIo.Read(Stdin, buf);
            if (n <= 0)
            {
                if (n == 0 && !_inputIsTerminal)
                {
                    HostTerminalIo.WriteAll(_master.Fd, [0x04]);
                }

                return;
            }

            if (!HostTerminalIo.WriteAll(_master.Fd, buf.AsSpan(0, (int)n)))
            {
                return;
            }
        }
    }

    // The pty's output to the caller, until the master ends (every replica closed) or, once the sandbox has
    // ended, nothing more comes for a moment.
    private void CopyOut()
    {
        byte[] buf = new byte[4096];
        while (true)
        {
            if (!HostTerminalIo.WaitReadable(_master.Fd, DrainIdleMs))
            {
                if (_ending)
                {
                    return;
                }

                continue;
            }

            long n = HostTerminalIo.Read(_master.Fd, buf);
            if (n <= 0 || !HostTerminalIo.WriteAll(Stdout, buf.AsSpan(0, (int)n)))
            {
                return;
            }
        }
    }
}
