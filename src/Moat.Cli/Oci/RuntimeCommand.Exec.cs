using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Moat.Abi;
using Moat.Cli.CommandLine;
using Moat.Host;

namespace Moat.Cli.Oci;

internal static partial class RuntimeCommand
{
    // run: create, start, and (unless --detach) wait for the container and delete it.
    private static int RunContainer(Globals g, ParsedArgs f)
    {
        int pid;
        string id = f.Arguments[0];
        bool detach = f.Has("detach");
        SafeFdHandle? master = null, replica = null;
        if (!detach && f.Get("console-socket") == null && OciBundle.Load(BundleDir(f), out _)?.Process?.Terminal == true)
        {
            // In the foreground with a terminal: this process's stdio is the console (ConsoleRelay).
            long r = HostPty.OpenRaw(out master, out replica, out _);
            if (r < 0)
            {
                return g.Log.Error("cannot open a console pty: " + Errno.FromValue((int)-r).Name);
            }
        }

        int status;
        using (replica)
        {
            status = CreateSandbox(g, f, id, out int created, replica);
            pid = created;
        }

        if (status != 0)
        {
            master?.Dispose();
            return status;
        }

        string? reply = ControlChannel.Request(g.Store.Dir(id), "start");
        if (reply != "ok" && !(reply == null && g.Store.StartedBeforeExit(id)))
        {
            HostProcess.Kill(pid, Signal.SIGKILL);
            HostProcess.WaitPid(pid, out _, 0);
            RemoveContainer(g, id);
            master?.Dispose();
            return g.Log.Error("cannot start the container: " + (reply ?? "the sandbox does not answer"));
        }

        if (detach)
        {
            return 0;
        }

        int ws = WaitRelaying(master, pid);

        RemoveContainer(g, id);
        return HostProcess.WIfSignaled(ws) ? 128 + HostProcess.WTermSig(ws) : HostProcess.WExitStatus(ws);
    }

    // exec: a new process in the running sandbox. Its host stand-in is a `moat oci-exec-proxy` child,
    // which holds the process's stdio, relays signals to it and exits with its status.
    private static int Exec(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }


        string state = g.Store.Status(r);
        if (state == "stopped")
        {
            return g.Log.Error("cannot exec in a stopped container");
        }

        if (state == "paused" && !f.Has("ignore-paused"))
        {
            // runc's words and status: the process would only be frozen with the rest.
            g.Log.Error("exec failed: cannot exec in a paused container (use --ignore-paused to override)");
            return 255;
        }

        string dir = g.Store.Dir(r.Id);
        string? processFile = f.Get("process");
        OciProcess? process;
        if (processFile != null)
        {
            process = OciBundle.LoadProcess(processFile, out string error);
            if (process == null)
            {
                return g.Log.Error(error);
            }
        }
        else
        {
            // exec ID CMD ARGS...: the process is config.json's with these args.
            if (f.Arguments.Count < 2)
            {
                return g.Log.Error("exec: no process given (--process FILE or a command)");
            }

            OciSpec? spec = OciBundle.Load(r.Bundle, out string error);
            if (spec?.Process == null)
            {
                return g.Log.Error(spec == null ? error : "config.json has no process");
            }

            spec.Process.Args = f.Arguments.GetRange(1, f.Arguments.Count - 1);
            spec.Process.Terminal = f.Has("tty");
            if (f.Get("cwd") is string cwd)
            {
                spec.Process.Cwd = cwd;
            }

            process = spec.Process;
        }

