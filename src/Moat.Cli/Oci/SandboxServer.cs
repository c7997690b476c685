using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli.Oci;

/// <summary>
/// The sandbox process's side of the control socket: holds init at the start gate until "start" (or a
/// kill) arrives, then forwards signals and starts exec'd processes in the running sandbox.
/// </summary>
internal sealed partial class SandboxServer
{
    private readonly Socket _listener;
    private string _dir;
    private readonly ManualResetEventSlim _gate = new(false);

    // Set once init runs: start answers then, so that a state, ps or events right after it sees the process,
    // as after runc's start.
    private readonly ManualResetEventSlim _running = new(false);

    private readonly Lock _mu = new();

    // Requests accepted and not yet answered: the sandbox process waits for them before it exits, so a
    // start whose init ends at once still hears "ok".
    private int _inFlight;

    // Protected by _mu.
    private SandboxControl? _control;
    private bool _started;
    private int? _abortStatus;
    private readonly List<(int Proxy, SandboxContainer? Container)> _execProxies = [];
    private readonly Dictionary<string, PodEntry> _containers = new(StringComparer.Ordinal);

    /// <summary>The container's seccomp profile, for exec'd processes too. Set before the first exec can arrive.</summary>
    public SeccompPolicy? Seccomp { get; set; }

    public SandboxServer(string dir, OciLog log)
    {
        _dir = dir;
        Log = log;
        _listener = ControlChannel.Listen(dir);
        var thread = new Thread(AcceptLoop) { IsBackground = true, Name = "moat-oci-control" };
        thread.Start();
    }

    /// <summary>Where requests are logged; a jailed Sentry swaps in the path of its fd of the log file.</summary>
    public OciLog Log { get; set; }

    /// <summary>The state directory by another path (a jailed Sentry's /proc/self/fd/N), once listening.</summary>
    public void MoveDirectory(string dir) => _dir = dir;

    /// <summary>Takes the loaded sandbox's control: from now on, start is accepted.</summary>
    public void Attach(SandboxControl control)
    {
        lock (_mu)
        {
            _control = control;
        }
    }

    /// <summary>SandboxOptions.AfterStart: init runs.</summary>
    public void Started() => _running.Set();

