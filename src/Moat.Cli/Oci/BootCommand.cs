using System;
using System.Collections.Generic;
using System.Text;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli.Oci;

/// <summary>
/// <c>moat oci-boot</c>: the process <c>create</c> leaves behind, the container's Sentry. Its pid is the
/// container's pid and its exit status the container's. It tells create over fd 3 whether init loaded
/// ("ready" or "error MESSAGE"), then holds init until <c>start</c>.
/// </summary>
internal static class BootCommand
{
    public const int SyncFd = 3;

    public static int Run(string[] args)
    {
        string? stateDir = null;
        string? bundle = null;
        string? logPath = null;
        bool json = false;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--state": stateDir = args[i + 1]; break;
                case "--bundle": bundle = args[i + 1]; break;
                case "--log": logPath = args[i + 1]; break;
                case "--log-format": json = args[i + 1] == "json"; break;
            }
        }

        using var sync = new SafeFdHandle(SyncFd);
        if (stateDir == null || bundle == null)
        {
            return Report(sync, "error moat oci-boot: --state and --bundle are required");
        }

        var log = new OciLog(logPath, json);
        OciSpec? spec = OciBundle.Load(bundle, out string error);
        SandboxPlan? plan = spec != null ? OciBundle.Plan(spec, bundle, out error) : null;
        if (plan == null)
        {
            return Report(sync, "error " + error);
        }

        var volumes = new List<Moat.Sentry.BindMount>();
        foreach (BindMount b in plan.Binds)
        {
            Moat.Sentry.BindMount? v = Moat.Sentry.BindMount.Create(b.Source, b.Destination, b.ReadOnly, out string? bindError);
            if (v == null)
            {
                return Report(sync, $"error bind mount of {b.Source} on {b.Destination}: {bindError}");
            }

            volumes.Add(v);
        }

        using GoferProcess? gofer = GoferProcess.Start(plan.Rootfs, volumes, confine: true, out string? goferError);
        if (gofer == null)
        {
            return Report(sync, "error cannot start the gofer: " + goferError);
        }

        SandboxServer server;
        try
        {
            server = new SandboxServer(stateDir, log);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or System.IO.IOException)
        {
            return Report(sync, "error cannot listen on the control socket: " + e.Message);
        }

        foreach (string m in plan.Unprovided)
        {
            log.Write("warning", $"mount {m}: moat does not provide this file system yet; the path shows the root's directory");
        }

        var sentryLog = new LineLogWriter();
        bool ready = false;
        var options = new SandboxOptions
        {
            Argv = plan.Process.Argv,
            Environment = plan.Process.Environment,
            WorkingDirectory = plan.Process.WorkingDirectory,
            Identity = plan.Process.Identity,
            Rlimits = plan.Process.Rlimits,
            NoNewPrivileges = plan.Process.NoNewPrivileges,
            Terminal = plan.Process.Terminal, // create put the console's replica on fds 0-2
            Hostname = plan.Hostname,
            TmpfsMounts = plan.Tmpfs,
            DefaultTmpfs = false,
            RootReadOnly = plan.RootReadonly,
            BindMounts = volumes,
            BeforeStart = control =>
            {
                // The control first: a start may come as soon as create has heard "ready".
                server.Attach(control);
                ready = true;
                sentryLog.SendTo(log);
                Report(sync, "ready");
                sync.Dispose();
                return server.WaitForStart();
            },
        };
        int status = Sandbox.Run(options, gofer.Client, sentryLog);
        if (!ready)
        {
            string kept = sentryLog.Kept;
            Report(sync, "error " + (kept.Length > 0 ? kept.Replace('\n', ' ') : $"the sandbox ended with status {status}"));
        }

        return status;
    }

    private static int Report(SafeFdHandle sync, string line)
    {
        if (sync.IsClosed)
        {
            return 1;
        }

        HostSocket.Send(sync.Fd, Encoding.UTF8.GetBytes(line + "\n"), -1);
        return 1;
    }
}
