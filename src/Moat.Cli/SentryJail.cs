using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Cli.Diagnostics;
using Moat.Host;

namespace Moat.Cli;

/// <summary>
/// <c>moat do --confine=full</c>: the Sentry runs as PID 1 of fresh user, mount, PID, IPC, UTS and cgroup
/// namespaces (and network, unless <c>--network=host</c>), in a root that holds nothing but a procfs of its
/// own processes. The invoking process stays outside as a small parent: it starts the gofer (so no process
/// of the Sentry's PID namespace ever sees the host's file tree), spawns this executable again through the
/// namespace launcher, forwards the signals sent to it, and exits with the Sentry's status.
/// </summary>
internal static class SentryJail
{
    /// <summary>The fd at which the jailed Sentry finds its gofer socket.</summary>
    public const int GoferFd = 3;

    /// <summary>The fd at which the jailed Sentry finds its <c>--profile</c> file, opened outside.</summary>
    public const int ProfileFd = 5; // 4 is the launcher's handshake socket until it closes it

    /// <summary>The fd on which the jailed Sentry reports the program's exit status (<see cref="ReportStatus"/>).</summary>
    public const int StatusFd = 6;

    /// <summary>The fd at which the jailed Sentry finds --network=sandbox's TAP device, opened outside.</summary>
    public const int NetFd = 7;

    /// <summary>The hidden option that tells <c>moat do</c> it is the jailed Sentry.</summary>
    public const string InsideOption = "--jailed-sentry";

    /// <summary>The capabilities the Sentry keeps, inside its user namespace.</summary>
    public const ulong KeptCapabilities = (1UL << HostCapabilities.CAP_CHOWN) | (1UL << HostCapabilities.CAP_FOWNER) | (1UL << HostCapabilities.CAP_FSETID);

    private static readonly int[] s_forwarded = [Signal.SIGINT, Signal.SIGTERM, Signal.SIGHUP, Signal.SIGQUIT];

