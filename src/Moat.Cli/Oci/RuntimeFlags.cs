using System;
using System.Collections.Generic;
using Moat.Cli.CommandLine;

namespace Moat.Cli.Oci;

/// <summary>
/// runc's command line as moat accepts it: the global flags, then a verb with its own flags. The names
/// and short letters are runc's, so containerd's runc shim (and anyone's runc habits) work unchanged; Go's
/// <c>-name</c> spelling works as <c>--name</c>. Flags runc has that change nothing here are accepted and
/// say so in their help.
/// </summary>
internal static class RuntimeFlags
{
    public static readonly CommandSpec Global = new()
    {
        Name = "[GLOBAL OPTION]...",
        Summary = "runc's command line: create, start, run, state, kill, delete, exec, ps, list, pause, resume, events, update, features, spec (see 'moat VERB --help').",
        Arguments = "VERB [ARG]...",
        MinArguments = 1,
        SingleDashLong = true,
        Options =
        [
            OptionSpec.With("root", "DIR", "where container state is kept (default /run/moat)"),
            OptionSpec.With("log", "FILE", "append runc-style log lines (errors, warnings) to FILE"),
            OptionSpec.With("log-format", "text|json", "the format of --log (default text)"),
            OptionSpec.Switch("debug", "log more: debug lines go to --debug-log, or else to --log"),
            OptionSpec.With("debug-log", "PATH", "Moat's debug log: a file, or a directory (or PATH/) for ID.COMMAND.log per process"),
            OptionSpec.With("network", "sandbox|host|none", "for a container with a network namespace path (a pod's): the Sentry's own stack on the namespace's interface (default), the namespace's host sockets, or loopback only (runsc's --network)"),
            OptionSpec.Switch("systemd-cgroup", "accepted for runc's callers; moat manages no cgroups"),
            OptionSpec.With("criu", "PATH", "accepted for runc's callers; moat has no checkpoints"),
            OptionSpec.With("rootless", "true|false|auto", "accepted for runc's callers"),
            OptionSpec.Switch("version", "print the version and the commit", 'v'),
        ],
    };

    /// <summary>runc update's flags for cgroup controls the Sentry does not enforce: update refuses them by name.</summary>
    public static readonly string[] UpdateRefused =
    [
        "blkio-weight", "cpu-rt-period", "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems",
        "kernel-memory", "kernel-memory-tcp", "memory-reservation", "l3-cache-schema", "mem-bw-schema",
    ];

    private static readonly OptionSpec Bundle = OptionSpec.With("bundle", "DIR", "the bundle directory (default: the current one)", 'b');
    private static readonly OptionSpec PidFile = OptionSpec.With("pid-file", "FILE", "write the process's host pid to FILE");
    private static readonly OptionSpec ConsoleSocket = OptionSpec.With("console-socket", "PATH", "send the console's master over this unix socket (terminal: true)");
    private static readonly OptionSpec PreserveFds = OptionSpec.With("preserve-fds", "N", "accepted; no extra fds are passed yet");
    private static readonly OptionSpec Detach = OptionSpec.Switch("detach", "return once the process runs", 'd');
    private static readonly OptionSpec Format = OptionSpec.With("format", "table|json", "output format", 'f');

