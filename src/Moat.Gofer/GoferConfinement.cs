using System;
using Moat.Abi;
using Moat.Host;

namespace Moat.Gofer;

/// <summary>
/// Confines a gofer that was started by <see cref="ConfinedSpawn"/> (PID 1 of fresh user, mount, PID,
/// network, IPC, UTS and cgroup namespaces): its mount namespace ends up holding only the root it serves
/// (read-only, nodev, nosuid), with a procfs of its own PID namespace over any /proc in it and one kept
/// aside, detached, for reopening the fds it checked. Then it keeps only the capabilities file serving
/// needs and installs its seccomp allow-list on every thread.
/// </summary>
public static class GoferConfinement
{
    /// <summary>The capabilities the gofer keeps (inside its user namespace): read and, for volumes, change any file of the root.</summary>
    public const ulong KeptCapabilities =
        (1UL << HostCapabilities.CAP_CHOWN) | (1UL << HostCapabilities.CAP_DAC_OVERRIDE) | (1UL << HostCapabilities.CAP_DAC_READ_SEARCH) |
        (1UL << HostCapabilities.CAP_FOWNER) | (1UL << HostCapabilities.CAP_FSETID);

    /// <summary>
    /// Replaces this process's view of the file system by <paramref name="rootPath"/> alone. Returns the
    /// new root (to serve) and the /proc/self/fd directory of a private procfs, or null with a reason.
    /// </summary>
    public static SafeFdHandle? EnterRoot(string rootPath, out SafeFdHandle? procSelfFd, out string? error)
    {
        procSelfFd = null;

        // The mount changes below are only safe in a mount namespace of our own; the launcher always makes
        // one together with the PID namespace whose first process we are.
        if (HostProcess.GetPid() != 1)
        {
            error = "not the first process of a new PID namespace: refusing to change mounts";
            return null;
        }

        long r = HostMount.MakeAllPrivate();
        if (r < 0)
        {
            return Fail("mount(MS_PRIVATE)", r, out error);
        }

        long proc = HostMount.NewReadOnlyProc();
        if (proc < 0)
        {
            return Fail("mounting a procfs", proc, out error);
        }

        using var procMount = new SafeFdHandle((int)proc);
        r = HostPath.Openat(procMount.Fd, "self/fd", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
        if (r < 0)
        {
            return Fail("opening proc/self/fd", r, out error);
        }

        procSelfFd = new SafeFdHandle((int)r);

        using SafeFdHandle? oldRoot = GoferServer.OpenRoot(rootPath, out r);
        if (oldRoot == null)
        {
            return Fail("opening " + rootPath, r, out error);
        }

        // Read before our tree is attached, which would list each of its mounts a second time.
        string[] procMounts = ProcMountsBeneath(HostPath.FdPath(oldRoot.Fd, out _) ?? rootPath);
        long tree = HostMount.CloneTree(oldRoot.Fd);
        if (tree < 0)
        {
            return Fail("open_tree", tree, out error);
        }

        var newRoot = new SafeFdHandle((int)tree);

        // Read-only (the root is never written: changes live in the Sentry's upper layer), and no set-id
        // programs or device nodes through this tree, even by a race: the gofer opens neither.
        r = HostMount.SetAttributes(newRoot.Fd, HostMount.MOUNT_ATTR_RDONLY | HostMount.MOUNT_ATTR_NOSUID | HostMount.MOUNT_ATTR_NODEV);
        if (r >= 0)
        {
            r = HostMount.Attach(newRoot.Fd, oldRoot.Fd);
        }

        if (r >= 0)
        {
            r = CoverProcMounts(newRoot.Fd, procMount.Fd, procMounts);
        }

        if (r >= 0)
        {
            r = HostMount.PivotInto(newRoot.Fd);
        }

        if (r < 0)
        {
            newRoot.Dispose();
            return Fail("pivot into the root", r, out error);
        }

        error = null;
        return newRoot;
    }

    /// <summary>Drops capabilities (this thread) and installs the seccomp allow-list (all threads), unless <paramref name="seccomp"/> is false.</summary>
    public static bool Seal(bool seccomp, out string? error)
    {
        long r = HostCapabilities.Limit(KeptCapabilities);
        if (r < 0)
        {
            Fail("dropping capabilities", r, out error);
            return false;
        }

        if (seccomp)
        {
            r = HostSeccomp.Install(SeccompProgram.Compile(GoferSyscalls.Rules, SeccompProgram.RetKillProcess));
            if (r != 0)
            {
                Fail("installing the seccomp filter", r > 0 ? -Errno.EAGAIN.Value : r, out error);
                return false;
            }
        }

        error = null;
        return true;
    }

    // A procfs of the host's PID namespace inside the root (its /proc when the root is "/") would lead
    // out of it through /proc/PID/root of any process the gofer may inspect: lay our own (read-only, of
    // our PID namespace, where we are alone) over each. The host's stays locked beneath, unreachable by
    // path. The Sentry still reads cpuinfo through it.
    private static long CoverProcMounts(int treeFd, int procMountFd, string[] relativePaths)
    {
        foreach (string rel in relativePaths)
        {
            long target = HostPath.Openat2(treeFd, rel, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, HostPath.RESOLVE_IN_ROOT | HostPath.RESOLVE_NO_SYMLINKS);
            if (target < 0)
            {
                return target;
            }

            using var targetFd = new SafeFdHandle((int)target);
            long copy = HostMount.CloneTree(procMountFd);
            if (copy < 0)
            {
                return copy;
            }

            using var copyFd = new SafeFdHandle((int)copy);
            long r = HostMount.Attach(copyFd.Fd, targetFd.Fd);
            if (r < 0)
            {
                return r;
            }
        }

        return 0;
    }

    // The procfs mount points at or beneath root, relative to it.
    private static string[] ProcMountsBeneath(string root)
    {
        string prefix = root == "/" ? "/" : root + "/";
        var found = new System.Collections.Generic.List<string>();
        foreach (string line in System.IO.File.ReadAllLines("/proc/self/mountinfo"))
        {
            string[] f = line.Split(' ');
            int sep = System.Array.IndexOf(f, "-");
            if (f.Length < 5 || sep < 0 || sep + 1 >= f.Length || f[sep + 1] != "proc")
            {
                continue;
            }

            string mountPoint = UnescapeMountInfo(f[4]);
            string? rel = mountPoint == root ? "." : mountPoint.StartsWith(prefix, System.StringComparison.Ordinal) ? mountPoint[prefix.Length..] : null;
            if (rel != null && !found.Contains(rel))
            {
                found.Add(rel);
            }
        }

        return found.ToArray();
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string UnescapeMountInfo(string s)
    {
        if (!s.Contains('\\'))
        {
            return s;
        }

        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length)
            {
                sb.Append((char)System.Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }

        return sb.ToString();
    }

    private static SafeFdHandle? Fail(string what, long r, out string? error)
    {
        error = what + ": " + Errno.FromValue((int)-r).Name;
        return null;
    }
}
