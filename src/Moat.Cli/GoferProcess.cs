using System;
using System.IO;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli;

/// <summary>A running gofer: this executable started as <c>moat gofer</c>, with one end of a socket pair.</summary>
internal sealed class GoferProcess : IDisposable
{
    private const int GoferSocketFd = 3;

    private readonly int _pid;
    private System.Threading.Thread? _watcher;
    private volatile bool _ending;
    private volatile bool _reaped;

    private GoferProcess(int pid, GoferClient client)
    {
        _pid = pid;
        Client = client;
    }

    public GoferClient Client { get; }

    /// <summary>Where a gofer killed by its seccomp filter is reported when nobody watched it (default: stderr).</summary>
    public TextWriter Notices { get; set; } = Console.Error;

    /// <summary>The gofer's pid (with confinement, its launcher's: it exits with 128 + N when the gofer is killed).</summary>
    public int Pid => _pid;

    /// <summary>Set once the gofer ended while the sandbox still needed it: how ("was killed by SIGKILL").</summary>
    public string? Failure { get; private set; }

    /// <summary>
    /// Takes the gofer's wait status (reaped by the caller): its ending with status 0 is the sandbox's end
    /// (the Sentry closed the socket); anything else while the sandbox runs is a failure, recorded in
    /// <see cref="Failure"/>. Returns whether it was one.
    /// </summary>
    public bool Observe(int status)
    {
        _reaped = true;
        if (!_ending && !(HostProcess.WIfExited(status) && HostProcess.WExitStatus(status) == 0))
        {
            Failure = Diagnostics.SandboxFailure.How(status, out int sig) + (sig == 31 ? " (its seccomp filter: a call missing from GoferSyscalls)" : string.Empty);
        }

        return Failure != null;
    }

    /// <summary>
    /// Watches the gofer from a thread of its own (when this thread runs the Sentry): if it fails, records
    /// <see cref="Failure"/> and calls <paramref name="onFailure"/>.
    /// </summary>
    public void Watch(Action onFailure)
    {
        _watcher = new System.Threading.Thread(() =>
        {
            if (HostProcess.WaitPid(_pid, out int status, 0) == _pid && Observe(status))
            {
                onFailure();
            }
        })
        {
            IsBackground = true,
            Name = "gofer watch",
        };
        _watcher.Start();
    }

    /// <summary>
    /// After the Sentry ended: whether the gofer had failed. A gofer that is dead but not yet reaped is
    /// reaped now, so that a Sentry ending because its gofer died is told as such.
    /// </summary>
    public bool Failed()
    {
        if (Failure == null && !_reaped && _watcher == null && IsZombie() && HostProcess.WaitPid(_pid, out int status, HostProcess.WNOHANG) == _pid)
        {
            Observe(status);
        }
        else if (Failure == null && _watcher != null && IsZombie())
        {
            _watcher.Join(1000);
        }

        return Failure != null;
    }

    private bool IsZombie()
    {
        try
        {
            string stat = File.ReadAllText("/proc/" + _pid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] == 'Z';
        }
        catch (IOException)
        {
            return true; // already reaped
        }
    }

    /// <summary>
    /// Starts a gofer serving <paramref name="root"/> and, as roots 1, 2, ..., the host side of each bind
    /// mount. With <paramref name="confine"/> it runs in namespaces of its own (see
    /// <see cref="ConfinedSpawn"/> and <see cref="GoferConfinement"/>); only the Native AOT build confines:
    /// a JIT build loads its assemblies from disk on demand, which a gofer with only the root cannot do.
    /// </summary>
    public static GoferProcess? Start(string root, System.Collections.Generic.IReadOnlyList<BindMount> mounts, bool confine, Diagnostics.LogSettings log, out string? error)
    {
        error = null;
        long r = HostSocket.SocketPair(HostSocket.SOCK_SEQPACKET, out SafeFdHandle sentryEnd, out SafeFdHandle goferEnd);
        if (r < 0)
        {
            error = "socketpair: " + Errno.FromValue((int)-r).Name;
            return null;
        }

        using (goferEnd)
        {
            confine &= !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported;
            var goferArgs = new System.Collections.Generic.List<string> { "gofer", "--root", root };
            foreach (BindMount m in mounts)
            {
                goferArgs.Add("--volume");
                goferArgs.Add((m.ReadOnly ? "ro:" : "rw:") + m.HostPath);
            }

            goferArgs.Add("--fd");
            goferArgs.Add(GoferSocketFd.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (confine)
            {
                goferArgs.Add("--confined");
            }

            goferArgs.AddRange(log.Arguments(GoferCommand.LogIdOption));

            string[] argv = SelfCommand([.. goferArgs]);
            var env = new System.Collections.Generic.List<string>();
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            {
                string key = (string)e.Key;
                if (key.StartsWith("DOTNET_", StringComparison.Ordinal) || key == "PATH" || key == "HOME" || key == "MOAT_SECCOMP")
                {
                    env.Add($"{key}={e.Value}");
                }
            }

            int pid = confine
                ? ConfinedSpawn.Spawn(argv[0], argv, env.ToArray(), [(goferEnd.Fd, GoferSocketFd)], [0, 1], out error)
                : HostSpawn.Spawn(argv[0], argv, env.ToArray(), [(goferEnd.Fd, GoferSocketFd)], [0, 1], newSession: true);
            if (pid < 0)
            {
                sentryEnd.Dispose();
                error ??= "spawn: " + Errno.FromValue(-pid).Name;
                return null;
            }

            return new GoferProcess(pid, new GoferClient(sentryEnd));
        }
    }

    /// <summary>The command line that runs this same program with <paramref name="args"/>.</summary>
    internal static string[] SelfCommand(string[] args)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find my own executable");
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            // Running as "dotnet moat.dll": start the gofer the same way.
            string dll = Path.Combine(AppContext.BaseDirectory, "moat.dll");
            return [exe, dll, .. args];
        }

        return [exe, .. args];
    }

    public void Dispose()
    {
        _ending = true;
        if (_reaped && _watcher == null)
        {
            Client.Dispose();
            return;
        }

        if (_watcher != null)
        {
            // The watcher reaps the gofer: end it (if it still runs) and let the watcher see it go.
            Client.Dispose();
            if (!_reaped)
            {
                HostProcess.Kill(_pid, Signal.SIGKILL);
            }

            _watcher.Join();
            return;
        }

        // A gofer (or its launcher, which exits with the gofer's status) that is already gone was killed: say
        // so when it was its seccomp filter, which is a missing entry in GoferSyscalls, not an I/O error.
        const int WNOHANG = 1;
        const int SIGSYS = 31;
        if (HostProcess.WaitPid(_pid, out int status, WNOHANG) == _pid)
        {
            bool bySigsys = (HostProcess.WIfSignaled(status) && HostProcess.WTermSig(status) == SIGSYS) ||
                (HostProcess.WIfExited(status) && HostProcess.WExitStatus(status) == 128 + SIGSYS);
            if (bySigsys)
            {
                Notices.WriteLine("moat: the gofer was killed by its seccomp filter (SIGSYS): a call missing from GoferSyscalls");
            }

            Client.Dispose();
            return;
        }

        // The gofer holds no state worth an orderly shutdown (and a runtime exit costs time): end it now.
        Client.Dispose();
        HostProcess.Kill(_pid, Signal.SIGKILL);
        HostProcess.WaitPid(_pid, out _, 0);
    }
}
