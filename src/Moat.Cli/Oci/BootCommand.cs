using System;
using System.Collections.Generic;
using System.Text;
using Moat.Abi;
using Moat.Cli.CommandLine;
using Moat.Cli.Diagnostics;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli.Oci;

/// <summary>
/// <c>moat oci-boot</c>: the process <c>create</c> leaves behind. Its pid is the container's pid and its exit
/// status the container's. It starts the container's gofer, then its Sentry jailed as <c>moat do</c>'s is
/// (<see cref="SentryJail"/>: <c>oci-boot --jailed-sentry ...</c>, PID 1 of fresh namespaces, an empty root),
/// and waits for it. The Sentry tells create over fd 3 whether init loaded ("ready" or "error MESSAGE"),
/// then holds init until <c>start</c>. A JIT build runs the Sentry in this process, unjailed.
/// </summary>
internal static class BootCommand
{
    public const int SyncFd = 3;

    // Where the jailed Sentry finds the gofer (4 is the launcher's handshake socket).
    private const int JailedGoferFd = 5;

    // Hidden: the pod interface's facts for the jailed Sentry, whose packet socket is at SentryJail.NetFd.
    private const string NetLinkOption = "net-link";

    public static readonly CommandSpec Spec = new()
    {
        Name = "oci-boot",
        Summary = "The process create leaves behind for a container: its gofer and its Sentry (started by moat create, not by hand).",
        MaxArguments = 0,
        Options =
        [
            OptionSpec.With("state", "DIR", "the container's state directory"),
            OptionSpec.With("bundle", "DIR", "the container's bundle"),
            OptionSpec.With("log", "FILE", "runc's --log"),
            OptionSpec.With("log-format", "text|json", "runc's --log-format"),
            OptionSpec.Switch("debug", "log more"),
            OptionSpec.With("debug-log", "PATH", "the debug log (a file, or a directory for ID.boot.log, ID.sentry.log, ID.gofer.log)"),
            OptionSpec.With("id", "ID", "the container's id, in the debug log's name"),
            OptionSpec.With("cgroup", "DIR", "the host cgroup create made for the sandbox: joined before anything is spawned"),
            OptionSpec.With("network", "sandbox|host|none", "with a network namespace path: the Sentry's stack on its interface (default), its host sockets, or loopback only"),
            new OptionSpec(NetLinkOption, "the interface taken over for --network=sandbox, handed to the jailed Sentry", "NAME,ADDR,PREFIX,GW,MAC,MTU", Hidden: true),
        ],
    };

