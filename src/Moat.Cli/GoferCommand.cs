using System;
using System.Globalization;
using Moat.Abi;
using Moat.Gofer;
using Moat.Cli.CommandLine;
using Moat.Cli.Diagnostics;
using Moat.Host;

namespace Moat.Cli;

/// <summary>
/// <c>moat gofer --root DIR [--volume ro:DIR | --volume rw:DIR]... --fd N [--confined]</c>: serves host files
/// to the Sentry on socket fd N; the volumes are roots 1, 2, ... in the order given. With --confined (started
/// by <see cref="ConfinedSpawn"/> in namespaces of its own) it first confines itself: only DIR and the
/// volumes stay reachable, capabilities dropped, seccomp allow-list (unless MOAT_SECCOMP=off).
/// </summary>
internal static class GoferCommand
{
    private const int PR_SET_PDEATHSIG = 1;

    /// <summary>The option that names the sandbox in the gofer's log file (ID.gofer.log).</summary>
    public const string LogIdOption = "sandbox-id";

    public static readonly CommandSpec Spec = new()
    {
        Name = "gofer",
        Summary = "Serves host files to a Sentry on socket FD (started by moat itself, not by hand).",
        MaxArguments = 0,
        Options =
        [
            OptionSpec.With("root", "DIR", "the sandbox's root directory"),
            OptionSpec.With("volume", "ro:DIR|rw:DIR", "a volume, served as root 1, 2, ... in order (repeatable)"),
            OptionSpec.With("fd", "N", "the socket to the Sentry"),
            OptionSpec.Switch("confined", "confine myself first (in the namespaces moat made)"),
            OptionSpec.Switch("debug", "log more"),
            OptionSpec.With("debug-log", "PATH", "the debug log (a file, or a directory for ID.gofer.log)"),
            OptionSpec.With(LogIdOption, "ID", "the sandbox's id in the log's name"),
        ],
    };

    public static int Run(string[] args)
    {
        ParsedArgs? p = CommandLineResult.Parse(Spec, args, out int status);
        if (p == null)
        {
            return status;
        }

        string? root = p.Get("root");
        int fd = -1;
        var volumes = new System.Collections.Generic.List<(string Path, bool ReadOnly)>();
        bool confined = p.Has("confined");
        foreach (string v in p.GetAll("volume"))
        {
            if (!v.StartsWith("ro:", StringComparison.Ordinal) && !v.StartsWith("rw:", StringComparison.Ordinal))
            {
                return CommandLineResult.Fail(Spec, $"--volume wants ro:DIR or rw:DIR, not '{v}'");
            }

            volumes.Add((v[3..], v[1] == 'o'));
        }

        if (root == null || p.Get("fd") is not string fdText || !int.TryParse(fdText, NumberStyles.None, CultureInfo.InvariantCulture, out fd))
        {
            return CommandLineResult.Fail(Spec, "--root DIR and --fd N are required");
        }

        // Opened before confinement: the log's directory is out of reach after it.
        using DebugLog? log = new LogSettings(p.Get("debug-log"), p.Has("debug"), p.Get(LogIdOption) ?? Environment.ProcessId.ToString(CultureInfo.InvariantCulture)).Open("gofer", out string? logError);
        if (log == null)
        {
            Console.Error.WriteLine($"moat gofer: --debug-log: {logError}");
            return 1;
        }

        log.Debug($"serving root {root} and {volumes.Count} volume(s) on fd {fd}{(confined ? ", confined" : string.Empty)}");
        int served = Serve(root, fd, volumes, confined, log);
        log.Debug($"gofer ends with status {served}");
        return served;
    }

    private static int Serve(string root, int fd, System.Collections.Generic.List<(string Path, bool ReadOnly)> volumes, bool confined, DebugLog log)
    {
        // Die with the Sentry that started us.
        HostProcess.Syscall(Sysno.prctl, PR_SET_PDEATHSIG, Signal.SIGKILL);

        // Creation modes arrive with the sandbox's umask already applied: ours must not apply again.
        HostProcess.Syscall(Sysno.umask, 0);

        // Volumes are opened first: a confined gofer keeps them as fds, taken before it leaves the host's tree.
        var roots = new VolumeRoot[volumes.Count];
        for (int v = 0; v < volumes.Count; v++)
        {
            SafeFdHandle? volumeFd = GoferServer.OpenVolumeRoot(volumes[v].Path, out long verr);
            if (volumeFd == null)
            {
                return Fail(log, $"moat gofer: open {volumes[v].Path}: {LinuxError.Text(Errno.FromValue((int)-verr))}");
            }

            roots[v] = new VolumeRoot(volumeFd, volumes[v].ReadOnly);
        }

        if (confined)
        {
            using SafeFdHandle? newRoot = GoferConfinement.EnterRoot(root, out SafeFdHandle? procSelfFd, out string? error);
            using (procSelfFd)
            {
                if (newRoot == null || !GoferConfinement.Seal(Environment.GetEnvironmentVariable("MOAT_SECCOMP") != "off", out error))
                {
                    return Fail(log, $"moat gofer: cannot confine myself: {error}");
                }

                return new GoferServer(newRoot, roots, fd, procSelfFd).Serve();
            }
        }

        using SafeFdHandle? rootFd = GoferServer.OpenRoot(root, out long err);
        if (rootFd == null)
        {
            return Fail(log, $"moat gofer: open {root}: {LinuxError.Text(Errno.FromValue((int)-err))}");
        }

        return new GoferServer(rootFd, roots, fd).Serve();
    }

    // A gofer that cannot serve stops the start of the sandbox: said on stderr (the start's one line) and logged.
    private static int Fail(DebugLog log, string message)
    {
        log.WriteLine(message);
        Console.Error.WriteLine(message);
        return 1;
    }
}
