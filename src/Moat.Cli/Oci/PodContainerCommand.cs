using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Moat.Cli.CommandLine;
using Moat.Cli.Diagnostics;
using Moat.Host;

namespace Moat.Cli.Oci;

/// <summary>
/// <c>moat oci-container</c>: the process <c>create</c> leaves behind for a further container of a pod (its
/// config.json names the pod's sandbox container by the CRI annotations). Its pid is the container's pid and
/// its exit status the container's init's, as <c>oci-boot</c>'s is for a sandbox. It starts the container's
/// gofer (root 1 the rootfs, then the binds), hands the sandbox its stdio, the gofer's socket and the planned
/// container (<see cref="PodContainerRequest"/>) over the sandbox's control socket, then relays signals until
/// init ends. It tells create over fd 3 whether init loaded ("ready" or "error MESSAGE").
/// </summary>
internal static class PodContainerCommand
{
    public static readonly CommandSpec Spec = new()
    {
        Name = "oci-container",
        Summary = "The process create leaves behind for a further container of a pod (started by moat create, not by hand).",
        MaxArguments = 0,
        Options =
        [
            OptionSpec.With("sandbox", "DIR", "the state directory of the pod's sandbox container"),
            OptionSpec.With("bundle", "DIR", "the container's bundle"),
            OptionSpec.With("id", "ID", "the container's id"),
            OptionSpec.With("log", "FILE", "runc's --log"),
            OptionSpec.With("log-format", "text|json", "runc's --log-format"),
            OptionSpec.Switch("debug", "log more"),
            OptionSpec.With("debug-log", "PATH", "the debug log (a file, or a directory for ID.container.log and ID.gofer.log)"),
        ],
    };

    public static int Run(string[] args)
    {
        // Whatever the caller left open stays here: not in the gofer.
        HostFile.CloseOnExecFrom(BootCommand.SyncFd);
        ParsedArgs? p = CommandLineResult.Parse(Spec, args, out int parseStatus);
        if (p == null)
        {
            return parseStatus;
        }

        using var sync = new SafeFdHandle(BootCommand.SyncFd);
        if (p.Get("sandbox") is not string sandboxDir || p.Get("bundle") is not string bundle || p.Get("id") is not string id)
        {
            return Report(sync, "error moat oci-container: --sandbox, --bundle and --id are required");
        }

        var logSettings = new LogSettings(p.Get("debug-log"), p.Has("debug"), id);
        using DebugLog? debugLog = logSettings.Open("container", out string? debugError);
        if (debugLog == null)
        {
            return Report(sync, "error --debug-log: " + debugError);
        }

        OciSpec? spec = OciBundle.Load(bundle, out string error);
        SandboxPlan? plan = spec != null ? OciBundle.Plan(spec, bundle, out error) : null;
        if (spec == null || plan == null)
        {
            return Report(sync, "error " + error);
        }

        // What the pod's sandbox decides for all its containers, and what the Sentry does not provide, is said once here.
        var log = new OciLog(p.Get("log"), p.Get("log-format") == "json");
        if (plan.MemoryLimit != 0 || plan.MaxTasks != 0 || plan.CpuQuota.Quota != 0 || plan.CpuWeight != 0)
        {
            log.Write("warning", "linux.resources memory, pids and cpu limits of a pod's further container are not applied: the pod's limits are its sandbox container's");
        }

        if (plan.NetworkNamespace != null)
        {
            log.Write("warning", $"linux.namespaces: the network namespace at {plan.NetworkNamespace} is not joined; the container shares its pod's network");
        }

        foreach (string m in plan.Unprovided)
        {
            log.Write("warning", $"mount {m}: moat does not provide this file system yet; the path shows the root's directory");
        }

        foreach (string setting in plan.Ignored)
        {
            log.Write("warning", setting);
        }

        // A pid path naming the pod's sandbox (the CRI's shareProcessNamespace) joins the pod's PID namespace;
        // without one the container gets a namespace of its own, its init pid 1 there, as under runc.
        bool sharePid = false;
        if (plan.PidNamespace != null)
        {
            string podDir = System.IO.Path.GetFullPath(sandboxDir).TrimEnd('/');
            ContainerRecord? pod = new ContainerStore(System.IO.Path.GetDirectoryName(podDir) ?? "/").Load(System.IO.Path.GetFileName(podDir), out _);
            sharePid = pod != null && plan.PidNamespace == $"/proc/{pod.Pid}/ns/pid";
            if (!sharePid)
            {
                log.Write("warning", $"linux.namespaces: the pid namespace at {plan.PidNamespace} is not the pod sandbox's; the container has its own");
            }
        }

        // The gofer's volume 1 is the rootfs (the container's "/"), then the binds.
        var request = new PodContainerRequest { Id = id, Rootfs = plan.Rootfs, Spec = spec, SharePodPidNamespace = sharePid };
        var volumes = new List<Moat.Sentry.BindMount> { new(plan.Rootfs, "/", plan.RootReadonly) };
        foreach (BindMount b in plan.Binds)
        {
            Moat.Sentry.BindMount? v = Moat.Sentry.BindMount.Create(b.Source, b.Destination, b.ReadOnly, out string? bindError);
            if (v == null)
            {
                return Report(sync, $"error bind mount of {b.Source} on {b.Destination}: {bindError}");
            }

            volumes.Add(v);
            request.Binds.Add(new PodMount { Source = v.HostPath, Destination = v.SandboxPath, ReadOnly = v.ReadOnly, IsFile = v.IsFile, Options = [.. b.Options] });
        }

        foreach (Moat.Sentry.TmpfsMount t in plan.Tmpfs)
        {
            request.Tmpfs.Add(new PodMount { Destination = t.SandboxPath, Options = [.. t.Options] });
        }

        using GoferProcess? gofer = GoferProcess.Start(plan.Rootfs, volumes, confine: true, logSettings, out string? goferError);
        if (gofer == null)
        {
            return Report(sync, "error cannot start the gofer: " + goferError);
        }

        gofer.Notices = debugLog.Enabled ? debugLog : System.IO.TextWriter.Null;
        using Socket? conn = ControlChannel.Connect(sandboxDir);
        if (conn == null)
        {
            return Report(sync, "error the pod's sandbox does not answer");
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(request, OciJson.Default.PodContainerRequest);
        string? reply;
        try
        {
            ControlChannel.WriteLine(conn, "container " + json.Length.ToString(CultureInfo.InvariantCulture) + " " + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            int fd = (int)conn.Handle;
            for (int stdio = 0; stdio <= 2; stdio++)
            {
                bool open = HostFile.Fcntl(stdio, HostFile.F_GETFL, 0) >= 0;
                HostSocket.Send(fd, [(byte)stdio], open ? stdio : -1);
            }

            HostSocket.Send(fd, [3], gofer.Client.Socket.Fd);
            conn.Send(json);
            reply = ControlChannel.ReadLine(conn);
        }
        catch (SocketException e)
        {
            reply = "error " + e.Message;
        }

        if (reply == null || !reply.StartsWith("ok ", StringComparison.Ordinal))
        {
            return Report(sync, reply != null && reply.StartsWith("error ", StringComparison.Ordinal) ? reply : "error the sandbox refused the container");
        }

        debugLog.Debug($"the container {id} is process {reply[3..]} of the pod's sandbox");
        Report(sync, "ready");
        sync.Dispose();
        int status = ExecProxyCommand.RelayUntilExit(conn);
        debugLog.Debug($"the container's init ended with status {status}");
        return status;
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