    public static int Run(string[] args)
    {
        // Whatever the caller left open stays here: not in the gofer, the Sentry or the stubs.
        HostFile.CloseOnExecFrom(SyncFd);
        bool jailed = args.Length > 0 && args[0] == SentryJail.InsideOption;
        string[] originalArgs = jailed ? args[1..] : args;
        ParsedArgs? p = CommandLineResult.Parse(Spec, originalArgs, out int parseStatus);
        if (p == null)
        {
            return parseStatus;
        }

        string? stateDir = p.Get("state");
        string? bundle = p.Get("bundle");
        string? logPath = p.Get("log");
        bool json = p.Get("log-format") == "json";
        var logSettings = new LogSettings(p.Get("debug-log"), p.Has("debug"), p.Get("id") ?? System.IO.Path.GetFileName(stateDir ?? string.Empty));
        using var sync = new SafeFdHandle(SyncFd);
        if (stateDir == null || bundle == null)
        {
            return Report(sync, "error moat oci-boot: --state and --bundle are required");
        }

        var log = new OciLog(logPath, json);
        using DebugLog? debugLog = logSettings.Open(jailed ? "sentry" : "boot", out string? debugError);
        if (debugLog == null)
        {
            return Report(sync, "error --debug-log: " + debugError);
        }

        debugLog.Debug("moat oci-boot " + string.Join(' ', originalArgs));
        OciSpec? spec = OciBundle.Load(bundle, out string error);
        SandboxPlan? plan = spec != null ? OciBundle.Plan(spec, bundle, out error) : null;
        if (plan == null)
        {
            return Report(sync, "error " + error);
        }

        NetworkMode? network = NetworkOf(plan.NetworkNamespace, p.Get("network"));
        if (network is not NetworkMode mode)
        {
            return Report(sync, $"error unknown network '{p.Get("network")}' (available: sandbox, host, none)");
        }

        var volumes = new List<Moat.Sentry.BindMount>();
        foreach (BindMount b in plan.Binds)
        {
            Moat.Sentry.BindMount? v = Moat.Sentry.BindMount.Create(b.Source, b.Destination, b.ReadOnly, out string? bindError);
            if (v == null)
            {
                return Report(sync, $"error bind mount of {b.Source} on {b.Destination}: {bindError}");
            }

            volumes.Add(v with { Options = b.Options });
        }

        // Before anything is spawned: the gofer, the Sentry and the stubs inherit the cgroup, and its CPU limits.
        if (!jailed && p.Get("cgroup") is string cgroup && HostCgroup.Join(cgroup) is string joinError)
        {
            return Report(sync, "error " + joinError);
        }

        // Before anything is spawned: the gofer, the stubs and every later thread inherit the mask.
        if (plan.CpuSet != 0 && HostCpus.LimitTo(plan.CpuSet) is long kept && kept < 0)
        {
            return Report(sync, $"error linux.resources.cpu.cpus: sched_setaffinity: {Errno.FromValue((int)-kept).Name}");
        }

        if (jailed)
        {
            SandboxLink? jailedLink = null;
            if (mode == NetworkMode.Sandbox && (p.Get(NetLinkOption) is not string linkSpec || (jailedLink = Network.PodInterfaceTakeover.Parse(linkSpec, SentryJail.NetFd)) == null))
            {
                return Report(sync, "error moat oci-boot: --network=sandbox without the interface (--net-link)");
            }

            using var goferClient = new Moat.Gofer.GoferClient(new SafeFdHandle(JailedGoferFd));
            return RunSentry(sync, stateDir, log, debugLog, plan, volumes, goferClient, mode, jailedLink, jail: true);
        }

        using GoferProcess? gofer = GoferProcess.Start(plan.Rootfs, volumes, confine: true, logSettings, out string? goferError);
        if (gofer == null)
        {
            return Report(sync, "error cannot start the gofer: " + goferError);
        }

        // Its stderr is the container's: a notice about the gofer goes to --log (and the debug log) instead.
        var notices = new LineLogWriter { Copy = debugLog.Enabled ? debugLog : null };
        notices.SendTo(log);
        gofer.Notices = notices;

        // A pod's network namespace (CNI made it): this thread joins it, so the Sentry spawned from here is in it
        // and its host sockets are that namespace's. Before the jail, which would make a network namespace of its own.
        if (plan.NetworkNamespace is string netns)
        {
            long joined = HostNamespace.Join(netns, HostNamespace.CLONE_NEWNET);
            if (joined < 0)
            {
                return Report(sync, $"error cannot join the network namespace {netns}: {LinuxError.Text(Errno.FromValue((int)-joined))}");
            }
        }

        // --network=sandbox: the namespace's interface becomes the Sentry's (put back when the container ends).
        debugLog.WriteLine($"moat: network: {ModeName(mode)}{(plan.NetworkNamespace != null ? " (the namespace " + plan.NetworkNamespace + ")" : string.Empty)}");
        string? netError = null;
        using Network.PodInterfaceTakeover? takeover = mode == NetworkMode.Sandbox ? Network.PodInterfaceTakeover.Create(debugLog, out netError) : null;
        if (mode == NetworkMode.Sandbox && takeover == null)
        {
            return Report(sync, "error " + netError);
        }

        // A JIT build loads assemblies from disk on demand, which a Sentry with an empty root cannot do.
        if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        {
            return RunSentry(sync, stateDir, log, debugLog, plan, volumes, gofer.Client, mode, takeover?.Link, jail: false);
        }

        // Only with host networking does the Sentry stay in the joined namespace; a taken-over interface's socket works from anywhere.
        string[] jailedArgs = takeover != null ? [.. originalArgs, "--" + NetLinkOption, Network.PodInterfaceTakeover.Describe(takeover.Link)] : originalArgs;
        (int From, int To)[] fds = takeover != null
            ? [(sync.Fd, SyncFd), (gofer.Client.Socket.Fd, JailedGoferFd), (takeover.Link.Tap.Fd, SentryJail.NetFd)]
            : [(sync.Fd, SyncFd), (gofer.Client.Socket.Fd, JailedGoferFd)];
        int launcher = SentryJail.Spawn(["oci-boot", SentryJail.InsideOption, .. jailedArgs], fds, hostNetwork: mode == NetworkMode.Host, out string? jailError);
        if (launcher < 0)
        {
            return Report(sync, "error cannot start the Sentry in its namespaces: " + jailError);
        }

        sync.Dispose();
        return SentryJail.WaitForwardingSignals(launcher);
    }

