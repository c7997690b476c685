using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Mounts;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Paths through a bind mount whose file system would follow a symlink in its own terms
/// (<see cref="Mount.WalksLinks"/>): the overlay's gofer resolves a host link from the host's root, a volume's
/// keeps it inside the volume. Linux resolves it in the mount tree: with /srv bound at /mnt/b, a link
/// /mnt/b/l -> ../x names /mnt/x. So such a path is walked here, component by component, with the walk chroot
/// uses (<see cref="RootedPath.Resolve"/>), and the file system is handed a path without links. A namespace
/// without such a bind pays one volatile read; a path outside them one mount-table lookup.
/// </summary>
internal static class BindWalk
{
    /// <summary>
    /// Resolves the links of <paramref name="absolute"/> (a namespace path as written, for a process at the
    /// namespace's root) that lie inside a bind, as <see cref="RootedPath.Resolve"/> does; leaves it as it is
    /// when it does not go through one. Returns 0 or -ELOOP.
    /// </summary>
    public static long Resolve(Task t, ref string absolute, bool followLast)
    {
        // Every path as written, and every path a file system hands back to walk on, passes here.
        long climbed = DotDotWalk.Resolve(t, ref absolute);
        if (climbed < 0)
        {
            return climbed;
        }

        MountNamespace ns = t.Group.Mounts;
        if (!ns.HasWalkedBinds)
        {
            return 0;
        }

        string norm = PathResolver.Normalize(absolute);
        Mount m = ns.Find(norm, out _);
        int climb = absolute.IndexOf("/..", System.StringComparison.Ordinal);
        if (climb >= 0 && (climb + 3 == absolute.Length || absolute[climb + 3] == '/'))
        {
            // ".." after a link or a bind's root climbs in the mount tree: walk the whole path when what comes
            // before the first ".." lies in such a bind.
            if (m.WalksLinks || ns.Find(PathResolver.Normalize(absolute[..climb]), out _).WalksLinks)
            {
                return RootedPath.Resolve(t, "/", absolute, followLast, out absolute);
            }

            return 0;
        }

        if (!m.WalksLinks || norm.Length == m.MountPoint.Length)
        {
            return 0; // the mount point itself is no link of the bind
        }

        // Lexically clean up to here: start at the mount point; a trailing slash still counts.
        string below = norm[(m.MountPoint.Length == 1 ? 1 : m.MountPoint.Length + 1)..];
        return RootedPath.Resolve(t, m.MountPoint, absolute.EndsWith('/') ? below + "/" : below, followLast, out absolute);
    }

    /// <summary>
    /// A path a file system handed back to walk on (<see cref="PathStep.Next"/>: a symlink's target met later in
    /// the walk, joined to what followed it), resolved as <see cref="Resolve"/> resolves a path as written: Linux's
    /// walk follows the link and then crosses into whatever is mounted on its way, so a target that leads into a
    /// bind (an overlay link to /mnt/b/l, a tmpfs link to /mnt/b/up/x) walks the bind's links in the mount tree.
    /// Returns 0 or -ELOOP.
    /// </summary>
    public static long Continue(Task t, ref string next, bool followLast) => Resolve(t, ref next, followLast);
}
