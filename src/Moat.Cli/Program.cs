using System;
using System.Reflection;

namespace Moat.Cli;

/// <summary>The moat command: one executable for the sandbox and its gofer, like runsc.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Usage(Console.Error);
            return CommandLine.CommandLineResult.UsageError;
        }

        string[] rest = args[1..];
        switch (args[0])
        {
            case "do": return DoCommand.Run(rest);
            case "oci-boot": return Oci.BootCommand.Run(rest);
            case "oci-exec-proxy": return Oci.ExecProxyCommand.Run(rest);
            case "oci-container": return Oci.PodContainerCommand.Run(rest);
            case "gofer": return GoferCommand.Run(rest);
            case "bench": return BenchCommand.Run(rest);
            case "version" or "--version" or "-v" or "-version" when rest.Length == 0: return Version();
            case "help" when rest.Length == 0: return Usage(Console.Out);
            case "help": return Main([rest[0], "--help"]);
        }

        // Everything else is runc's command line (global flags first, then an OCI verb): containerd's shim
        // calls moat as runc. It also answers -h, --help, -v and --version.
        return Oci.RuntimeCommand.Run(args);
    }

    /// <summary>Prints the overview of every command; 0.</summary>
    internal static int Usage(System.IO.TextWriter w)
    {
        w.WriteLine("usage: moat do [OPTION]... [--] COMMAND [ARG]...      run COMMAND in a new sandbox");
        w.WriteLine("       moat [GLOBAL OPTION]... VERB [OPTION]... [ARG]...  runc's command line: create, start, run, state, kill, delete, exec, ps, list, features, spec");
        w.WriteLine("       moat bench [OPTION]...                           measure Moat against native (and other runtimes)");
        w.WriteLine("       moat version                                     print the version and the commit");
        w.WriteLine();
        w.WriteLine("'moat COMMAND --help' (or 'moat help COMMAND') describes each command's options.");
        w.WriteLine();
        w.WriteLine("global options (before an OCI verb):");
        foreach (CommandLine.OptionSpec o in Oci.RuntimeFlags.Global.Options)
        {
            string names = (o.Short != '\0' ? $"-{o.Short}, " : "    ") + "--" + o.Name + (o.TakesValue ? " " + o.Value : string.Empty);
            w.WriteLine($"  {names,-32} {o.Help}");
        }

        w.WriteLine($"  {"-h, --help",-32} print this help and exit");
        return 0;
    }

    /// <summary>Prints the version and the commit it was built from, as runc does; 0.</summary>
    internal static int Version()
    {
        string info = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        int plus = info.IndexOf('+', StringComparison.Ordinal);
        Console.Out.WriteLine("moat version " + (plus < 0 ? info : info[..plus]));
        Console.Out.WriteLine("commit: " + (plus < 0 ? "unknown (not built from a git checkout)" : info[(plus + 1)..]));
        Console.Out.WriteLine("spec: 1.0.2");
        return 0;
    }
}
