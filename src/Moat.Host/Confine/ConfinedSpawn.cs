using System;
using System.Collections.Generic;
using System.Globalization;
using Moat.Abi;

namespace Moat.Host;

/// <summary>
/// Starts a program in new user, mount, PID, network, IPC, UTS and cgroup namespaces, through the
/// <see cref="LauncherImage"/> (the calling .NET process has threads, so it cannot unshare itself).
/// The launcher's user namespace maps root inside to the caller outside: to the whole host range when
/// the caller is root (so files keep their owners and root's access stays what it was), otherwise to
/// the caller's own uid and gid alone.
/// </summary>
public static unsafe class ConfinedSpawn
{
    public const uint CLONE_NEWNS = 0x00020000;
    public const uint CLONE_NEWCGROUP = 0x02000000;
    public const uint CLONE_NEWUTS = 0x04000000;
    public const uint CLONE_NEWIPC = 0x08000000;
    public const uint CLONE_NEWUSER = 0x10000000;
    public const uint CLONE_NEWPID = 0x20000000;
    public const uint CLONE_NEWNET = 0x40000000;

    /// <summary>Every namespace the launcher makes.</summary>
    public const uint AllNamespaces = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

    private const int F_DUPFD_CLOEXEC = 1030;
    private const int FirstFreeFd = 10;

    private static readonly object s_lock = new();
    private static readonly Dictionary<uint, SafeFdHandle> s_images = [];

    /// <summary>
    /// Like <see cref="HostSpawn.Spawn"/>, but the program runs as PID 1 of a new PID namespace below a
    /// launcher process, whose pid is returned (killing it kills the program). Returns -errno with a
    /// human-readable <paramref name="error"/> when the namespaces could not be made.
    /// </summary>
    public static int Spawn(string path, ReadOnlySpan<string> argv, ReadOnlySpan<string> envp, ReadOnlySpan<(int From, int To)> dup2, ReadOnlySpan<int> close, out string? error)
        => Spawn(path, argv, envp, dup2, close, AllNamespaces, out error);

    /// <summary>
    /// As above with a chosen set of <paramref name="namespaces"/> (CLONE_NEWUSER and CLONE_NEWPID always
    /// among them). The launcher starts a session of its own: terminal signals reach only the caller.
    /// </summary>
    public static int Spawn(string path, ReadOnlySpan<string> argv, ReadOnlySpan<string> envp, ReadOnlySpan<(int From, int To)> dup2, ReadOnlySpan<int> close, uint namespaces, out string? error)
    {
        error = null;
        if ((namespaces & (CLONE_NEWUSER | CLONE_NEWPID)) != (CLONE_NEWUSER | CLONE_NEWPID))
        {
            throw new ArgumentException("the launcher needs a user and a PID namespace", nameof(namespaces));
        }

        string launcher = LauncherPath(namespaces, out long err);
        if (err < 0)
        {
            error = "memfd_create: " + Errno.FromValue((int)-err).Name;
            return (int)err;
        }

        long r = HostSocket.SocketPair(HostSocket.SOCK_STREAM, out SafeFdHandle parentEnd, out SafeFdHandle childEnd);
        if (r < 0)
        {
            error = "socketpair: " + Errno.FromValue((int)-r).Name;
            return (int)r;
        }

        // Move every fd the child gets above the low numbers, so no dup2 overwrites another's source.
        var moved = new List<SafeFdHandle>();
        using (parentEnd)
        using (childEnd)
        {
            try
            {
                var actions = new List<(int From, int To)>();
                foreach ((int from, int to) in dup2)
                {
                    SafeFdHandle high = DupHigh(from);
                    moved.Add(high);
                    actions.Add((high.Fd, to));
                }

                SafeFdHandle hs = DupHigh(childEnd.Fd);
                moved.Add(hs);
                actions.Add((hs.Fd, LauncherImage.HandshakeFd));

                string[] launcherArgv = ["moat-launcher", path, .. argv[1..]];
                int pid = HostSpawn.Spawn(launcher, launcherArgv, envp, actions.ToArray(), close, newSession: true);
                if (pid < 0)
                {
                    error = "spawn: " + Errno.FromValue(-pid).Name;
                    return pid;
                }

                childEnd.Dispose();
                foreach (SafeFdHandle h in moved)
                {
                    h.Dispose();
                }

                moved.Clear();
                if (!Handshake(pid, parentEnd.Fd, out error))
                {
                    HostProcess.Kill(pid, Signal.SIGKILL);
                    HostProcess.WaitPid(pid, out _, 0);
                    return -Errno.EPERM.Value;
                }

                return pid;
            }
            finally
            {
                foreach (SafeFdHandle h in moved)
                {
                    h.Dispose();
                }
            }
        }
    }

