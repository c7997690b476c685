using System;
using System.Globalization;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;

namespace Moat.Cli;

/// <summary><c>moat gofer --root DIR --fd N</c>: serves host files to the Sentry on socket fd N.</summary>
internal static class GoferCommand
{
    private const int PR_SET_PDEATHSIG = 1;

    public static int Run(string[] args)
    {
        string? root = null;
        int fd = -1;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
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

        using SafeFdHandle? rootFd = GoferServer.OpenRoot(root, out long err);
        if (rootFd == null)
        {
            Console.Error.WriteLine($"moat gofer: cannot open root {root}: {Errno.FromValue((int)-err).Name}");
            return 1;
        }

        return new GoferServer(rootFd, fd).Serve();
    }
}
