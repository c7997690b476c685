using System;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Moat.Abi;
using Moat.Cli.CommandLine;
using Moat.Host;

namespace Moat.Cli.Oci;

/// <summary>
/// <c>moat oci-exec-proxy</c>: the host process that stands for an exec'd process (the pid the shim
/// waits on). It hands its stdio to the sandbox, relays the signals it gets, and exits with the
/// process's status. It tells exec over fd 3 whether the process started ("ready" or "error MESSAGE"). With
/// <c>--container ID</c> the process runs in that further container of the pod (its root, its mounts).
/// </summary>
internal static class ExecProxyCommand
{
    private static readonly int[] s_relayed = [Signal.SIGHUP, Signal.SIGINT, Signal.SIGQUIT, Signal.SIGUSR1, Signal.SIGUSR2, Signal.SIGTERM, Signal.SIGWINCH];

    public static readonly CommandSpec Spec = new()
    {
        Name = "oci-exec-proxy",
        Summary = "The host process that stands for a process exec'd in a container (started by moat exec, not by hand).",
        MaxArguments = 0,
        Options =
        [
            OptionSpec.With("state", "DIR", "the container's state directory"),
            OptionSpec.With("process", "FILE", "the process, as OCI process JSON"),
            OptionSpec.With("container", "ID", "a further container of the pod whose sandbox --state names"),
        ],
    };

    public static int Run(string[] args)
    {
        ParsedArgs? p = CommandLineResult.Parse(Spec, args, out int parseStatus);
        if (p == null)
        {
            return parseStatus;
        }

        string? stateDir = p.Get("state");
        string? processFile = p.Get("process");
        var sync = new SafeFdHandle(BootCommand.SyncFd);
        if (stateDir == null || processFile == null)
        {
            return Report(sync, "error moat oci-exec-proxy: --state and --process are required");
        }

        byte[] json;
        try
        {
            json = File.ReadAllBytes(processFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Report(sync, "error process file: " + Diagnostics.LinuxError.Describe("open", processFile, e));
        }

        Socket? conn = ControlChannel.Connect(stateDir);
        if (conn == null)
        {
            return Report(sync, "error the container's sandbox does not answer");
        }

        string? reply;
        try
        {
            string prefix = p.Get("container") is string container ? "in " + container + " " : string.Empty;
            ControlChannel.WriteLine(conn, prefix + "exec " + json.Length.ToString(CultureInfo.InvariantCulture) + " " + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            int fd = (int)conn.Handle;
            for (int stdio = 0; stdio <= 2; stdio++)
            {
                bool open = HostFile.Fcntl(stdio, HostFile.F_GETFL, 0) >= 0;
                HostSocket.Send(fd, [(byte)stdio], open ? stdio : -1);
            }

            conn.Send(json);
            reply = ControlChannel.ReadLine(conn);
        }
        catch (SocketException e)
        {
            reply = "error " + e.Message;
        }

        if (reply == null || !reply.StartsWith("ok ", StringComparison.Ordinal))
        {
            return Report(sync, reply != null && reply.StartsWith("error ", StringComparison.Ordinal) ? reply : "error the sandbox ended the exec");
        }

        // The sandbox holds the stdio now; this process keeps its copies only as the shim's view of them.
        Report(sync, "ready");
        sync.Dispose();
        return RelayUntilExit(conn);
    }

    /// <summary>
    /// Relays the signals this process gets over <paramref name="conn"/> ("signal S") until the sandbox says
    /// "exit STATUS"; returns that status. A sandbox gone first ends this process by SIGKILL, as a pid
    /// namespace's last members are killed.
    /// </summary>
    internal static int RelayUntilExit(Socket conn)
    {
        var registrations = new System.Collections.Generic.List<PosixSignalRegistration>();
        foreach (int sig in s_relayed)
        {
            registrations.Add(PosixSignalRegistration.Create((PosixSignal)sig, ctx =>
            {
                ctx.Cancel = true;
                try
                {
                    ControlChannel.WriteLine(conn, "signal " + sig.ToString(CultureInfo.InvariantCulture));
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }));
        }

        while (true)
        {
            string? line;
            try
            {
                line = ControlChannel.ReadLine(conn);
            }
            catch (SocketException)
            {
                line = null;
            }

            if (line == null)
            {
                // The sandbox is gone, and the process with it: killed, as a pid namespace's last members are.
                HostProcess.Kill(Environment.ProcessId, Signal.SIGKILL);
                return 128 + Signal.SIGKILL;
            }

            if (line.StartsWith("exit ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int status))
            {
                return status;
            }
        }
    }

    private static int Report(SafeFdHandle sync, string line)
    {
        if (!sync.IsClosed)
        {
            HostSocket.Send(sync.Fd, Encoding.UTF8.GetBytes(line + "\n"), -1);
        }

        return 1;
    }
}