    // Waits until the launcher is in its new user namespace, writes its maps, and lets it go on.
    private static bool Handshake(int pid, int fd, out string? error)
    {
        error = null;
        byte b = 0;
        if (HostFile.Read(fd, &b, 1) != 1)
        {
            int status = 0;
            HostProcess.WaitPid(pid, out status, 0);
            int code = HostProcess.WIfExited(status) ? HostProcess.WExitStatus(status) : -1;
            error = code > 0 && code < LauncherImage.HandshakeFailed
                ? $"unshare: {Errno.FromValue(code).Name} (are user namespaces allowed? see /proc/sys/user/max_user_namespaces)"
                : "the namespace launcher failed (status " + status.ToString(CultureInfo.InvariantCulture) + ")";
            return false;
        }

        long euid = HostProcess.Syscall(Sysno.geteuid);
        long egid = HostProcess.Syscall(Sysno.getegid);
        bool wholeRange = euid == 0 && MapsWholeRange();
        string uidMap = wholeRange ? "0 0 4294967295\n" : $"0 {euid} 1\n";
        string gidMap = wholeRange ? "0 0 4294967295\n" : $"0 {egid} 1\n";
        string proc = "/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/";
        long r = WriteFile(proc + "setgroups", "deny");
        if (r >= 0)
        {
            r = WriteFile(proc + "uid_map", uidMap);
        }

        if (r >= 0)
        {
            r = WriteFile(proc + "gid_map", gidMap);
        }

        if (r < 0)
        {
            error = "writing the user namespace's id maps: " + Errno.FromValue((int)-r).Name;
            return false;
        }

        b = 1;
        if (HostFile.Write(fd, &b, 1) != 1)
        {
            error = "the namespace launcher went away";
            return false;
        }

        return true;
    }

    // Root of the initial user namespace, or root of one that maps it all (a confined Sentry started by root):
    // only then can every id be mapped again. A namespace that maps only its creator can pass on only that id.
    private static bool MapsWholeRange()
    {
        try
        {
            string[] f = System.IO.File.ReadAllText("/proc/self/uid_map").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return f.Length == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295";
        }
        catch (System.IO.IOException)
        {
            return false;
        }
    }

    private static long WriteFile(string path, string text)
    {
        long fd = HostPath.Openat(OpenFlags.AT_FDCWD, path, OpenFlags.O_WRONLY | OpenFlags.O_CLOEXEC);
        if (fd < 0)
        {
            return fd;
        }

        using var h = new SafeFdHandle((int)fd);
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(text);
        fixed (byte* p = bytes)
        {
            long w = HostFile.Write(h.Fd, p, (ulong)bytes.Length);
            return w < 0 ? w : 0;
        }
    }

    private static SafeFdHandle DupHigh(int fd)
    {
        long r = HostFile.Fcntl(fd, F_DUPFD_CLOEXEC, FirstFreeFd);
        return r < 0 ? throw new InvalidOperationException("fcntl(F_DUPFD_CLOEXEC): " + Errno.FromValue((int)-r).Name) : new SafeFdHandle((int)r);
    }

    // Each launcher image (one per set of namespaces) lives in a memfd, executed as /proc/self/fd/N.
    private static string LauncherPath(uint namespaces, out long error)
    {
        lock (s_lock)
        {
            error = 0;
            if (!s_images.TryGetValue(namespaces, out SafeFdHandle? image))
            {
                SafeFdHandle fd = HostFile.MemfdCreate("moat-launcher", out error);
                if (error < 0)
                {
                    return string.Empty;
                }

                byte[] code = LauncherImage.Build(namespaces);
                fixed (byte* p = code)
                {
                    long w = HostFile.PWrite(fd.Fd, p, (ulong)code.Length, 0);
                    if (w != code.Length)
                    {
                        fd.Dispose();
                        error = w < 0 ? w : -Errno.EIO.Value;
                        return string.Empty;
                    }
                }

                // Kept above the low numbers: a dup2 into the child's fd 3, 4, 5, 6 ... must never replace it.
                image = DupHigh(fd.Fd);
                fd.Dispose();
                s_images.Add(namespaces, image);
            }

            return "/proc/self/fd/" + image.Fd.ToString(CultureInfo.InvariantCulture);
        }
    }
}
