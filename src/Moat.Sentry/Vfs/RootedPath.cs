using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Paths of a process whose root is a directory below its mount namespace's root (chroot(2)).
/// <para>
/// The file systems below resolve paths in the namespace's terms: the overlay's host layer even follows host
/// symlinks in the gofer, from the host root. So for such a process the walk happens here, component by
/// component, as Linux's path walk does it from <c>fs->root</c>: an absolute path and an absolute symlink
/// target start at the root, ".." at the root stays there (and, as in Linux, only there: a working directory
/// left outside the root is not clamped), and every symlink on the way, the last one too when the operation
/// follows it, is replaced by its target. The file systems then see a namespace path without symlinks.
/// A process whose root is "/" on the overlay never comes here: the common case pays nothing. The same walk
/// serves a namespace whose root pivot_root made another mount (a tmpfs, a bind of a directory).
/// </para>
/// </summary>
internal static class RootedPath
{
    private const int MaxHops = 40;

    /// <summary>
    /// Whether the process's paths are walked here: its root is a directory of its own (chroot), or its
    /// namespace's root is not the whole overlay (pivot_root).
    /// </summary>
    public static bool IsRooted(Task t) => t.Group.Root.Length > 1 || t.Group.Mounts.ForeignRoot;

    /// <summary>
    /// Resolves <paramref name="path"/> (absolute in the process's terms, or relative to
    /// <paramref name="baseDir"/>, a namespace path) to a namespace path. A trailing slash is kept and makes the
    /// last link followed, as Linux does. Returns 0 or -ELOOP; a component that is missing or not a directory
    /// is left for the operation to report.
    /// </summary>
    public static long Resolve(Task t, string baseDir, string path, bool followLast, out string resolved)
    {
        string root = t.Group.Root;
        bool trailingSlash = PathResolver.NamesDirectory(path) && path.Length > 1;
        followLast |= trailingSlash;
        var pending = new Stack<string>();
        PathResolver.PushComponents(pending, path);
        string dir = path.Length > 0 && path[0] == '/' ? root : PathResolver.Normalize(baseDir);
        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                dir = dir == root ? dir : Parent(dir);
                continue;
            }

            string next = dir.Length == 1 ? "/" + part : dir + "/" + part;
            if ((pending.Count == 0 && !followLast) || PathOps.IsProc(t, next, out _) ||
                PathOps.StatUnchecked(t, next, follow: false, out Stat st) < 0 || (st.st_mode & Stat.S_IFMT) != Stat.S_IFLNK)
            {
                // Not a link (or /proc's, which /proc resolves itself, or missing): the walk goes on from it.
                dir = next;
                continue;
            }

            if (++hops > MaxHops)
            {
                resolved = path;
                return -Errno.ELOOP.Value;
            }

            if (PathOps.ReadLinkUnchecked(t, next, out string target) < 0 || target.Length == 0)
            {
                dir = next; // the operation reports what reading it reports
                continue;
            }

            PathResolver.PushComponents(pending, target);
            if (target[0] == '/')
            {
                dir = root;
            }
        }

        resolved = trailingSlash && dir.Length > 1 ? dir + "/" : dir;
        return 0;
    }

    /// <summary>
    /// A namespace path as the process is shown it (getcwd, /proc links): relative to its root, or unchanged
    /// when it lies outside (what d_path gives for a file above the reader's root).
    /// </summary>
    public static string Show(Task t, string nsPath) => Show(t.Group.Root, nsPath);

    /// <summary>A namespace path relative to <paramref name="root"/>; unchanged when outside it.</summary>
    public static string Show(string root, string nsPath)
    {
        if (root.Length == 1)
        {
            return nsPath;
        }

        if (nsPath == root)
        {
            return "/";
        }

        return IsBelow(nsPath, root) ? nsPath[root.Length..] : nsPath;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or lies below it.</summary>
    public static bool IsBelow(string path, string root) =>
        root.Length == 1 || path == root || (path.Length > root.Length && path[root.Length] == '/' && path.StartsWith(root, System.StringComparison.Ordinal));

    private static string Parent(string dir)
    {
        int cut = dir.LastIndexOf('/');
        return cut <= 0 ? "/" : dir[..cut];
    }
}