    /// <summary>The start gate (SandboxOptions.BeforeStart): blocks until start or a kill; null to run init.</summary>
    public int? WaitForStart()
    {
        _gate.Wait();
        lock (_mu)
        {
            return _abortStatus;
        }
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket conn;
            try
            {
                conn = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _inFlight);
            var thread = new Thread(() => Serve(conn)) { IsBackground = true, Name = "moat-oci-request" };
            thread.Start();
        }
    }

    private void Serve(Socket conn)
    {
        bool keep = false;
        try
        {
            string? line = ControlChannel.ReadLine(conn);
            if (line == null)
            {
                return;
            }

            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 3 && words[0] == "in")
            {
                // "in ID REQUEST": a request for a further container of the pod.
                string inReply = InContainer(conn, words[1], words[2..], out keep);
                if (inReply.Length > 0)
                {
                    ControlChannel.WriteLine(conn, inReply);
                }

                return;
            }

            string reply = words.Length == 0 ? "error empty request" : words[0] switch
            {
                "start" => Start(),
                "kill" when words.Length >= 2 && int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int sig) => Kill(sig, words.Length > 2 && words[2] == "all"),
                "ps" => Ps(),
                "pause" => Pause(),
                "resume" => Resume(),
                "stats" => Stats(),
                "update" when words.Length is 3 or 4 && long.TryParse(words[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long memory) &&
                    long.TryParse(words[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long pids) =>
                    Update(memory, pids, words.Length == 4 && long.TryParse(words[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long swap) ? swap : 0),
                "exec" when words.Length is 2 or 3 && int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n < 1 << 20 =>
                    Exec(conn, null, n, words.Length == 3 && int.TryParse(words[2], NumberStyles.None, CultureInfo.InvariantCulture, out int said) ? said : 0, out keep),
                "container" when words.Length is 2 or 3 && int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n < 1 << 20 =>
                    CreateContainer(conn, n, words.Length == 3 && int.TryParse(words[2], NumberStyles.None, CultureInfo.InvariantCulture, out int said) ? said : 0, out keep),
                _ => "error unknown request: " + line,
            };
            if (reply.Length > 0)
            {
                ControlChannel.WriteLine(conn, reply);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            if (!keep)
            {
                conn.Dispose();
            }

            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Before the sandbox process exits: waits, at most <paramref name="limit"/>, until every accepted request is answered.</summary>
    public void Drain(TimeSpan limit)
    {
        long deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (Volatile.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(1);
        }
    }

    private string Start()
    {
        lock (_mu)
        {
            if (_started)
            {
                return "error container already started";
            }

            if (_control == null)
            {
                return "error container is not ready";
            }

            _started = true;
            File.WriteAllText(Path.Combine(_dir, ContainerStore.StartedMark), string.Empty);
        }

        _gate.Set();

        // Bounded: a sandbox that dies between the gate and init's start must not hang the runtime's start.
        _running.Wait(TimeSpan.FromSeconds(10));
        return "ok";
    }

    private string Kill(int sig, bool all)
    {
        SandboxControl? control;
        lock (_mu)
        {
            if (!_started)
            {
                // Init has not run yet: a fatal signal ends the container before it starts, as it ends
                // runc's waiting init; others have nothing to act on.
                if (OciNames.TerminatesByDefault(sig))
                {
                    _abortStatus = 128 + sig;
                    _gate.Set();
                }

                return "ok";
            }

            control = _control;
        }

        control!.Signal(sig, all);
        return "ok";
    }

    // How long a pause waits for every task to park (runc's freezer retries for about as long).
    private const int FreezeTimeoutMs = 10_000;

    // "pause": the kernel's freeze; the mark makes `state` say "paused" once every task is parked.
    private string Pause()
    {
        SandboxControl? control;
        lock (_mu)
        {
            control = _control;
        }

        if (control == null)
        {
            return "error container not running";
        }

        if (!control.Pause(FreezeTimeoutMs))
        {
            control.Resume();
            return "error unable to freeze: a task of the sandbox did not stop";
        }

        File.WriteAllText(Path.Combine(_dir, ContainerStore.PausedMark), ContainerStore.PausedMark);
        return "ok";
    }

    private string Resume()
    {
        SandboxControl? control;
        lock (_mu)
        {
            control = _control;
        }

        if (control == null || !control.Paused)
        {
            return "error container not paused";
        }

        // The mark goes first: once a task runs again, `state` must not say paused. It is emptied, not
        // removed: the confined Sentry has no unlink.
        File.WriteAllText(Path.Combine(_dir, ContainerStore.PausedMark), string.Empty);
        control.Resume();
        return "ok";
    }

    // "stats": "ok" and the counters of SandboxUsage, in its order, as numbers.
    private string Stats()
    {
        SandboxControl? control;
        lock (_mu)
        {
            control = _control;
        }

        if (control == null)
        {
            return "error container not running";
        }

        SandboxUsage u = control.Usage();
        return string.Create(CultureInfo.InvariantCulture,
            $"ok {u.CpuUserNs} {u.CpuSystemNs} {u.MemoryBytes} {u.MemoryMaxBytes} {u.MemoryLimit} {u.MemoryFailures} {u.OomKills} {u.Tasks} {u.TaskLimit}");
    }

    // "update MEMORY PIDS [SWAP]": runc update's values: 0 leaves a limit as it is, -1 removes it, more sets it.
    // A memory+swap limit is checked against the memory limit the sandbox will have, as runc does.
    private string Update(long memory, long pids, long swap)
    {
        SandboxControl? control;
        lock (_mu)
        {
            control = _control;
        }

        if (control == null)
        {
            return "error container not running";
        }

        long newMemory = memory != 0 ? memory : control.MemoryLimit is ulong cur and > 0 ? (long)cur : -1;
        long newSwap = swap != 0 ? swap : control.MemorySwapLimit;
        if ((memory != 0 || swap != 0) && OciResourceLimits.SwapError(newSwap, newMemory) is string swapError)
        {
            return "error " + swapError;
        }

        if (memory != 0)
        {
            control.SetMemoryLimit(memory < 0 ? 0 : (ulong)memory);
        }

        if (swap != 0)
        {
            control.MemorySwapLimit = swap;
        }

        if (pids != 0)
        {
            control.SetTaskLimit(pids < 0 ? 0 : (int)System.Math.Min(pids, int.MaxValue));
        }

        return "ok";
    }

    // "ps": this process (the caller puts the container's host pid in its place), then the live exec proxies of
    // the container (null: the first).
    private string Ps(SandboxContainer? container = null)
    {
        var pids = new StringBuilder("ok ");
        pids.Append(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        lock (_mu)
        {
            foreach ((int p, SandboxContainer? c) in _execProxies)
            {
                if (c == container)
                {
                    pids.Append(' ').Append(p.ToString(CultureInfo.InvariantCulture));
                }
            }
        }

        return pids.ToString();
    }

    // "exec N [PID]": three one-byte messages carrying the proxy's stdio, then N bytes of OCI process JSON. The
    // connection stays open: the proxy sends "signal S" lines, and gets "exit STATUS" when the process ends.
    private string Exec(Socket conn, SandboxContainer? container, int length, int saidPid, out bool keep)
    {
        keep = false;
        SafeFdHandle?[]? stdio = ReceiveFds(conn, 3);
        if (stdio == null)
        {
            return "error cannot receive the process's stdio";
        }

        byte[]? json = ControlChannel.ReadExactly(conn, length);
        OciProcess? p = null;
        string error = "short process JSON";
        if (json != null)
        {
            try
            {
                p = System.Text.Json.JsonSerializer.Deserialize(json, OciJson.Default.OciProcess);
            }
            catch (System.Text.Json.JsonException e)
            {
                error = "process JSON: " + e.Message;
            }
        }

        SandboxProcessSpec? spec = p != null ? OciBundle.Process(p, container != null ? ContainerSeccomp(container) : Seccomp, out error, init: false) : null;
        SandboxControl? control;
        lock (_mu)
        {
            // As runc, exec works in a created container too: the process runs beside the waiting init.
            control = _control;
        }

        if (spec == null || control == null)
        {
            foreach (SafeFdHandle? h in stdio)
            {
                h?.Dispose();
            }

            return "error " + (control == null ? "the container is not running" : error);
        }

        // The kernel's word for the proxy's pid, where it can give one: a jailed Sentry's PID namespace does not
        // hold the proxy (it reads 0), so there the proxy's own word stands (it is the runtime user's process).
        int proxy = ControlChannel.PeerPid(conn);
        if (proxy <= 0)
        {
            proxy = saidPid;
        }
        var ended = new ManualResetEventSlim(false);
        var announced = new ManualResetEventSlim(false);
        int pid = control.Exec(container, spec, stdio, status =>
        {
            // A quick process may end before its pid is sent: the proxy wants "ok" first.
            announced.Wait();
            try
            {
                ControlChannel.WriteLine(conn, "exit " + status.ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            ended.Set();
        }, out string? execError);
        if (pid < 0)
        {
            return "error " + execError;
        }

        lock (_mu)
        {
            _execProxies.Add((proxy, container));
        }

        keep = true;
        try
        {
            ControlChannel.WriteLine(conn, "ok " + pid.ToString(CultureInfo.InvariantCulture));
        }
        finally
        {
            announced.Set();
        }

        var relay = new Thread(() => RelaySignals(conn, control, pid, (proxy, container), ended)) { IsBackground = true, Name = "moat-oci-exec" };
        relay.Start();
        return string.Empty;
    }

    // Signals the proxy received go to its process; a proxy gone before its process is a SIGKILL to it.
    private void RelaySignals(Socket conn, SandboxControl control, int pid, (int, SandboxContainer?) proxy, ManualResetEventSlim ended)
    {
        try
        {
            while (ControlChannel.ReadLine(conn) is string line)
            {
                string[] w = line.Split(' ');
                if (w.Length == 2 && w[0] == "signal" && int.TryParse(w[1], NumberStyles.None, CultureInfo.InvariantCulture, out int sig))
                {
                    control.SignalProcess(pid, sig);
                }
            }

            if (!ended.IsSet)
            {
                control.SignalProcess(pid, 9);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            ended.Wait();
            lock (_mu)
            {
                _execProxies.Remove(proxy);
            }

            conn.Dispose();
        }
    }
}