    /// <summary>
    /// Outside: starts the jailed Sentry with <paramref name="args"/> (the original <c>moat do</c> arguments),
    /// handing it the gofer socket, the profile file, a socket on which it reports the program's status and
    /// any <paramref name="stdio"/> in place of this process's fds 0-2 (a pty under <c>moat do</c> on a terminal),
    /// and waits for it. Returns the program's status; when the gofer or the Sentry itself dies, says so in
    /// one line and returns <see cref="SandboxFailure.ExitStatus"/>.
    /// </summary>
    public static int RunOutside(string[] args, GoferProcess gofer, string? profilePath, bool hostNetwork, LogSettings logSettings, DebugLog log, (int From, int To)[]? stdio = null)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle? profile = null;
        if (profilePath != null)
        {
            try
            {
                profile = System.IO.File.OpenHandle(profilePath, System.IO.FileMode.Create, System.IO.FileAccess.Write);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"moat do: --profile: {LinuxError.Describe("open", profilePath, e)}");
                return 1;
            }
        }

        long r = HostSocket.SocketPair(HostSocket.SOCK_SEQPACKET, out SafeFdHandle statusMine, out SafeFdHandle statusTheirs);
        if (r < 0)
        {
            Console.Error.WriteLine($"moat: socketpair: {LinuxError.Text(Errno.FromValue((int)-r))}");
            return 1;
        }

        using (statusMine)
        using (profile)
        {
            var fds = new List<(int From, int To)>(stdio ?? []) { (gofer.Client.Socket.Fd, GoferFd), (statusTheirs.Fd, StatusFd) };
            if (profile != null)
            {
                fds.Add(((int)profile.DangerousGetHandle(), ProfileFd));
            }

            string ids = $"{HostProcess.Syscall(Sysno.geteuid)}:{HostProcess.Syscall(Sysno.getegid)}";
            int launcher = Spawn(["do", InsideOption, ids, .. args], [.. fds], hostNetwork, out string? error);
            statusTheirs.Dispose();
            if (launcher < 0)
            {
                Console.Error.WriteLine($"moat: cannot start the Sentry in its namespaces: {error}");
                Console.Error.WriteLine("moat: --confine=gofer runs the Sentry without them (less isolation)");
                return 1;
            }

            log.Debug($"jailed Sentry started: launcher pid {launcher}");
            profile?.Dispose();

            // A gofer that dies takes the sandbox with it: the Sentry could not serve a file any more.
            int code = WaitForwardingSignals(launcher, out int waitStatus, gofer);
            string? failure = null;
            if (gofer.Failed())
            {
                failure = $"moat: the gofer {gofer.Failure}; the sandbox is stopped ({logSettings.Where("gofer")})";
            }
            else if (ReadStatus(statusMine) is not int reported)
            {
                string how = SandboxFailure.How(waitStatus, out int sig);
                if (HostProcess.WIfExited(waitStatus) && HostProcess.WExitStatus(waitStatus) == Moat.Sentry.SentryCrash.ExitStatus)
                {
                    how = "failed with an internal error (an unhandled exception, in the debug log)";
                }

                failure = $"moat: the Sentry {how}{(sig == 31 ? " (its seccomp filter: a call missing from SentrySyscalls)" : string.Empty)} ({logSettings.Where("sentry")})";
            }
            else
            {
                code = reported;
            }

            if (failure != null)
            {
                log.WriteLine(failure);
                Console.Error.WriteLine(failure);
                return SandboxFailure.ExitStatus;
            }

            return code;
        }
    }

    /// <summary>Inside: tells the outer moat the program's status, which it then knows is not the Sentry's own death.</summary>
    public static void ReportStatus(int status)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(b, status);
        HostSocket.Send(StatusFd, b, -1);
    }

    // The status the jailed Sentry reported, or null when it died without a word.
    private static int? ReadStatus(SafeFdHandle socket)
    {
        Span<byte> b = stackalloc byte[4];
        long n = HostSocket.Receive(socket.Fd, b, out int fd);
        if (fd >= 0)
        {
            HostFile.Close(fd);
        }

        return n == 4 ? System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(b) : null;
    }

    /// <summary>
    /// Spawns this executable with <paramref name="args"/> as PID 1 of the jail's namespaces (network too,
    /// unless <paramref name="hostNetwork"/>), with <paramref name="fds"/> moved into place. Returns the
    /// launcher's pid (it exits with the Sentry's status), or -errno with a reason.
    /// </summary>
    public static int Spawn(string[] args, (int From, int To)[] fds, bool hostNetwork, out string? error)
    {
        uint namespaces = ConfinedSpawn.CLONE_NEWUSER | ConfinedSpawn.CLONE_NEWNS | ConfinedSpawn.CLONE_NEWPID |
            ConfinedSpawn.CLONE_NEWIPC | ConfinedSpawn.CLONE_NEWUTS | ConfinedSpawn.CLONE_NEWCGROUP;
        if (!hostNetwork)
        {
            namespaces |= ConfinedSpawn.CLONE_NEWNET;
        }

        string[] argv = GoferProcess.SelfCommand(args);
        return ConfinedSpawn.Spawn(argv[0], argv, CurrentEnvironment(), fds, [], namespaces, out error);
    }

    /// <summary>Inside: the "UID:GID" of the user who ran moat, whom the sandbox's processes are.</summary>
    public static Moat.Sentry.SandboxIdentity? ParseIdentity(string ids)
    {
        string[] f = ids.Split(':');
        return f.Length == 2 && uint.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid) &&
            uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid)
            ? new Moat.Sentry.SandboxIdentity(uid, gid, [])
            : null;
    }

    /// <summary>
    /// Inside, once the gofer socket is in hand: leaves every host path behind. The mounts become private,
    /// a small empty tmpfs is laid over the root with a procfs that shows only this PID namespace's
    /// processes (the stubs are spawned from /proc/self/fd, and the runtime reads /proc/self), the tmpfs is
    /// made read-only, and the Sentry pivots into it and detaches the old root. Then this thread drops every
    /// capability it had in its user namespace. Returns false with a reason.
    /// </summary>
    public static bool Enter(out string? error)
    {
        // Only a process alone in the mount namespace the launcher made may rearrange it.
        if (HostProcess.GetPid() != 1)
        {
            error = "not the first process of a new PID namespace: refusing to change mounts";
            return false;
        }

        long r = HostMount.MakeAllPrivate();
        if (r < 0)
        {
            return Fail("mount(MS_PRIVATE)", r, out error);
        }

        r = HostMount.NewSmallTmpfs();
        if (r < 0)
        {
            return Fail("making the empty root (tmpfs)", r, out error);
        }

        using var root = new SafeFdHandle((int)r);
        r = HostPathChange.Mkdirat(root.Fd, "proc", 0x16D /* 0555 */);
        if (r < 0)
        {
            return Fail("mkdir proc", r, out error);
        }

        r = HostPath.Openat(OpenFlags.AT_FDCWD, "/", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
        if (r < 0)
        {
            return Fail("opening /", r, out error);
        }

        using (var oldRoot = new SafeFdHandle((int)r))
        {
            r = HostMount.Attach(root.Fd, oldRoot.Fd);
        }

        if (r < 0)
        {
            return Fail("attaching the empty root", r, out error);
        }

        r = HostMount.NewProcessOnlyProc();
        if (r < 0)
        {
            return Fail("mounting a procfs (subset=pid)", r, out error);
        }

        using (var proc = new SafeFdHandle((int)r))
        {
            r = HostPath.Openat(root.Fd, "proc", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
            if (r >= 0)
            {
                using var procDir = new SafeFdHandle((int)r);
                r = HostMount.Attach(proc.Fd, procDir.Fd);
            }
        }

        if (r < 0)
        {
            return Fail("attaching the procfs", r, out error);
        }

        r = HostMount.SetAttributes(root.Fd, HostMount.MOUNT_ATTR_RDONLY | HostMount.MOUNT_ATTR_NOSUID | HostMount.MOUNT_ATTR_NODEV | HostMount.MOUNT_ATTR_NOEXEC);
        if (r < 0)
        {
            return Fail("making the root read-only", r, out error);
        }

        r = HostMount.PivotInto(root.Fd);
        if (r < 0)
        {
            return Fail("pivot_root", r, out error);
        }

        // Its stubs have its uid and its host sockets (--network=host) live in a network namespace its user
        // namespace does not own: what remains is chown, chmod and utimes of the open files of read-write
        // volumes, done on the fd (the files of the root and of read-only volumes sit on read-only mounts).
        r = HostCapabilities.Limit(KeptCapabilities);
        if (r < 0)
        {
            return Fail("dropping capabilities", r, out error);
        }

        error = null;
        return true;
    }

    /// <summary>Waits for the launcher (which exits with the Sentry's status), passing on the signals sent to us.</summary>
    public static int WaitForwardingSignals(int launcher) => WaitForwardingSignals(launcher, out _, null);

    /// <summary>
    /// As above; <paramref name="waitStatus"/> is the launcher's wait status. With a <paramref name="gofer"/>
    /// (a child of this process too) it is reaped here if it ends first, and a gofer that failed has the
    /// launcher killed: no thread is needed to watch it.
    /// </summary>
    public static int WaitForwardingSignals(int launcher, out int waitStatus, GoferProcess? gofer)
    {
        waitStatus = 0;
        var registrations = new List<PosixSignalRegistration>();
        foreach (int sig in s_forwarded)
        {
            registrations.Add(PosixSignalRegistration.Create((PosixSignal)sig, ctx =>
            {
                ctx.Cancel = true;
                int sentry = SentryPid(launcher);
                if (sentry > 0)
                {
                    HostProcess.Kill(sentry, sig);
                }
            }));
        }

        try
        {
            int r, status;
            while ((r = HostProcess.WaitPid(gofer != null ? -1 : launcher, out status, 0)) != launcher && r > 0)
            {
                if (gofer != null && r == gofer.Pid && gofer.Observe(status))
                {
                    HostProcess.Kill(launcher, Signal.SIGKILL);
                }
            }

            waitStatus = status;
            if (r < 0)
            {
                Console.Error.WriteLine($"moat: waiting for the Sentry: {Errno.FromValue(-r).Name}");
                return 1;
            }

            int code = HostProcess.WIfExited(status) ? HostProcess.WExitStatus(status) : 128 + HostProcess.WTermSig(status);
            return code;
        }
        finally
        {
            foreach (PosixSignalRegistration registration in registrations)
            {
                registration.Dispose();
            }
        }
    }

    // The launcher's one child: the Sentry. 0 before it is forked.
    private static int SentryPid(int launcher)
    {
        string path = $"/proc/{launcher.ToString(CultureInfo.InvariantCulture)}/task/{launcher.ToString(CultureInfo.InvariantCulture)}/children";
        try
        {
            string text = System.IO.File.ReadAllText(path).Trim();
            int space = text.IndexOf(' ');
            return int.TryParse(space < 0 ? text : text[..space], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : 0;
        }
        catch (System.IO.IOException)
        {
            return 0;
        }
    }

    private static string[] CurrentEnvironment()
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env.Add($"{e.Key}={e.Value}");
        }

        return [.. env];
    }

    private static bool Fail(string what, long r, out string? error)
    {
        error = what + ": " + Errno.FromValue((int)-r).Name;
        return false;
    }
}
