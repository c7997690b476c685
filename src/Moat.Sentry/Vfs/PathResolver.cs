using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>Turns a path argument (with its dirfd) into an absolute, lexically clean sandbox path.</summary>
internal static class PathResolver
{
    /// <summary>Linux's PATH_MAX, including the terminating NUL.</summary>
    public const int PathMax = 4096;

    /// <summary>
    /// Resolves <paramref name="path"/> against <paramref name="dirfd"/> for an operation that does not follow
    /// a symlink in the last component. Returns 0 or -errno.
    /// </summary>
    public static long Resolve(Task t, int dirfd, string path, out string absolute) => Resolve(t, dirfd, path, followLast: false, out absolute);

    /// <summary>
    /// Resolves <paramref name="path"/> against <paramref name="dirfd"/>. <paramref name="followLast"/> says
    /// whether the operation follows a symlink in the last component; it matters only to a process with a root
    /// of its own (chroot), whose paths are walked here (<see cref="RootedPath"/>), and to a path through a bind
    /// mount whose links the Sentry resolves (<see cref="BindWalk"/>). Returns 0 or -errno.
    /// </summary>
    public static long Resolve(Task t, int dirfd, string path, bool followLast, out string absolute)
    {
        absolute = path;
        if (path.Length == 0)
        {
            return -Errno.ENOENT.Value;
        }

        if (path[0] == '/')
        {
            return RootedPath.IsRooted(t) ? RootedPath.Resolve(t, "/", path, followLast, out absolute) : BindWalk.Resolve(t, ref absolute, followLast);
        }

        string baseDir;
        if (dirfd == OpenFlags.AT_FDCWD)
        {
            baseDir = t.Group.Cwd;
        }
        else
        {
            FileDescription? f = t.Fds.Get(dirfd);
            if (f == null)
            {
                return -Errno.EBADF.Value;
            }

            try
            {
                if (f.Path == null || f.Stat(out Stat st) < 0 || (st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
                {
                    return -Errno.ENOTDIR.Value;
                }

                if (f.Unlinked && path != ".")
                {
                    return -Errno.ENOENT.Value; // a removed directory has no entries, whatever took its name since
                }

                baseDir = f.Path;
            }
            finally
            {
                f.DecRef();
            }
        }

        if (RootedPath.IsRooted(t))
        {
            return RootedPath.Resolve(t, baseDir, path, followLast, out absolute);
        }

        // A leading ".." from a directory of another mount than the root overlay climbs here, as the mount tree
        // has it, so the host is never asked to climb out of a directory only the sandbox has (a volume's or a
        // tmpfs's mount point). Below the root overlay the host still resolves it (the base may be named through
        // a host link).
        absolute = path[0] == '.' && LeadsSomewhere(path) && !OnRootOverlay(t, baseDir) ? PathStep.LinkTarget(baseDir, path)
            : baseDir.EndsWith('/') ? baseDir + path : baseDir + "/" + path;
        return BindWalk.Resolve(t, ref absolute, followLast);
    }

    private static bool OnRootOverlay(Task t, string dir) =>
        t.Group.Mounts.Find(Normalize(dir), out _) is { Kind: Mounts.MountKind.Overlay, MountPoint: "/", Root: "/" };

    // Whether a relative path names something after its leading "." and ".." components (so applying them
    // keeps what the path says of its last component, a trailing slash included).
    private static bool LeadsSomewhere(string path)
    {
        int start = 0;
        while (start < path.Length)
        {
            int end = path.IndexOf('/', start);
            if (end < 0)
            {
                end = path.Length;
            }

            ReadOnlySpan<char> part = path.AsSpan(start, end - start);
            if (part.Length > 2 || (part.Length > 0 && !part.SequenceEqual(".") && !part.SequenceEqual("..")))
            {
                return true;
            }

            start = end + 1;
        }

        return false;
    }

    /// <summary>Copies a path argument in and resolves it against <paramref name="dirfd"/>. Returns 0 or -errno.</summary>
    public static long CopyInAndResolve(Task t, int dirfd, ulong addr, out string absolute) => CopyInAndResolve(t, dirfd, addr, followLast: false, out absolute);

    /// <summary>
    /// Copies a path argument in and resolves it against <paramref name="dirfd"/>, following a symlink in the
    /// last component when <paramref name="followLast"/> (see <see cref="Resolve(Task, int, string, bool, out string)"/>).
    /// </summary>
    public static long CopyInAndResolve(Task t, int dirfd, ulong addr, bool followLast, out string absolute)
    {
        absolute = string.Empty;
        long r = CopyInPath(t, addr, out string path);
        return r < 0 ? r : Resolve(t, dirfd, path, followLast, out absolute);
    }

    /// <summary>Copies a path argument in from app memory. Returns 0, -EFAULT, -ENAMETOOLONG or -ENOENT.</summary>
    public static long CopyInPath(Task t, ulong addr, out string path)
    {
        long r = t.MM.CopyInString(addr, PathMax - 1, out path);
        return r;
    }

    /// <summary>
    /// Normalises an absolute path lexically: "." and empty components go, ".." removes the component before
    /// it (never above "/"). Used to find which mount a path is on.
    /// </summary>
    public static string Normalize(string absolute)
    {
        if (IsNormal(absolute))
        {
            return absolute; // the common case: nothing to allocate
        }

        var parts = new List<string>();
        foreach (string p in absolute.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".")
            {
                continue;
            }

            if (p == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(p);
        }

        return "/" + string.Join('/', parts);
    }

    // Whether a path is already absolute and clean: no empty, "." or ".." component, no trailing slash.
    private static bool IsNormal(string path)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            return false;
        }

        if (path.Length == 1)
        {
            return true;
        }

        int start = 1;
        while (true)
        {
            int slash = path.IndexOf('/', start);
            int end = slash < 0 ? path.Length : slash;
            int len = end - start;
            if (len == 0 || (len == 1 && path[start] == '.') || (len == 2 && path[start] == '.' && path[start + 1] == '.'))
            {
                return false;
            }

            if (slash < 0)
            {
                return true;
            }

            start = slash + 1;
        }
    }

    /// <summary>Pushes a path's components on a walk's stack so that the first one is popped first.</summary>
    public static void PushComponents(Stack<string> pending, string path)
    {
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }

    /// <summary>Whether a path as written can only name a directory: it ends in "/", "/." or "/.." (not "/" itself).</summary>
    public static bool NamesDirectory(string path)
    {
        string trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0)
        {
            return false;
        }

        return trimmed.Length != path.Length || trimmed.EndsWith("/.", StringComparison.Ordinal) || trimmed.EndsWith("/..", StringComparison.Ordinal) ||
            trimmed is "." or "..";
    }

    /// <summary>Removes "." components and duplicate slashes; keeps ".." for the file system to resolve.</summary>
    public static string Clean(string path)
    {
        var parts = new List<string>();
        foreach (string p in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p != ".")
            {
                parts.Add(p);
            }
        }

        return "/" + string.Join('/', parts);
    }
}
