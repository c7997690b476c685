using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// ".." after a symlink climbs from where the link leads, not from the link's name: Linux walks a path
/// component by component, so with l -> a/b, "l/.." is "a", and with cur -> ".", "cur/.." is the parent. The
/// file systems here take lexically cleaned paths (<see cref="PathResolver.Normalize"/>), which would cancel
/// "l/.." to ".". So a path with a ".." after a name has its part before the last ".." walked first, its
/// links followed (<see cref="RootedPath.Resolve"/>); the last ".." and what follows stay as written, and
/// cancel lexically against a prefix that holds no link. Paths without "/.." pay one scan.
/// </summary>
internal static class DotDotWalk
{
    /// <summary>Rewrites <paramref name="absolute"/> (a namespace path) as above. Returns 0, -EACCES, -ELOOP, -ENOENT or -ENOTDIR.</summary>
    public static long Resolve(Task t, ref string absolute)
    {
        int last = LastDotDot(absolute);
        if (last <= 0 || RootedPath.IsRooted(t))
        {
            return 0; // nothing before the "..", or a chrooted process, whose paths RootedPath walks whole
        }

        // The walk below asks the file systems without permission checks: a task that may not search a
        // directory on the way must get EACCES first, never learn from ENOENT/ENOTDIR what lies inside it.
        long r = PathAccess.MayWalk(t, absolute[..last], followLast: true);
        if (r < 0)
        {
            return r;
        }

        r = RootedPath.Resolve(t, "/", absolute[..last], followLast: true, out string physical);
        if (r < 0)
        {
            return r;
        }

        // ".." is looked up in what precedes it: that must be a directory (ENOENT, ENOTDIR), which a lexical
        // cancel would never ask.
        r = PathOps.StatUnchecked(t, physical, follow: true, out Abi.Stat st);
        if (r < 0)
        {
            return r;
        }

        if ((st.st_mode & Abi.Stat.S_IFMT) != Abi.Stat.S_IFDIR)
        {
            return -Errno.ENOTDIR.Value;
        }

        absolute = (physical.Length == 1 ? string.Empty : physical) + absolute[last..];
        return 0;
    }

    // Where the last ".." component starts (its slash), or -1.
    private static int LastDotDot(string path)
    {
        int at = path.Length;
        while (at > 0)
        {
            int found = path.LastIndexOf("/..", at - 1, System.StringComparison.Ordinal);
            if (found < 0)
            {
                return -1;
            }

            int end = found + 3;
            if (end == path.Length || path[end] == '/')
            {
                return found;
            }

            at = found;
        }

        return -1;
    }
}
