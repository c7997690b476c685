using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Moat.Abi;
using Moat.Cli.CommandLine;
using Moat.Cli.Diagnostics;
using Moat.Host;

namespace Moat.Cli.Oci;

/// <summary>
/// The runc command line, so that containerd's stock runc shim can run containers on Moat:
/// <c>moat [--root DIR] [--log FILE] [--log-format json] VERB ...</c>. Each container's Sentry is a
/// <c>moat oci-boot</c> process started by create; later verbs reach it through its control socket.
/// </summary>
internal static partial class RuntimeCommand
{
    private sealed record Globals(ContainerStore Store, OciLog Log, LogSettings Debug, DebugLog DebugLog)
    {
        /// <summary>--network: how a container with a network namespace path is networked (null: the default, sandbox).</summary>
        public string? Network { get; init; }

        /// <summary>A --debug line: to the debug log, or without one to --log at debug level (runc's --debug).</summary>
        public void Trace(string message)
        {
            DebugLog.Debug(message);
            if (Debug.Debug && Debug.Pattern == null)
            {
                Log.Write("debug", message);
            }
        }
    }

    public static int Run(string[] args)
    {
        ParsedArgs? globals = ArgParser.Parse(RuntimeFlags.Global, args, out string error);
        if (globals != null && (globals.Help || (globals.Arguments.Count > 0 && globals.Arguments[0] == "help" && globals.Arguments.Count == 1)))
        {
            return Program.Usage(Console.Out);
        }

        if ((globals != null && globals.Has("version")) || (globals == null && WantsVersion(args)))
        {
            return Program.Version();
        }

        string root = Path.GetFullPath(globals?.Get("root") ?? "/run/moat");
        var log = new OciLog(globals?.Get("log"), globals?.Get("log-format") == "json");
        if (globals == null)
        {
            log.Error($"moat: {error} (see 'moat --help')");
            return CommandLineResult.UsageError;
        }

        string verb = globals.Arguments[0];
        if (!RuntimeFlags.Verbs.TryGetValue(verb, out CommandSpec? spec))
        {
            log.Error($"moat: unknown command '{verb}' (see 'moat --help')");
            return CommandLineResult.UsageError;
        }

        ParsedArgs? f = ArgParser.Parse(spec, globals.Arguments.ToArray().AsSpan(1), out error);
        if (f == null)
        {
            log.Error($"moat {verb}: {error} (see 'moat {verb} --help')");
            return CommandLineResult.UsageError;
        }

        if (f.Help)
        {
            spec.WriteUsage(Console.Out);
            return 0;
        }

        string id = spec.MinArguments > 0 ? f.Arguments[0] : Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var debug = new LogSettings(globals.Get("debug-log"), globals.Has("debug"), id);
        string? debugError = null;
        using DebugLog? debugLog = debug.Pattern != null ? debug.Open(verb, out debugError) : DebugLog.None;
        if (debugLog == null)
        {
            return log.Error($"--debug-log: {debugError}");
        }

        if (globals.Get("network") is string network && network is not ("sandbox" or "host" or "none"))
        {
            return log.Error($"moat: unknown network '{network}' (available: sandbox, host, none)");
        }

        var g = new Globals(new ContainerStore(root), log, debug, debugLog) { Network = globals.Get("network") };
        g.Trace("moat " + string.Join(' ', args));
        try
        {
            int status = verb switch
            {
                "create" => Create(g, f),
                "start" => Start(g, f),
                "run" => RunContainer(g, f),
                "state" => State(g, f),
                "kill" => Kill(g, f),
                "delete" => Delete(g, f),
                "exec" => Exec(g, f),
                "ps" => Ps(g, f),
                "list" => List(g, f),
                "features" => Features(),
                "spec" => Spec(g, f),
                "pause" => Pause(g, f),
                "resume" => Resume(g, f),
                "events" => Events(g, f),
                "update" => Update(g, f),
                _ => log.Error($"{verb} is not supported by moat yet"),
            };
            g.Trace($"{verb} ends with status {status}");
            return status;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return log.Error($"{verb}: {LinuxError.Text(LinuxError.FromException(e))}");
        }
    }

    // --version among the global flags, even with no verb after it (runc --root DIR --version).
    private static bool WantsVersion(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a is "--version" or "-version" or "-v")
            {
                return true;
            }

            if (!a.StartsWith('-') || a == "--")
            {
                return false;
            }

