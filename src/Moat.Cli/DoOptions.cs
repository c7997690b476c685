using System;
using System.Collections.Generic;
using System.Globalization;
using Moat.Abi;
using Moat.Cli.CommandLine;
using Moat.Sentry;

namespace Moat.Cli;

/// <summary>
/// The options of <c>moat do</c>, read from its parsed command line and checked. To add one: an
/// <see cref="OptionSpec"/> in <see cref="Spec"/>, a property here, and its reading in <see cref="Read"/>.
/// </summary>
internal sealed class DoOptions
{
    /// <summary>The command line of <c>moat do</c>.</summary>
    public static readonly CommandSpec Spec = new()
    {
        Name = "do",
        Summary = "Runs COMMAND in a new sandbox whose root is the host's (or --root DIR), read-only, with /tmp and /dev/shm of its own.\n" +
            "Exits with COMMAND's status (128+N when signal N killed it, 127 when it is not found, 126 when it cannot run),\n" +
            "or 125 when the sandbox itself failed (its gofer or Sentry died: one line on stderr says which).",
        Arguments = "COMMAND [ARG]...",
        MinArguments = 1,
        Options =
        [
            OptionSpec.Switch("tty", "give the program a pty of the sandbox's own even when stdin and stdout are not a terminal", 't'),
            OptionSpec.Switch("no-tty", "never give the program a pty, even at a terminal (wins over --tty)", 'T'),
            OptionSpec.With("root", "DIR", "the sandbox's root directory (default /)"),
            OptionSpec.With("volume", "HOST:SANDBOX[:ro|rw]", "bind a host file or directory into the sandbox (repeatable; rw unless :ro)", 'v'),
            OptionSpec.With("pids", "N", "the most tasks the sandbox may hold at once"),
            OptionSpec.With("memory", "SIZE", "the most memory the sandbox may hold (e.g. 512M, 2G)"),
            OptionSpec.With("cpus", "N", "run on at most N host CPUs"),
            OptionSpec.With("confine", "full|gofer|none", "how the Sentry and gofer are confined (default full, or MOAT_CONFINE)"),
            OptionSpec.With("platform", "systrap|ptrace", "how application code runs (default systrap where supported, or MOAT_PLATFORM)"),
            OptionSpec.With("hostname", "NAME", "the host name inside the sandbox (default moat)"),
            OptionSpec.With("network", "none|host|sandbox", "loopback only (default), the host's network, or the Sentry's own TCP/IP stack on a TAP device with NAT (root; docs/netstack.md)"),
            OptionSpec.Switch("net-raw", "allow raw IP and AF_PACKET sockets (to processes with CAP_NET_RAW) on the Sentry's own stack, as runsc's --net-raw; without it they answer EPERM"),
            OptionSpec.With("profile", "FILE", "write a per-syscall time profile to FILE at exit"),
            OptionSpec.With("metrics", "FILE", "write the sandbox's counters to FILE at exit (Prometheus text format)"),
            OptionSpec.Switch("strace", "log every syscall with its arguments and result (to the debug log if given, else stderr)"),
            OptionSpec.With("strace-syscalls", "NAME,...", "with --strace (implied): only these syscalls"),
            OptionSpec.Switch("debug", "log more (process start and exit); without --debug-log, to stderr"),
            OptionSpec.With("debug-log", "PATH", "write Moat's own log there: a file, or a directory (or PATH/) for ID.COMMAND.log per process"),
            new OptionSpec(SandboxIdOption, "the sandbox's id in log names (set by moat for its own processes)", "ID", Hidden: true),
            new OptionSpec(NetLinkOption, "the TAP device and addresses of --network=sandbox, handed to the jailed Sentry", "NAME,ADDR,PREFIX,GW,MAC", Hidden: true),
        ],
    };

    /// <summary>Hidden: the id of the sandbox, handed to the jailed Sentry so its log is named as the outer one's.</summary>
    public const string SandboxIdOption = "sandbox-id";

    /// <summary>Hidden: --network=sandbox's device (at SentryJail.NetFd) and addresses, handed to the jailed Sentry.</summary>
    public const string NetLinkOption = "net-link";

    /// <summary>The value of the hidden <see cref="NetLinkOption"/>, if given.</summary>
    public string? NetLink { get; private init; }

    public string Root { get; private init; } = "/";

    public List<BindMount> Mounts { get; } = [];

    public int MaxTasks { get; private init; }

    public ulong MemoryLimit { get; private init; }

    public int Cpus { get; private init; }

    public string Confine { get; private init; } = "full";

    public string Platform { get; private init; } = SandboxOptions.DefaultPlatform;

    public string Hostname { get; private init; } = "moat";

    public NetworkMode Network { get; private init; }

    /// <summary>--net-raw: raw and packet sockets on the netstack (see SandboxOptions.NetRaw).</summary>
    public bool NetRaw { get; private init; }

    public string? Profile { get; private init; }