    // The container's Sentry: listens on the control socket, then (jailed) leaves the host's paths behind
    // for the descriptors it keeps, then loads init, reports to create and waits for start.
    private static int RunSentry(SafeFdHandle sync, string stateDir, OciLog log, DebugLog debugLog, SandboxPlan plan, List<Moat.Sentry.BindMount> volumes, Moat.Gofer.GoferClient gofer, NetworkMode network, SandboxLink? link, bool jail)
    {
        if (Moat.Sentry.SandboxOptions.DefaultPlatform == "systrap" && !Moat.Platform.Systrap.SystrapPlatform.IsSupported)
        {
            // MOAT_PLATFORM asked for it: say why in create's one line rather than die on the platform's exception.
            return Report(sync, "error the systrap platform needs FSGSBASE (Linux 5.9+ on a CPU with it); set MOAT_PLATFORM=ptrace");
        }

        SandboxServer server;
        try
        {
            server = new SandboxServer(stateDir, log) { Seccomp = plan.Process.Seccomp };
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or System.IO.IOException)
        {
            return Report(sync, "error cannot listen on the control socket: " + e.Message);
        }

        if (jail)
        {
            // The state directory and the log file stay reachable through their fds (/proc/self/fd of the jail's procfs).
            long dir = HostPath.Openat(OpenFlags.AT_FDCWD, stateDir, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
            if (dir < 0)
            {
                return Report(sync, $"error {stateDir}: {Errno.FromValue((int)-dir).Name}");
            }

            server.MoveDirectory(FdPath((int)dir));
            if (log.Path != null)
            {
                // Created if missing, as runc creates its --log.
                long fd = HostPathChange.Openat2(OpenFlags.AT_FDCWD, log.Path, OpenFlags.O_WRONLY | OpenFlags.O_APPEND | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC, 0x1A4 /* 0644 */, 0);
                log = new OciLog(fd < 0 ? null : FdPath((int)fd), log.Json);
                server.Log = log;
            }

            if (!SentryJail.Enter(out string? jailError) || !SentryConfinement.Enter(out jailError))
            {
                return Report(sync, "error cannot confine the Sentry: " + jailError);
            }
        }

        foreach (string m in plan.Unprovided)
        {
            log.Write("warning", $"mount {m}: moat does not provide this file system yet; the path shows the root's directory");
        }

        foreach (string setting in plan.Ignored)
        {
            log.Write("warning", setting);
        }

        if (plan.PidNamespace != null)
        {
            log.Write("warning", $"linux.namespaces: the pid namespace at {plan.PidNamespace} is not joined; the sandbox has its own");
        }

        var sentryLog = new LineLogWriter { Copy = debugLog.Enabled ? debugLog : null };
        bool ready = false;
        var options = new SandboxOptions
        {
            Argv = plan.Process.Argv,
            Environment = plan.Process.Environment,
            WorkingDirectory = plan.Process.WorkingDirectory,
            Identity = plan.Process.Identity,
            Rlimits = plan.Process.Rlimits,
            NoNewPrivileges = plan.Process.NoNewPrivileges,
            Umask = plan.Process.Umask,
            Seccomp = plan.Process.Seccomp,
            Terminal = plan.Process.Terminal, // create put the console's replica on fds 0-2
            Hostname = plan.Hostname,
            TmpfsMounts = plan.Tmpfs,
            DefaultTmpfs = false,
            RootReadOnly = plan.RootReadonly,
            BindMounts = volumes,
            MaskedPaths = plan.MaskedPaths,
            ReadonlyPaths = plan.ReadonlyPaths,
            MemoryLimit = plan.MemoryLimit,
            MaxTasks = plan.MaxTasks,
            CpuQuota = plan.CpuQuota,
            MemorySwapLimit = plan.MemorySwap,
            CpuWeight = plan.CpuWeight,
            Network = network,
            NetworkLink = link,
            ProtectInit = true, // the container's init is PID 1 of its namespace, as under runc
            NetRaw = true, // as under runc, the container's CAP_NET_RAW decides (raw sockets exist only on the netstack)
            BeforeStart = control =>
            {
                // The control first: a start may come as soon as create has heard "ready".
                server.Attach(control);
                ready = true;
                sentryLog.SendTo(log);
                Report(sync, "ready");
                sync.Dispose();
                return server.WaitForStart();
            },
            AfterStart = server.Started,
        };
        int status = Sandbox.Run(options, gofer, sentryLog);
        debugLog.Debug($"the container's init ended with status {status}");
        server.Drain(TimeSpan.FromSeconds(2));
        if (!ready)
        {
            string kept = sentryLog.Kept;
            Report(sync, "error " + (kept.Length > 0 ? kept.Replace('\n', ' ') : $"the sandbox ended with status {status}"));
        }

        return status;
    }

    /// <summary>
    /// The network a container gets: with a network namespace path (a pod's), the runtime's --network (sandbox by
    /// default: the Sentry's stack takes the namespace's interface over; host: the namespace's host sockets; none:
    /// loopback only); without one, its own loopback, as a new namespace has. Null for an unknown --network.
    /// </summary>
    internal static NetworkMode? NetworkOf(string? namespacePath, string? flag) => flag switch
    {
        null or "sandbox" => namespacePath != null ? NetworkMode.Sandbox : NetworkMode.None,
        "host" => namespacePath != null ? NetworkMode.Host : NetworkMode.None,
        "none" => NetworkMode.None,
        _ => null,
    };

    private static string ModeName(NetworkMode mode) => mode switch
    {
        NetworkMode.Sandbox => "sandbox (the Sentry's stack on the namespace's interface)",
        NetworkMode.Host => "host (host sockets of the namespace)",
        _ => "none (the sandbox's own loopback)",
    };

    private static string FdPath(int fd) => "/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int Report(SafeFdHandle sync, string line)
    {
        if (sync.IsClosed)
        {
            return 1;
        }

        HostSocket.Send(sync.Fd, Encoding.UTF8.GetBytes(line + "\n"), -1);
        return 1;
    }
}
