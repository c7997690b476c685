using System;
using System.Globalization;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;

namespace Moat.Cli;

/// <summary>
/// <c>moat gofer --root DIR [--volume ro:DIR | --volume rw:DIR]... --fd N</c>: serves host files to the
/// Sentry on socket fd N; the volumes are roots 1, 2, ... in the order given.
/// </summary>
internal static class GoferCommand
{
    private const int PR_SET_PDEATHSIG = 1;

    public static int Run(string[] args)
    {
        string? root = null;
        int fd = -1;
        var volumes = new System.Collections.Generic.List<(string Path, bool ReadOnly)>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
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

        using SafeFdHandle? rootFd = GoferServer.OpenRoot(root, out long err);
        if (rootFd == null)
        {
            Console.Error.WriteLine($"moat gofer: cannot open root {root}: {Errno.FromValue((int)-err).Name}");
            return 1;
        }

        var roots = new VolumeRoot[volumes.Count];
        for (int v = 0; v < volumes.Count; v++)
        {
            SafeFdHandle? volumeFd = GoferServer.OpenRoot(volumes[v].Path, out err);
            if (volumeFd == null)
            {
                Console.Error.WriteLine($"moat gofer: cannot open volume {volumes[v].Path}: {Errno.FromValue((int)-err).Name}");
                return 1;
            }

            roots[v] = new VolumeRoot(volumeFd, volumes[v].ReadOnly);
        }

        return new GoferServer(rootFd, roots, fd).Serve();
    }
}
