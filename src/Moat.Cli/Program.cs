using System;

namespace Moat.Cli;

/// <summary>The moat command: one executable for the sandbox and its gofer, like runsc.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Usage(Console.Error);
            return 2;
        }

        // runc's command line (global flags first, then an OCI verb): containerd's shim calls moat as runc.
        if ((args[0].StartsWith("--", StringComparison.Ordinal) && args[0] != "--help") || Array.IndexOf(Oci.RuntimeCommand.Verbs, args[0]) >= 0)
        {
            return Oci.RuntimeCommand.Run(args);
        }

        string[] rest = args[1..];
        return args[0] switch
        {
            "do" => DoCommand.Run(rest),
            "oci-boot" => Oci.BootCommand.Run(rest),
            "oci-exec-proxy" => Oci.ExecProxyCommand.Run(rest),
            "gofer" => GoferCommand.Run(rest),
            "bench" => BenchCommand.Run(rest),
            "help" or "--help" or "-h" => Usage(Console.Out),
            _ => Fail($"moat: unknown command '{args[0]}'"),
        };
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        Usage(Console.Error);
        return 2;
    }

    private static int Usage(System.IO.TextWriter w)
    {
        w.WriteLine("usage: moat do [-t|--tty] [-T|--no-tty] [--root DIR] [--volume HOST:SANDBOX[:ro|rw]]... [--pids N] [--memory SIZE] [--cpus N] [--confine=full|gofer|none] [--strace] [--profile FILE] [--platform=systrap|ptrace] [--hostname NAME] [--network=none|host] [--] COMMAND [ARG...]");
        w.WriteLine("       moat bench [--quick] [--reps N] [--workloads A,B,...] [--compare NAME='PREFIX']... [--report DIR] [--profile] [--list]");
        w.WriteLine("       moat [--root DIR] [--log FILE] [--log-format json] create|start|run|state|kill|delete|exec|ps|list|features|spec ...   (runc's command line)");
        w.WriteLine("       moat gofer --root DIR --fd N   (started by moat itself)");
        return 0;
    }
}
