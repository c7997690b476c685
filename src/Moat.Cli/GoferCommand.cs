using System;
using System.Globalization;
using Moat.Abi;
using Moat.Gofer;
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

    public static int Run(string[] args)
    {
        string? root = null;
        int fd = -1;
        var volumes = new System.Collections.Generic.List<(string Path, bool ReadOnly)>();
        bool confined = false;
        for (int i = 0; i < args.Length; i += 2)
        {
            if (args[i] == "--confined")
            {
                confined = true;
                i--;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"moat gofer: option '{args[i]}' wants a value");
                return 2;
            }

            switch (args[i])
            {
                case "--root":
                    root = args[i + 1];
                    break;
                case "--volume" when args[i + 1].StartsWith("ro:", StringComparison.Ordinal) || args[i + 1].StartsWith("rw:", StringComparison.Ordinal):
                    volumes.Add((args[i + 1][3..], args[i + 1][1] == 'o'));
                    break;
                case "--fd":
                    fd = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine($"moat gofer: unknown option '{args[i]}'");
                    return 2;
            }
        }

        if (root == null || fd < 0)
        {
            Console.Error.WriteLine("moat gofer: --root and --fd are required");
            return 2;
        }

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
                Console.Error.WriteLine($"moat gofer: cannot open volume {volumes[v].Path}: {Errno.FromValue((int)-verr).Name}");
                return 1;
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
                    Console.Error.WriteLine($"moat gofer: cannot confine myself: {error}");
                    return 1;
                }

                return new GoferServer(newRoot, roots, fd, procSelfFd).Serve();
            }
        }

        using SafeFdHandle? rootFd = GoferServer.OpenRoot(root, out long err);
        if (rootFd == null)
        {
            Console.Error.WriteLine($"moat gofer: cannot open root {root}: {Errno.FromValue((int)-err).Name}");
            return 1;
        }

        return new GoferServer(rootFd, roots, fd).Serve();
    }
}
