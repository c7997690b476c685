using System;
using System.Collections;
using System.Collections.Generic;
using Moat.Gofer;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli;

/// <summary>
/// <c>moat do -- COMMAND</c>: runs a host program in a new sandbox whose root is the host's root (or
/// <c>--root DIR</c>), read-only, served by a gofer process, with <c>--volume HOST:SANDBOX[:ro|rw]</c>
/// host directories bound in (read-write unless told, as docker's <c>-v</c>). This process becomes the Sentry.
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
        string[] originalArgs = args;
        bool strace = false;
        string platform = SandboxOptions.DefaultPlatform;
        string hostname = "moat";
        string? profile = null;
        string root = "/";
        int maxTasks = 0;
        ulong memoryLimit = 0;
        var mounts = new List<BindMount>();
        NetworkMode network = NetworkMode.None;
        string confine = DefaultConfinement();
        int cpus = 0;
        bool tty = false, noTty = false;
        int i = 0;
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                i++;
                break;
            }

            if (a == "--strace")
            {
                strace = true;
            }
            else if (a is "-t" or "--tty")
            {
                tty = true;
            }
            else if (a is "-T" or "--no-tty")
            {
                noTty = true; // wins over -t, in any order
            }
            else if (a.StartsWith("--platform=", StringComparison.Ordinal))
            {
                platform = a["--platform=".Length..];
            }
            else if (a.StartsWith("--confine=", StringComparison.Ordinal))
            {
                confine = a["--confine=".Length..];
                if (confine is not ("gofer" or "full" or "none"))
                {
                    Console.Error.WriteLine($"moat do: --confine wants gofer, full or none, not '{confine}'");
                    return 2;
                }
            }
            else if (a == "--cpus" && i + 1 < args.Length)
            {
                if (!int.TryParse(args[++i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out cpus) || cpus < 1)
                {
                    Console.Error.WriteLine($"moat do: --cpus wants a positive number, not '{args[i]}'");
                    return 2;
                }
            }
            else if (a == "--pids" && i + 1 < args.Length)
            {
                if (!int.TryParse(args[++i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out maxTasks) || maxTasks < 1)
                {
                    Console.Error.WriteLine($"moat do: --pids wants a positive number, not '{args[i]}'");
                    return 2;
                }
            }
            else if (a == "--memory" && i + 1 < args.Length)
            {
                if (!TryParseSize(args[++i], out memoryLimit))
                {
                    Console.Error.WriteLine($"moat do: --memory wants a size such as 512M or 2G, not '{args[i]}'");
                    return 2;
                }
            }
            else if (a == "--root" && i + 1 < args.Length)
            {
                root = System.IO.Path.GetFullPath(args[++i]);
            }
            else if ((a == "--volume" || a == "-v") && i + 1 < args.Length)
            {
                BindMount? m = BindMount.Parse(args[++i], out string? bad);
                if (m == null)
                {
                    Console.Error.WriteLine($"moat do: --volume {bad}");
                    return 2;
                }

                if (mounts.Exists(o => o.SandboxPath == m.SandboxPath))
                {
                    Console.Error.WriteLine($"moat do: --volume: {m.SandboxPath} is bound twice");
                    return 2;
                }

                mounts.Add(m);
            }
            else if (a == "--profile" && i + 1 < args.Length)
            {
                profile = System.IO.Path.GetFullPath(args[++i]);
            }
            else if (a.StartsWith("--network=", StringComparison.Ordinal) || (a == "--network" && i + 1 < args.Length))
            {
                string mode = a == "--network" ? args[++i] : a["--network=".Length..];
                switch (mode)
                {
                    case "none":
                        network = NetworkMode.None;
                        break;
                    case "host":
                        network = NetworkMode.Host;
                        break;
                    case "sandbox":
                        Console.Error.WriteLine("moat do: --network=sandbox (a user-space TCP/IP stack on its own network) is not yet supported; use none or host");
                        return 2;
                    default:
                        Console.Error.WriteLine($"moat do: unknown network '{mode}' (available: none, host)");
                        return 2;
                }
            }
            else if (a == "--hostname" && i + 1 < args.Length)
            {
                hostname = args[++i];
            }
            else if (a.StartsWith('-'))
            {
                Console.Error.WriteLine($"moat do: unknown option '{a}'");
                return 2;
            }
            else
            {
                break;
            }
        }

        if (i >= args.Length)
        {
            Console.Error.WriteLine("moat do: no command given");
            return 2;
        }

        if (platform is not ("ptrace" or "systrap"))
        {
            Console.Error.WriteLine($"moat do: unknown platform '{platform}' (available: ptrace, systrap)");
            return 2;
        }

        if (platform == "systrap" && !Moat.Platform.Systrap.SystrapPlatform.IsSupported)
        {
            Console.Error.WriteLine("moat do: the systrap platform needs FSGSBASE (Linux 5.9+ on a CPU with it); use --platform=ptrace");
            return 2;
        }

        if (!System.IO.Directory.Exists(root))
        {
            Console.Error.WriteLine($"moat do: --root {root}: not a directory");
            return 2;
        }

        if (jailed)
        {
            return RunJailed(args[i..], hostIdentity, strace, hostname, profile, maxTasks, memoryLimit, platform, mounts, network, root, tty && !noTty);
        }

        // Before anything is spawned: the gofer, the stubs and every later thread inherit the mask.
        if (cpus > 0 && HostCpus.Limit(cpus) is long kept && kept < 0)
        {
            Console.Error.WriteLine($"moat do: --cpus: sched_setaffinity: {Moat.Abi.Errno.FromValue((int)-kept).Name}");
            return 1;
        }

        using GoferProcess? gofer = GoferProcess.Start(root, mounts, confine != "none", out string? error);
        if (gofer == null)
        {
            Console.Error.WriteLine($"moat: cannot start the gofer: {error}");
            if (confine != "none")
            {
                Console.Error.WriteLine("moat: --confine=none runs the gofer without its namespaces (less isolation)");
            }

            return 1;
        }

        using DoTerminal? terminal = DoTerminal.Open(tty, noTty, out string? ttyError);
        if (ttyError != null)
        {
            Console.Error.WriteLine($"moat do: {ttyError}");
            return 1;
        }

        // A JIT build loads assemblies from disk on demand, which a Sentry with an empty root cannot do.
        if (confine == "full" && !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        {
            return terminal == null
                ? SentryJail.RunOutside(originalArgs, gofer.Client.Socket.Fd, profile, network == NetworkMode.Host)
                : SentryJail.RunOutside(["-t", .. originalArgs], gofer.Client.Socket.Fd, profile, network == NetworkMode.Host, terminal.ReplicaFds());
        }

        var options = new SandboxOptions
        {
            Argv = args[i..],
            Environment = CurrentEnvironment(),
            // Under another root the host's working directory means nothing: start at the root.
            WorkingDirectory = root == "/" ? Environment.CurrentDirectory : "/",
            Strace = strace,
            Hostname = hostname,
            ProfilePath = profile,
            MaxTasks = maxTasks,
            MemoryLimit = memoryLimit,
            Platform = platform,
            BindMounts = mounts,
            Network = network,
            Terminal = terminal != null,
            Stdio = terminal?.SandboxStdio(),
        };
        return Sandbox.Run(options, gofer.Client, Console.Error);
    }

    // The Sentry inside its namespaces: the gofer is already at fd 3, the profile file (if any) at fd 4.
    private static int RunJailed(string[] argv, SandboxIdentity? identity, bool strace, string hostname, string? profile, int maxTasks, ulong memoryLimit, string platform, List<BindMount> mounts, NetworkMode network, string root, bool terminal)
    {
        string cwd = root == "/" ? Environment.CurrentDirectory : "/";
        using var gofer = new GoferClient(new SafeFdHandle(SentryJail.GoferFd));
        if (!SentryJail.Enter(out string? error) || !SentryConfinement.Enter(out error))
        {
            Console.Error.WriteLine($"moat: cannot confine the Sentry: {error}");
            return 1;
        }

        var options = new SandboxOptions
        {
            Argv = argv,
            Environment = CurrentEnvironment(),
            WorkingDirectory = cwd,
            Identity = identity,
            Strace = strace,
            Hostname = hostname,
            ProfilePath = profile != null ? "/proc/self/fd/" + SentryJail.ProfileFd.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
            MaxTasks = maxTasks,
            MemoryLimit = memoryLimit,
            Platform = platform,
            BindMounts = mounts,
            Network = network,
            Terminal = terminal, // the outer moat put its host pty's replica on our fds 0-2 (DoTerminal)
        };
        return Sandbox.Run(options, gofer, Console.Error);
    }

    // The Sentry is jailed unless told otherwise; MOAT_CONFINE chooses for every run (as MOAT_PLATFORM does the platform).
    private static string DefaultConfinement() =>
        Environment.GetEnvironmentVariable("MOAT_CONFINE") switch { "gofer" => "gofer", "none" => "none", _ => "full" };

    // A byte count with an optional K, M or G (powers of 1024) suffix; at least one page.
    internal static bool TryParseSize(string s, out ulong bytes)
    {
        bytes = 0;
        ulong unit = 1;
        if (s.Length > 0 && char.ToUpperInvariant(s[^1]) is 'K' or 'M' or 'G')
        {
            unit = char.ToUpperInvariant(s[^1]) switch { 'K' => 1UL << 10, 'M' => 1UL << 20, _ => 1UL << 30 };
            s = s[..^1];
        }

        if (!ulong.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong n) || n == 0 || n > ulong.MaxValue / unit)
        {
            return false;
        }

        bytes = n * unit;
        return bytes >= 4096;
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