    public bool Strace { get; private init; }

    public string? Metrics { get; private init; }

    public IReadOnlyList<int>? StraceSyscalls { get; private init; }

    public bool Debug { get; private init; }

    /// <summary>-t: a pty for the program even off a terminal (see DoTerminal).</summary>
    public bool Tty { get; private init; }

    /// <summary>-T: never a pty; wins over -t in either order.</summary>
    public bool NoTty { get; private init; }

    public string? DebugLog { get; private init; }

    public string SandboxId { get; private init; } = string.Empty;

    public IReadOnlyList<string> Command { get; private init; } = [];

    /// <summary>Checks the values of <paramref name="p"/>; null with a one-line error naming the option.</summary>
    public static DoOptions? Read(ParsedArgs p, out string error)
    {
        error = string.Empty;
        string confine = p.Get("confine") ?? DefaultConfinement();
        if (confine is not ("gofer" or "full" or "none"))
        {
            error = $"--confine wants gofer, full or none, not '{confine}'";
            return null;
        }

        string platform = p.Get("platform") ?? SandboxOptions.DefaultPlatform;
        if (platform is not ("ptrace" or "systrap"))
        {
            error = $"unknown platform '{platform}' (available: ptrace, systrap)";
            return null;
        }

        int cpus = 0, pids = 0;
        if (p.Get("cpus") is string c && !TryPositive(c, out cpus))
        {
            error = $"--cpus wants a positive number, not '{c}'";
            return null;
        }

        if (p.Get("pids") is string n && !TryPositive(n, out pids))
        {
            error = $"--pids wants a positive number, not '{n}'";
            return null;
        }

        ulong memory = 0;
        if (p.Get("memory") is string m && !TryParseSize(m, out memory))
        {
            error = $"--memory wants a size such as 512M or 2G, not '{m}'";
            return null;
        }

        NetworkMode network = NetworkMode.None;
        switch (p.Get("network"))
        {
            case null or "none":
                break;
            case "host":
                network = NetworkMode.Host;
                break;
            case "sandbox":
                network = NetworkMode.Sandbox;
                break;
            case string other:
                error = $"unknown network '{other}' (available: none, host, sandbox)";
                return null;
        }

        List<int>? traced = null;
        if (p.Get("strace-syscalls") is string list)
        {
            traced = [];
            foreach (string name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int nr = SyscallNumber(name);
                if (nr < 0)
                {
                    error = $"--strace-syscalls: unknown syscall '{name}'";
                    return null;
                }

                traced.Add(nr);
            }
        }

        var o = new DoOptions
        {
            Root = System.IO.Path.GetFullPath(p.Get("root") ?? "/"),
            Confine = confine,
            Platform = platform,
            Cpus = cpus,
            MaxTasks = pids,
            MemoryLimit = memory,
            Network = network,
            NetRaw = p.Has("net-raw"),
            NetLink = p.Get(NetLinkOption),
            Hostname = p.Get("hostname") ?? "moat",
            Profile = p.Get("profile") is string profile ? System.IO.Path.GetFullPath(profile) : null,
            Metrics = p.Get("metrics") is string metrics ? System.IO.Path.GetFullPath(metrics) : null,
            Strace = p.Has("strace") || traced != null,
            StraceSyscalls = traced,
            Debug = p.Has("debug"),
            Tty = p.Has("tty"),
            NoTty = p.Has("no-tty"),
            DebugLog = p.Get("debug-log"),
            SandboxId = p.Get(SandboxIdOption) ?? Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            Command = p.Arguments,
        };
        foreach (string v in p.GetAll("volume"))
        {
            BindMount? b = BindMount.Parse(v, out string? bad);
            if (b == null)
            {
                error = $"--volume {bad}";
                return null;
            }

            if (o.Mounts.Exists(x => x.SandboxPath == b.SandboxPath))
            {
                error = $"--volume: {b.SandboxPath} is bound twice";
                return null;
            }

            o.Mounts.Add(b);
        }

        return o;
    }

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

        if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n == 0 || n > ulong.MaxValue / unit)
        {
            return false;
        }

        bytes = n * unit;
        return bytes >= 4096;
    }

    /// <summary>The x86-64 number of syscall <paramref name="name"/>, or -1.</summary>
    internal static int SyscallNumber(string name)
    {
        for (int nr = 0; nr < Sysno.MaxSyscall; nr++)
        {
            if (Sysno.IsKnown(nr) && Sysno.Name(nr) == name)
            {
                return nr;
            }
        }

        return -1;
    }

    private static bool TryPositive(string s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= 1;

    // The Sentry is jailed unless told otherwise; MOAT_CONFINE chooses for every run (as MOAT_PLATFORM does the platform).
    private static string DefaultConfinement() =>
        Environment.GetEnvironmentVariable("MOAT_CONFINE") switch { "gofer" => "gofer", "none" => "none", _ => "full" };
}