            // A global flag's value is no verb.
            if (!a.Contains('=', StringComparison.Ordinal) && RuntimeFlags.Global.Find(a.TrimStart('-')) is { TakesValue: true })
            {
                i++;
            }
        }

        return false;
    }

    private static int Create(Globals g, ParsedArgs f)
    {
        int status = CreateSandbox(g, f, f.Arguments[0], out _);
        return status;
    }

    /// <summary>Starts the container's sandbox process, waits until init is loaded, records the state; 0 or a failure.</summary>
    private static int CreateSandbox(Globals g, ParsedArgs f, string id, out int pid, SafeFdHandle? ownConsole = null)
    {
        pid = 0;
        if (!ContainerStore.ValidId(id))
        {
            return g.Log.Error($"invalid container id format: {id}");
        }

        string bundle = BundleDir(f);
        OciSpec? spec = OciBundle.Load(bundle, out string error);
        SandboxPlan? plan = spec != null ? OciBundle.Plan(spec, bundle, out error) : null;
        if (spec == null || plan == null)
        {
            return g.Log.Error(error);
        }

        if (ownConsole == null && ConsoleError(plan.Process.Terminal, f.Get("console-socket")) is string consoleError)
        {
            return g.Log.Error(consoleError);
        }

        // A further container of a pod (the CRI annotations name its sandbox container) runs in that sandbox.
        string? sandboxId = PodSandboxId(spec.Annotations);
        if (sandboxId != null && (g.Store.Load(sandboxId, out _) is not { SandboxId: null } sandbox || g.Store.Status(sandbox) == "stopped"))
        {
            return g.Log.Error($"the pod's sandbox container {sandboxId} is not running");
        }

        string dir = g.Store.Dir(id);
        Directory.CreateDirectory(g.Store.Root);
        if (Directory.Exists(dir))
        {
            return g.Log.Error($"container with id exists: {id}");
        }

        Directory.CreateDirectory(dir);
        string? cgroup = null;
        if (sandboxId == null && !MakeCgroup(g, spec, id, out cgroup))
        {
            g.Store.Remove(id);
            return 1;
        }

        if (!OperatingSystem.IsWindows())
        {
            // The control socket inside starts processes in the container: only the runtime's user may reach it.
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        long r = HostSocket.SocketPair(HostSocket.SOCK_STREAM, out SafeFdHandle mine, out SafeFdHandle theirs);
        if (r < 0)
        {
            RemoveCgroup(cgroup);
            g.Store.Remove(id);
            return g.Log.Error("socketpair: " + Errno.FromValue((int)-r).Name);
        }

        using (mine)
        {
            var argv = sandboxId != null
                ? new List<string> { "oci-container", "--sandbox", g.Store.Dir(sandboxId), "--bundle", bundle }
                : new List<string> { "oci-boot", "--state", dir, "--bundle", bundle };
            argv.AddRange(sandboxId == null && g.Debug.Pattern == null ? [] : g.Debug.Arguments("id"));
            if (cgroup != null)
            {
                argv.AddRange(["--cgroup", cgroup]);
            }

            // A further container of a pod shares its sandbox's network.
            if (sandboxId == null && g.Network != null)
            {
                argv.AddRange(["--network", g.Network]);
            }

            if (g.Log.Path != null)
            {
                argv.AddRange(["--log", g.Log.Path, "--log-format", g.Log.Json ? "json" : "text"]);
            }

            string[] cmd = GoferProcess.SelfCommand([.. argv]);
            SafeFdHandle? console = null;
            if (ownConsole == null && f.Get("console-socket") is string socketPath && (console = HostConsole.Send(socketPath, out error)) == null)
            {
                theirs.Dispose();
                RemoveCgroup(cgroup);
                g.Store.Remove(id);
                return g.Log.Error(error);
            }

            using (theirs)
            using (console)
            {
                pid = HostSpawn.Spawn(cmd[0], cmd, ChildEnvironment(), WithConsole([(theirs.Fd, BootCommand.SyncFd)], ownConsole ?? console), []);
            }

            if (pid < 0)
            {
                RemoveCgroup(cgroup);
                g.Store.Remove(id);
                return g.Log.Error("cannot start the sandbox process: " + Errno.FromValue(-pid).Name);
            }

            string reply = ReadReply(mine);
            if (reply != "ready")
            {
                HostProcess.Kill(pid, Signal.SIGKILL);
                HostProcess.WaitPid(pid, out _, 0);
                RemoveCgroup(cgroup);
                g.Store.Remove(id);
                string why = reply.StartsWith("error ", StringComparison.Ordinal) ? reply[6..] : "the sandbox process ended before it was ready";
                return g.Log.Error($"moat create failed: {why}");
            }
        }

        var record = new ContainerRecord
        {
            Id = id,
            Bundle = bundle,
            Rootfs = plan.Rootfs,
            Pid = pid,
            PidStart = HostPid.StartTime(pid),
            Created = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            Annotations = spec.Annotations,
            SandboxId = sandboxId,
            Cgroup = cgroup,
        };
        g.Store.Save(record);
        if (f.Get("pid-file") is string pidFile)
        {
            string tmp = pidFile + ".tmp";
            File.WriteAllText(tmp, pid.ToString(CultureInfo.InvariantCulture));
            File.Move(tmp, pidFile, overwrite: true);
        }

        return 0;
    }

    // The CRI plugin's annotations of a pod's containers: the pause container is the "sandbox", and every
    // further "container" names its id.
    private const string ContainerTypeAnnotation = "io.kubernetes.cri.container-type";
    private const string SandboxIdAnnotation = "io.kubernetes.cri.sandbox-id";

    /// <summary>The id of the pod's sandbox container when the annotations make this a further container of a pod.</summary>
    internal static string? PodSandboxId(Dictionary<string, string>? annotations) =>
        annotations != null && annotations.TryGetValue(ContainerTypeAnnotation, out string? type) && type == "container" &&
        annotations.TryGetValue(SandboxIdAnnotation, out string? sandbox) && sandbox.Length > 0 ? sandbox : null;

    /// <summary>
    /// Where a container's requests go, and how they start: its own sandbox's control socket, or for a further
    /// container of a pod its pod's, each request prefixed with "in ID ".
    /// </summary>
    private static (string Dir, string Prefix) ControlOf(Globals g, ContainerRecord r) =>
        r.SandboxId != null ? (g.Store.Dir(r.SandboxId), "in " + r.Id + " ") : (g.Store.Dir(r.Id), string.Empty);

    private static string BundleDir(ParsedArgs f) => Path.GetFullPath(f.Get("bundle") ?? Environment.CurrentDirectory);

    // runc's rules: a terminal needs a console socket to send it over, and a console socket needs a terminal.
    private static string? ConsoleError(bool terminal, string? consoleSocket) =>
        terminal && consoleSocket == null ? "cannot allocate tty if runc will detach without setting console socket"
        : !terminal && consoleSocket != null ? "cannot use console socket if runc will not detach or allocate tty"
        : null;

    // The console's replica, when there is one, becomes the child's stdio.
    private static (int From, int To)[] WithConsole((int From, int To)[] dup2, SafeFdHandle? console) =>
        console == null ? dup2 : [.. dup2, (console.Fd, 0), (console.Fd, 1), (console.Fd, 2)];

    private static string ReadReply(SafeFdHandle sync)
    {
        var text = new StringBuilder();
        Span<byte> buffer = stackalloc byte[4096];
        while (true)
        {
            long n = HostSocket.Receive(sync.Fd, buffer, out int fd);
            if (fd >= 0)
            {
                HostFile.Close(fd);
            }

            if (n <= 0)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer[..(int)n]));
            if (text.ToString().Contains('\n', StringComparison.Ordinal))
            {
                break;
            }
        }

        return text.ToString().TrimEnd('\n');
    }

    private static string[] ChildEnvironment()
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            string key = (string)e.Key;
            // MOAT_PLATFORM chooses the platform for every sandbox, as it does for moat do (and MOAT_SYSTRAP_MAPPER
            // whether systrap stubs change mappings through their mapper thread).
            if (key.StartsWith("DOTNET_", StringComparison.Ordinal) || key is "PATH" or "HOME" or "MOAT_PLATFORM" or "MOAT_SYSTRAP_MAPPER")
            {
                env.Add($"{key}={e.Value}");
            }
        }

        return [.. env];
    }

    /// <summary>Loads the one container a verb names, or logs why not.</summary>
    private static ContainerRecord? One(Globals g, ParsedArgs f, out int status)
    {
        status = 1;
        ContainerRecord? r = g.Store.Load(f.Arguments[0], out string why);
        if (r == null)
        {
            g.Log.Error(why);
        }

        return r;
    }

    private static int Start(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        string state = g.Store.Status(r);
        if (state != "created")
        {
            return g.Log.Error(state switch
            {
                "stopped" => "cannot start a container that has stopped",
                "running" => "cannot start an already running container",
                _ => $"cannot start a container in the {state} state",
            });
        }

        (string dir, string prefix) = ControlOf(g, r);
        string? reply = ControlChannel.Request(dir, prefix + "start");
        if (reply == null && r.SandboxId == null && g.Store.StartedBeforeExit(r.Id))
        {
            reply = "ok"; // init ran and ended before its sandbox could answer
        }

        if (reply == "ok" && r.SandboxId != null)
        {
            // The pod's sandbox writes its marks in its own directory only.
            File.WriteAllText(Path.Combine(g.Store.Dir(r.Id), ContainerStore.StartedMark), string.Empty);
        }

        return reply == "ok" ? 0 : g.Log.Error("cannot start the container: " + (reply ?? "the sandbox does not answer"));
    }

    private static int State(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        Console.Out.WriteLine(JsonSerializer.Serialize(g.Store.State(r), OciJson.Default.OciState));
        return 0;
    }

    private static int Kill(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        string sigName = f.Arguments.Count > 1 ? f.Arguments[1] : "SIGTERM";
        int sig = OciNames.Signal(sigName);
        if (sig < 0)
        {
            return g.Log.Error($"unknown signal \"{sigName}\"");
        }

        bool all = f.Has("all");
        if (g.Store.Status(r) == "stopped")
        {
            // As runc: signalling every process of a stopped container is no error (there are none).
            return all ? 0 : g.Log.Error("container not running");
        }

        return SignalContainer(g, r, sig, all) ? 0 : g.Log.Error("container not running");
    }

    private static bool SignalContainer(Globals g, ContainerRecord r, int sig, bool all)
    {
        (string dir, string prefix) = ControlOf(g, r);
        string? reply = ControlChannel.Request(dir, $"{prefix}kill {sig.ToString(CultureInfo.InvariantCulture)}{(all ? " all" : string.Empty)}");
        if (reply == "ok")
        {
            return true;
        }

        // A sandbox that no longer answers still ends with SIGKILL.
        return sig == Signal.SIGKILL && HostPid.IsAlive(r.Pid, r.PidStart) && HostProcess.Kill(r.Pid, Signal.SIGKILL) == 0;
    }

    private static int Delete(Globals g, ParsedArgs f)
    {
        bool force = f.Has("force");
        string id = f.Arguments[0];
        ContainerRecord? r = g.Store.Load(id, out string why);
        if (r == null)
        {
            // A directory without state (a create that died half-way) goes too; --force makes a missing
            // container a success, as the shim's cleanup relies on.
            if (ContainerStore.ValidId(id))
            {
                g.Store.Remove(id);
            }

            return force ? 0 : g.Log.Error(why);
        }

        string state = g.Store.Status(r);
        if (state is "running" or "paused" && !force)
        {
            return g.Log.Error($"cannot delete container {id} that is not stopped: {state}");
        }

        if (state != "stopped")
        {
            SignalContainer(g, r, Signal.SIGKILL, all: true);
            HostProcess.Kill(r.Pid, Signal.SIGKILL);
            for (int i = 0; i < 200 && HostPid.IsAlive(r.Pid, r.PidStart); i++)
            {
                System.Threading.Thread.Sleep(10);
            }
        }

        RemoveCgroup(r.Cgroup);
        g.Store.Remove(id);
        return 0;
    }

    private static int Ps(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        var pids = new List<int>();
        if (g.Store.Status(r) != "stopped")
        {
            (string dir, string prefix) = ControlOf(g, r);
            string? reply = ControlChannel.Request(dir, prefix + "ps");
            if (reply != null && reply.StartsWith("ok", StringComparison.Ordinal))
            {
                foreach (string p in reply[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    pids.Add(int.Parse(p, CultureInfo.InvariantCulture));
                }

                // The first is the sandbox process as the Sentry sees itself: a jailed Sentry is PID 1 of its
                // own namespace. The host knows it as the container's pid.
                if (pids.Count > 0)
                {
                    pids[0] = r.Pid;
                }
            }
            else
            {
                pids.Add(r.Pid);
            }
        }

        if (f.Get("format") == "json")
        {
            // One line, as runc prints it.
            Console.Out.WriteLine("[" + string.Join(',', pids) + "]");
        }
        else
        {
            return PsTable(g, pids, f.Arguments.Count > 1 ? [.. f.Arguments.Skip(1)] : ["-ef"]);
        }

        return 0;
    }

    private static int List(Globals g, ParsedArgs f)
    {
        var states = new List<OciState>();
        if (Directory.Exists(g.Store.Root))
        {
            var ids = new List<string>();
            foreach (string d in Directory.GetDirectories(g.Store.Root))
            {
                ids.Add(Path.GetFileName(d));
            }

            ids.Sort(StringComparer.Ordinal);
            foreach (string id in ids)
            {
                if (g.Store.Load(id, out _) is ContainerRecord r)
                {
                    states.Add(g.Store.State(r));
                }
            }
        }

        if (f.Get("format") == "json")
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(states, OciJson.Default.ListOciState));
            return 0;
        }

        if (f.Has("quiet"))
        {
            foreach (OciState s in states)
            {
                Console.Out.WriteLine(s.Id);
            }

            return 0;
        }

        Console.Out.WriteLine($"{"ID",-12} {"PID",-8} {"STATUS",-10} {"BUNDLE",-40} {"CREATED",-30} OWNER");
        foreach (OciState s in states)
        {
            Console.Out.WriteLine($"{s.Id,-12} {s.Pid,-8} {s.Status,-10} {s.Bundle,-40} {s.Created,-30} {s.Owner}");
        }

        return 0;
    }
}