        // HOME from the container's passwd when the process has none, as runc exec does too.
        process.Env = PasswdHome.WithDefault(process.Env, r.Rootfs, process.User?.Uid ?? 0);
        string temp = Path.Combine(dir, "exec-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".json");
        File.WriteAllText(temp, JsonSerializer.Serialize(process, OciJson.Default.OciProcess));

        try
        {
            return StartExecProxy(g, f, r, temp);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static int StartExecProxy(Globals g, ParsedArgs f, ContainerRecord container, string processFile)
    {
        (string dir, _) = ControlOf(g, container);
        long r = HostSocket.SocketPair(HostSocket.SOCK_STREAM, out SafeFdHandle mine, out SafeFdHandle theirs);
        if (r < 0)
        {
            return g.Log.Error("socketpair: " + Errno.FromValue((int)-r).Name);
        }

        int pid;
        SafeFdHandle? master = null;
        using (mine)
        {
            string[] cmd = GoferProcess.SelfCommand(container.SandboxId != null
                ? ["oci-exec-proxy", "--state", dir, "--process", processFile, "--container", container.Id]
                : ["oci-exec-proxy", "--state", dir, "--process", processFile]);
            OciProcess? process = null;
            try
            {
                process = JsonSerializer.Deserialize(File.ReadAllText(processFile), OciJson.Default.OciProcess);
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                // The proxy reads it again and reports what is wrong.
            }

            SafeFdHandle? console = null;
            bool detach = f.Has("detach");
            bool terminal = process?.Terminal ?? false;
            if (terminal && !detach && f.Get("console-socket") == null)
            {
                // In the foreground: this process's stdio is the console (ConsoleRelay), as runc exec -t.
                long pr = HostPty.OpenRaw(out master, out console, out _);
                if (pr < 0)
                {
                    theirs.Dispose();
                    return g.Log.Error("cannot open a console pty: " + Errno.FromValue((int)-pr).Name);
                }
            }
            else if (ConsoleError(terminal, f.Get("console-socket")) is string consoleError)
            {
                theirs.Dispose();
                return g.Log.Error(consoleError);
            }

            if (master == null && f.Get("console-socket") is string socketPath && (console = HostConsole.Send(socketPath, out string error)) == null)
            {
                theirs.Dispose();
                return g.Log.Error(error);
            }

            using (theirs)
            using (console)
            {
                pid = HostSpawn.Spawn(cmd[0], cmd, ChildEnvironment(), WithConsole([(theirs.Fd, BootCommand.SyncFd)], console), []);
            }

            if (pid < 0)
            {
                master?.Dispose();
                return g.Log.Error("cannot start the exec process: " + Errno.FromValue(-pid).Name);
            }

            string reply = ReadReply(mine);
            if (reply != "ready")
            {
                master?.Dispose();
                HostProcess.WaitPid(pid, out _, 0);
                string why = reply.StartsWith("error ", StringComparison.Ordinal) ? reply[6..] : "the exec process ended before it was ready";
                return g.Log.Error($"moat exec failed: {why}");
            }
        }

        if (f.Get("pid-file") is string pidFile)
        {
            string tmp = pidFile + ".tmp";
            File.WriteAllText(tmp, pid.ToString(CultureInfo.InvariantCulture));
            File.Move(tmp, pidFile, overwrite: true);
        }

        if (f.Has("detach"))
        {
            return 0;
        }

        int ws = WaitRelaying(master, pid);

        return HostProcess.WIfSignaled(ws) ? 128 + HostProcess.WTermSig(ws) : HostProcess.WExitStatus(ws);
    }

    private static int Features()
    {
        Console.Out.WriteLine("""
            {
                "ociVersionMin": "1.0.0",
                "ociVersionMax": "1.0.2",
                "hooks": [],
                "mountOptions": ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "mode", "size"],
                "linux": {
                    "namespaces": ["pid", "mount", "uts", "ipc", "network", "user", "cgroup"],
                    "capabilities": [],
                    "cgroup": { "v1": false, "v2": false, "systemd": false, "systemdUser": false },
                    "seccomp": { "enabled": false },
                    "apparmor": { "enabled": false },
                    "selinux": { "enabled": false }
                },
                "annotations": { "org.opencontainers.runc.version": "moat" }
            }
            """);
        return 0;
    }

    // spec: a starting config.json in the bundle directory, as `runc spec` writes one.
    private static int Spec(Globals g, ParsedArgs f)
    {
        string path = Path.Combine(f.Get("bundle") ?? ".", "config.json");
        if (File.Exists(path))
        {
            return g.Log.Error("File config.json exists. Remove it first.");
        }

        try
        {
            File.WriteAllText(path, DefaultSpec);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return g.Log.Error(Diagnostics.LinuxError.Describe("open", Path.GetFullPath(path), e));
        }

        return 0;
    }

    // Waits for pid's end (its wait status); with the caller's terminal as the console (run and exec without a
    // console socket), relays between that terminal and the console's master meanwhile.
    private static int WaitRelaying(SafeFdHandle? master, int pid)
    {
        if (master != null && !OperatingSystem.IsWindows())
        {
            using (master)
            {
                return ConsoleRelay.Run(master, pid);
            }
        }

        HostProcess.WaitPid(pid, out int ws, 0);
        return ws;
    }
}