    /// <summary>Each verb's command line; verbs moat does not implement yet still have one (their help works).</summary>
    public static readonly IReadOnlyDictionary<string, CommandSpec> Verbs = new Dictionary<string, CommandSpec>
    {
        ["create"] = Verb("create", "ID", 1, 1, "Creates a container from a bundle: its sandbox is started and init loaded, not yet run.",
            Bundle, PidFile, ConsoleSocket, PreserveFds, OptionSpec.Switch("no-pivot", "accepted"), OptionSpec.Switch("no-new-keyring", "accepted")),
        ["start"] = Verb("start", "ID", 1, 1, "Runs the init of a created container."),
        ["run"] = Verb("run", "ID", 1, 1, "Creates and starts a container; without --detach, waits for it and deletes it.",
            Bundle, PidFile, ConsoleSocket, PreserveFds, Detach, OptionSpec.Switch("no-pivot", "accepted"), OptionSpec.Switch("no-new-keyring", "accepted"), OptionSpec.Switch("keep", "accepted")),
        ["state"] = Verb("state", "ID", 1, 1, "Prints a container's state as OCI state JSON."),
        ["kill"] = Verb("kill", "ID [SIGNAL]", 1, 2, "Sends SIGNAL (default SIGTERM) to a container's init, or with --all to all its processes.",
            OptionSpec.Switch("all", "signal every process of the container", 'a')),
        ["delete"] = Verb("delete", "ID", 1, 1, "Deletes a stopped container (with --force, a running one too).",
            OptionSpec.Switch("force", "kill it first if it runs; a missing container is no error", 'f')),
        ["exec"] = Verb("exec", "ID [COMMAND [ARG]...]", 1, -1, "Runs a new process in a running container: --process FILE, or COMMAND with config.json's process.",
            OptionSpec.With("process", "FILE", "the process as OCI process JSON", 'p'), PidFile, ConsoleSocket, Detach, PreserveFds,
            OptionSpec.With("cwd", "DIR", "the working directory (with COMMAND)"),
            OptionSpec.Switch("tty", "give the process a terminal (with COMMAND)", 't'),
            OptionSpec.With("env", "KEY=VALUE", "accepted; not applied yet", 'e'),
            OptionSpec.With("user", "UID[:GID]", "accepted; not applied yet", 'u'),
            OptionSpec.With("additional-gids", "GID", "accepted; not applied yet", 'g'),
            OptionSpec.With("cap", "CAP", "accepted; not applied yet", 'c'),
            OptionSpec.Switch("no-new-privs", "accepted"),
            OptionSpec.Switch("ignore-paused", "accepted"),
            OptionSpec.With("process-label", "LABEL", "accepted"),
            OptionSpec.With("apparmor", "PROFILE", "accepted"),
            OptionSpec.With("cgroup", "PATH", "accepted")),
        ["ps"] = Verb("ps", "ID", 1, -1, "Lists the host pids of a container's processes.", Format),
        ["list"] = Verb("list", string.Empty, 0, 0, "Lists the containers under --root.", Format, OptionSpec.Switch("quiet", "print only the ids", 'q')),
        ["features"] = Verb("features", string.Empty, 0, 0, "Prints what this runtime supports, as runc features JSON."),
        ["spec"] = Verb("spec", string.Empty, 0, 0, "Writes a starting config.json into the bundle directory.",
            Bundle, OptionSpec.Switch("rootless", "accepted")),
        ["pause"] = Verb("pause", "ID", 1, 1, "Freezes every process of a container (the Sentry parks each task; no signal is seen)."),
        ["resume"] = Verb("resume", "ID", 1, 1, "Thaws a paused container."),
        ["events"] = Verb("events", "ID", 1, 1, "Prints a container's stats as runc's JSON every --interval, and an \"oom\" event when its memory cap kills.",
            OptionSpec.Switch("stats", "print the stats once and exit"), OptionSpec.With("interval", "DURATION", "the stats interval, as Go writes it (default 5s)")),
        ["update"] = Verb("update", "ID", 1, 1, "Changes a running container's memory, pids and cpu limits, as runc update.",
        [
            OptionSpec.With("resources", "FILE", "OCI linux.resources JSON (- for stdin); the other flags are then ignored", 'r'),
            OptionSpec.With("memory", "BYTES", "the memory limit (64m, 1g, ...; -1 for none)"),
            OptionSpec.With("pids-limit", "N", "the most tasks at once (-1 for none)"),
            OptionSpec.With("memory-swap", "BYTES", "the memory+swap limit (-1 for none): shown in the cgroup; the sandbox never swaps"),
            OptionSpec.With("cpu-period", "USECS", "the CFS period of the sandbox's cgroup (0: as it is)"),
            OptionSpec.With("cpu-quota", "USECS", "the CPU time the sandbox may use each period (-1 for none)"),
            OptionSpec.With("cpu-share", "N", "the sandbox's CPU shares (its weight against other cgroups)"),
            .. Array.ConvertAll(UpdateRefused, n => OptionSpec.With(n, "VALUE", "runc's; refused: moat enforces only the memory, pids and cpu limits")),
        ]),
    };

    private static CommandSpec Verb(string name, string arguments, int min, int max, string summary, params OptionSpec[] options) => new()
    {
        Name = name,
        Summary = summary,
        Arguments = arguments,
        MinArguments = min,
        MaxArguments = max,
        SingleDashLong = true,
        Options = options,
    };
}
