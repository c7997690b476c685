using System;
using System.Collections;
using System.Collections.Generic;
using Moat.Cli.CommandLine;
using Moat.Cli.Diagnostics;
using Moat.Gofer;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli;

/// <summary>
/// <c>moat do -- COMMAND</c>: runs a host program in a new sandbox whose root is the host's root (or
/// <c>--root DIR</c>), read-only, served by a gofer process, with <c>--volume HOST:SANDBOX[:ro|rw]</c>
/// host directories bound in (read-write unless told, as docker's <c>-v</c>). This process becomes the
/// Sentry, or (<c>--confine=full</c>) starts it jailed and waits for it. Its options: <see cref="DoOptions"/>.
/// </summary>
internal static class DoCommand
{
    public static int Run(string[] args)
    {
        // The jailed Sentry is this same command run again inside its namespaces (SentryJail).
        bool jailed = args.Length > 1 && args[0] == SentryJail.InsideOption;
        SandboxIdentity? hostIdentity = null;
        if (jailed)
        {
            // Inside its user namespace the Sentry is root; the sandbox runs as the user who ran moat.
            hostIdentity = SentryJail.ParseIdentity(args[1]);
            args = args[2..];
        }

        // Whatever the caller left open stays here: not in the gofer, the jailed Sentry or the stubs.
        HostFile.CloseOnExecFrom(3);
        ParsedArgs? p = CommandLineResult.Parse(DoOptions.Spec, args, out int status);
        if (p == null)
        {
            return status;
        }

        DoOptions? o = DoOptions.Read(p, out string error);
        if (o == null)
        {
            return CommandLineResult.Fail(DoOptions.Spec, error);
        }

        if (o.Platform == "systrap" && !Moat.Platform.Systrap.SystrapPlatform.IsSupported)
        {
            Console.Error.WriteLine("moat do: the systrap platform needs FSGSBASE (Linux 5.9+ on a CPU with it); use --platform=ptrace");
            return 2;
        }

        if (!System.IO.Directory.Exists(o.Root))
        {
            Console.Error.WriteLine($"moat do: --root {o.Root}: not a directory");
            return 2;
        }

        var logSettings = new LogSettings(o.DebugLog, o.Debug, o.SandboxId);
        using DebugLog? log = logSettings.Open(jailed ? "sentry" : "do", out string? logError);
        if (log == null)
        {
            Console.Error.WriteLine($"moat do: --debug-log: {logError}");
            return 1;
        }

        log.Debug("moat do " + string.Join(' ', args));
        if (jailed)
        {
            int code = RunJailed(o, hostIdentity, log);
            SentryJail.ReportStatus(code);
            return code;
        }

        // The host side of --network=sandbox: a TAP device, its address, NAT (removed when this ends).
        string? netError = null;
        using Network.SandboxNetSetup? net = o.Network == NetworkMode.Sandbox ? Network.SandboxNetSetup.Create(log, out netError) : null;
        if (o.Network == NetworkMode.Sandbox && net == null)
        {
            Console.Error.WriteLine($"moat do: {netError}");
            return 1;
        }

        // Before anything is spawned: the gofer, the stubs and every later thread inherit the mask.
        if (o.Cpus > 0 && HostCpus.Limit(o.Cpus) is long kept && kept < 0)
        {
            Console.Error.WriteLine($"moat do: --cpus: sched_setaffinity: {LinuxError.Text(Moat.Abi.Errno.FromValue((int)-kept))}");
            return 1;
        }

        using GoferProcess? gofer = GoferProcess.Start(o.Root, o.Mounts, o.Confine != "none", logSettings, out string? goferError);
        if (gofer == null)
        {
            Console.Error.WriteLine($"moat: cannot start the gofer: {goferError}");
            if (o.Confine != "none")
            {
                Console.Error.WriteLine("moat: --confine=none runs the gofer without its namespaces (less isolation)");
            }

            return 1;
        }

        log.Debug($"gofer started: pid {gofer.Pid}");

        using DoTerminal? terminal = DoTerminal.Open(o.Tty, o.NoTty, out string? ttyError);
        if (ttyError != null)
        {
            Console.Error.WriteLine($"moat do: {ttyError}");
            return 1;
        }

        RawTerminalLines(terminal != null);

        // A JIT build loads assemblies from disk on demand, which a Sentry with an empty root cannot do.
        if (o.Confine == "full" && !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        {
            // With a pty, its replica is the jailed Sentry's fds 0-2 and "-t" tells it so.
            string[] inner = terminal == null ? ["--" + DoOptions.SandboxIdOption, o.SandboxId, .. args] : ["--" + DoOptions.SandboxIdOption, o.SandboxId, "-t", .. args];
            (int From, int To)[]? fds = terminal?.ReplicaFds();
            if (net != null)
            {
                SandboxLink l = net.Link;
                inner = ["--" + DoOptions.NetLinkOption, string.Join(',', l.Name, l.Address, l.Prefix.ToString(System.Globalization.CultureInfo.InvariantCulture), l.Gateway, l.Mac.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. inner];
                fds = [.. fds ?? [], (l.Tap.Fd, SentryJail.NetFd)];
            }

            return SentryJail.RunOutside(inner, gofer, o.Profile, o.Network == NetworkMode.Host, logSettings, log, fds);
        }

        // Here this process is the Sentry: a gofer that dies takes the sandbox with it, said in one line.
        gofer.Watch(() =>
        {
            string line = $"moat: the gofer {gofer.Failure}; the sandbox is stopped ({logSettings.Where("gofer")})";
            log.WriteLine(line);
            Console.Error.WriteLine(line);
            HostProcess.Syscall(Moat.Abi.Sysno.exit_group, SandboxFailure.ExitStatus);
        });
        using MetricsFile? metrics = MetricsFile.Open(o.Metrics, out string? metricsError);
        if (metricsError != null)
        {
            Console.Error.WriteLine($"moat do: --metrics: {metricsError}");
            return 1;
        }

        var options = new SandboxOptions
        {
            Argv = o.Command,
            Environment = CurrentEnvironment(),
            WriteMetrics = metrics != null ? metrics.Write : null,
            MetricsId = o.SandboxId,
            // Under another root the host's working directory means nothing: start at the root.
            WorkingDirectory = o.Root == "/" ? Environment.CurrentDirectory : "/",
            Strace = o.Strace,
            StraceSyscalls = o.StraceSyscalls,
            StraceOutput = log.FilePath != null ? log : Console.Error,
            Errors = Console.Error,
            Hostname = o.Hostname,
            ProfilePath = o.Profile,
            MaxTasks = o.MaxTasks,
            MemoryLimit = o.MemoryLimit,
            Platform = o.Platform,
            BindMounts = o.Mounts,
            Network = o.Network,
            NetRaw = o.NetRaw,
            NetworkLink = net?.Link,
            Terminal = terminal != null,
            Stdio = terminal?.SandboxStdio(),
            SentryFailed = summary =>
            {
                terminal?.Dispose(); // the caller's terminal back to how it was, as the jailed path's outer moat leaves it
                Console.Error.WriteLine($"moat: {summary} ({logSettings.Where("do")})");
                HostProcess.Syscall(Moat.Abi.Sysno.exit_group, SandboxFailure.ExitStatus);
            },
        };
        status = Sandbox.Run(options, gofer.Client, log);
        log.Debug($"the sandbox ended with status {status}");
        return status;
    }

    // While the caller's terminal is raw (a pty for the program), Moat's own lines on it need their carriage
    // return: the terminal no longer adds one.
    private static void RawTerminalLines(bool terminal)
    {
        if (terminal && !Console.IsErrorRedirected)
        {
            Console.Error.NewLine = "\r\n";
        }
    }

    // The Sentry inside its namespaces: the gofer is already at fd 3, the profile file (if any) at fd 5.
    private static int RunJailed(DoOptions o, SandboxIdentity? identity, DebugLog log)
    {
        string cwd = o.Root == "/" ? Environment.CurrentDirectory : "/";
        using var gofer = new GoferClient(new SafeFdHandle(SentryJail.GoferFd));

        // Opened before the jail: its directory is out of reach after it.
        using MetricsFile? metrics = MetricsFile.Open(o.Metrics, out string? metricsError);
        if (metricsError != null)
        {
            Console.Error.WriteLine($"moat do: --metrics: {metricsError}");
            return 1;
        }

        RawTerminalLines(o.Tty && !o.NoTty);
        // Opened before the jail, which has no /dev: where fd 2 goes when there is no log file (DivertStderr).
        long nowhere = log.Enabled ? -1 : HostPath.Openat(Moat.Abi.OpenFlags.AT_FDCWD, "/dev/null", Moat.Abi.OpenFlags.O_WRONLY | Moat.Abi.OpenFlags.O_CLOEXEC);
        if (!SentryJail.Enter(out string? error) || !SentryConfinement.Enter(out error))
        {
            Console.Error.WriteLine($"moat: cannot confine the Sentry: {error}");
            return 1;
        }

        SafeFdHandle?[]? stdio = DivertStderr(log, nowhere);

        var options = new SandboxOptions
        {
            Argv = o.Command,
            Environment = CurrentEnvironment(),
            WorkingDirectory = cwd,
            WriteMetrics = metrics != null ? metrics.Write : null,
            MetricsId = o.SandboxId,
            Identity = identity,
            Strace = o.Strace,
            StraceSyscalls = o.StraceSyscalls,
            StraceOutput = log.FilePath != null ? log : Console.Error,
            Errors = Console.Error,
            Hostname = o.Hostname,
            ProfilePath = o.Profile != null ? "/proc/self/fd/" + SentryJail.ProfileFd.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
            MaxTasks = o.MaxTasks,
            MemoryLimit = o.MemoryLimit,
            Platform = o.Platform,
            BindMounts = o.Mounts,
            Network = o.Network,
            NetRaw = o.NetRaw,
            NetworkLink = JailedLink(o.NetLink),
            Terminal = o.Tty && !o.NoTty, // the outer moat put its host pty's replica on our fds 0-2 (DoTerminal)
            Stdio = stdio,
        };
        int status = Sandbox.Run(options, gofer, log);
        log.Debug($"the sandbox ended with status {status}");
        return status;
    }

    // The runtime writes its own last words (a FailFast, a stack overflow, an assertion) raw on fd 2, which is the
    // program's stderr: the program gets a copy of that descriptor, and fd 2 becomes the debug log's file (or
    // /dev/null without one). Console.Error, made first, keeps its own dup of the caller's stderr, so the one line
    // of a failed start still reaches the caller. Left as it is when --debug writes the log on stderr.
    private static SafeFdHandle?[]? DivertStderr(DebugLog log, long nowhere)
    {
        Console.Error.Flush();
        if (log.Enabled && log.FilePath == null)
        {
            return null;
        }

        long saved = HostFile.Fcntl(2, HostFile.F_DUPFD_CLOEXEC, 3);
        if (saved < 0)
        {
            return null;
        }

        bool diverted = nowhere >= 0 ? HostProcess.Syscall(Moat.Abi.Sysno.dup3, nowhere, 2, 0) == 2 : log.DupOnto(2);
        if (nowhere >= 0)
        {
            HostFile.Close((int)nowhere);
        }

        if (!diverted)
        {
            HostFile.Close((int)saved);
            return null;
        }

        return [new SafeFdHandle(0, ownsHandle: false), new SafeFdHandle(1, ownsHandle: false), new SafeFdHandle((int)saved)];
    }

    // Inside: --network=sandbox's device at SentryJail.NetFd and the addresses the outer moat chose.
    private static SandboxLink? JailedLink(string? spec)
    {
        string[]? f = spec?.Split(',');
        if (f is not { Length: 5 } || !int.TryParse(f[2], System.Globalization.CultureInfo.InvariantCulture, out int prefix) ||
            !ulong.TryParse(f[4], System.Globalization.CultureInfo.InvariantCulture, out ulong mac))
        {
            return null;
        }

        return new SandboxLink(new SafeFdHandle(SentryJail.NetFd), f[0], f[1], prefix, f[3], mac);
    }

    private static List<string> CurrentEnvironment()
    {
        var env = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env.Add($"{e.Key}={e.Value}");
        }

        env.Sort(StringComparer.Ordinal);
        return env;
    }
}
