using System;
using System.Globalization;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;

namespace Moat.Cli;

/// <summary>
/// <c>moat gofer --root DIR --fd N [--confined]</c>: serves host files to the Sentry on socket fd N.
/// With --confined (started by <see cref="ConfinedSpawn"/> in namespaces of its own) it first confines
/// itself: only DIR stays reachable, capabilities dropped, seccomp allow-list (unless MOAT_SECCOMP=off).
/// </summary>
internal static class GoferCommand
{
    private const int PR_SET_PDEATHSIG = 1;

    public static int Run(string[] args)
    {
        string? root = null;
        int fd = -1;
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

                return new GoferServer(newRoot, fd, procSelfFd).Serve();
            }
        }

        using SafeFdHandle? rootFd = GoferServer.OpenRoot(root, out long err);
        if (rootFd == null)
        {
            Console.Error.WriteLine($"moat gofer: cannot open root {root}: {Errno.FromValue((int)-err).Name}");
            return 1;
        }

        return new GoferServer(rootFd, fd).Serve();
    }
}
