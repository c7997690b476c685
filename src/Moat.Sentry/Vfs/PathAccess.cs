using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The permission checks of path operations, in Linux's order, over whatever file system a path is on:
/// search on the directories walked, read/write on open, write and search on the parent for creating and
/// removing names, the sticky bit, and the owner rules of chmod, chown and utimes (<see cref="Permissions"/>).
/// Each check answers 0 when the operation may go on (its own errors, such as ENOENT, EEXIST, EROFS or
/// EISDIR, are left for it to report in Linux's order) or -EACCES/-EPERM.
/// A task with the DAC capabilities (root in the sandbox) skips the lookups, so it pays nothing.
/// </summary>
internal static class PathAccess
{
    /// <summary>
    /// Search (execute) permission on every directory the walk of <paramref name="absolute"/> looks a name up
    /// in, as Linux's path walk checks it: symlinks on the way are followed component by component (and the
    /// last one too when <paramref name="followLast"/>), so the directories inside a link's target are
    /// searched as well. /proc's magic links jump to their file without a walk, as in Linux.
    /// </summary>
    public static long MayWalk(Task t, string absolute, bool followLast = false) => MayWalk(t, t.Credentials, absolute, followLast);

    /// <summary>The walk's search checks as <paramref name="c"/>: access(2) walks as the real user.</summary>
    public static long MayWalk(Task t, Credentials c, string absolute, bool followLast)
    {
        if (Permissions.BypassesSearch(c))
        {
            return 0;
        }

        // The walk starts at the process's root (chroot): the directories above it are not searched.
        string root = t.Group.Root;
        if (root.Length > 1 && RootedPath.IsBelow(PathResolver.Normalize(absolute), root))
        {
            absolute = RootedPath.Show(root, PathResolver.Normalize(absolute));
        }
        else
        {
            root = "/";
        }

        var pending = new System.Collections.Generic.Stack<string>();
        PathResolver.PushComponents(pending, absolute);
        string dir = root;
        if (PathOps.StatUnchecked(t, dir, follow: false, out Stat dirStat) < 0)
        {
            return 0;
        }

        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == ".")
            {
                continue;
            }

            // Looking a name (even "..") up in a directory needs search permission on it.
            if ((dirStat.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                return 0; // the operation's own walk reports ENOTDIR
            }

            if (Permissions.Check(c, dirStat, Permissions.MayExec) != Errno.None)
            {
                return -Errno.EACCES.Value;
            }

            string next;
            if (part == "..")
            {
                int cut = dir.LastIndexOf('/');
                next = dir == root ? root : cut <= 0 ? "/" : dir[..cut];
            }
            else
            {
                next = dir.Length == 1 ? "/" + part : dir + "/" + part;
            }

            bool last = pending.Count == 0;
            if (last && !followLast)
            {
                return 0;
            }

            if (PathOps.StatUnchecked(t, next, follow: false, out Stat st) < 0)
            {
                return 0; // ENOENT and the like come from the operation itself
            }

            if ((st.st_mode & Stat.S_IFMT) == Stat.S_IFLNK)
            {
                if (PathOps.IsProc(t, next, out _) || ++hops > 40 || PathOps.ReadLinkUnchecked(t, next, out string target) < 0 || target.Length == 0)
                {
                    return 0; // a magic link, or ELOOP and the like for the operation to report
                }

                PathResolver.PushComponents(pending, target);
                if (target[0] == '/')
                {
                    dir = root;
                    PathOps.StatUnchecked(t, dir, follow: false, out dirStat);
                }

                continue;
            }

            if (last)
            {
                return 0;
            }

            dir = next;
            dirStat = st;
        }

        return 0;
    }

    /// <summary>open(2)'s checks: the walk, then read/write permission on the file, or creation in its directory.</summary>
    public static long MayOpen(Task t, string absolute, int flags)
    {
        long r = MayWalk(t, absolute, followLast: (flags & OpenFlags.O_NOFOLLOW) == 0 && (flags & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) != (OpenFlags.O_CREAT | OpenFlags.O_EXCL));
        if (r < 0 || (flags & OpenFlags.O_PATH) != 0 || Permissions.BypassesAccess(t.Credentials))
        {
            return r;
        }

        if ((flags & OpenFlags.O_TMPFILE & ~OpenFlags.O_DIRECTORY) != 0)
        {
            return 0; // the directory's ENOTDIR, then its write permission: TmpfileOps.Open checks them (do_tmpfile)
        }

        bool create = (flags & OpenFlags.O_CREAT) != 0;
        bool excl = create && (flags & OpenFlags.O_EXCL) != 0;
        bool follow = (flags & OpenFlags.O_NOFOLLOW) == 0 && !excl;
        string norm = PathResolver.Normalize(absolute);
        r = PathOps.StatUnchecked(t, absolute, follow, out Stat st);
        if (r == -Errno.ENOENT.Value && create)
        {
            return MayCreateIn(t, norm);
        }

        if (r < 0 || excl)
        {
            return 0; // ENOENT, ENOTDIR or EEXIST come from the open itself
        }

        int acc = flags & OpenFlags.O_ACCMODE;
        int may = acc == OpenFlags.O_RDONLY ? Permissions.MayRead : acc == OpenFlags.O_WRONLY ? Permissions.MayWrite : Permissions.MayRead | Permissions.MayWrite;
        if ((flags & OpenFlags.O_TRUNC) != 0)
        {
            may |= Permissions.MayWrite;
        }

        uint type = st.st_mode & Stat.S_IFMT;
        if (type == Stat.S_IFLNK || (type == Stat.S_IFDIR && (may & Permissions.MayWrite) != 0))
        {
            return 0; // ELOOP and EISDIR come first
        }

        if ((may & Permissions.MayWrite) != 0 && type is Stat.S_IFREG or Stat.S_IFDIR && ReadOnlyAt(t, norm))
        {
            return 0; // EROFS comes before EACCES
        }

        return Permissions.Check(t.Credentials, st, may) == Errno.None ? 0 : -Errno.EACCES.Value;
    }

    /// <summary>mkdir, symlink, mknod, link and bind's checks on the new name: the walk, then write and search on its directory.</summary>
    public static long MayCreate(Task t, string absolute)
    {
        long r = MayWalk(t, absolute);
        if (r < 0 || Permissions.BypassesAccess(t.Credentials))
        {
            return r;
        }

        string norm = PathResolver.Normalize(absolute);
        if (PathOps.StatUnchecked(t, norm, follow: false, out _) == 0)
        {
            return 0; // EEXIST wins
        }

        return MayCreateIn(t, norm);
    }

    // Write and search permission on the directory of a new name (may_create), after a read-only mount's EROFS.
    private static long MayCreateIn(Task t, string norm)
    {
        if (ReadOnlyAt(t, norm) || !ParentStat(t, norm, out Stat dir))
        {
            return 0;
        }

        return Permissions.Check(t.Credentials, dir, Permissions.MayWrite | Permissions.MayExec) == Errno.None ? 0 : -Errno.EACCES.Value;
    }

    /// <summary>unlink and rmdir's checks (may_delete): the walk, write and search on the directory, the sticky bit.</summary>
    public static long MayDelete(Task t, string absolute)
    {
        long r = MayWalk(t, absolute);
        if (r < 0 || Privileged(t.Credentials))
        {
            return r;
        }

        string norm = PathResolver.Normalize(absolute);
        if (PathOps.StatUnchecked(t, norm, follow: false, out Stat victim) < 0 || ReadOnlyAt(t, norm) || !ParentStat(t, norm, out Stat dir))
        {
            return 0;
        }

        return -Permissions.MayDelete(t.Credentials, dir, victim).Value;
    }

    /// <summary>rename's checks: removing the old name, replacing or creating the new one, and a moved directory's "..".</summary>
    public static long MayRename(Task t, string from, string to, bool exchange = false)
    {
        long r = MayWalk(t, from);
        r = r < 0 ? r : MayWalk(t, to);
        if (r < 0 || Privileged(t.Credentials))
        {
            return r;
        }

        Credentials c = t.Credentials;
        string oldNorm = PathResolver.Normalize(from);
        string newNorm = PathResolver.Normalize(to);
        if (t.Group.Mounts.Find(ParentOfNorm(oldNorm), out _) != t.Group.Mounts.Find(ParentOfNorm(newNorm), out _))
        {
            return 0; // across mounts do_renameat2 answers EXDEV before vfs_rename's permission checks
        }

        if (PathOps.StatUnchecked(t, oldNorm, follow: false, out Stat source) < 0 || ReadOnlyAt(t, oldNorm) || !ParentStat(t, oldNorm, out Stat oldDir))
        {
            return 0;
        }

        Errno e = Permissions.MayDelete(c, oldDir, source);
        if (e != Errno.None)
        {
            return -e.Value;
        }

        if (!ParentStat(t, newNorm, out Stat newDir))
        {
            return 0;
        }

        e = PathOps.StatUnchecked(t, newNorm, follow: false, out Stat target) == 0
            ? Permissions.MayDelete(c, newDir, target)
            : Permissions.Check(c, newDir, Permissions.MayWrite | Permissions.MayExec);
        if (e != Errno.None)
        {
            return -e.Value;
        }

        bool moved = oldDir.st_dev != newDir.st_dev || oldDir.st_ino != newDir.st_ino;
        if (moved && (source.st_mode & Stat.S_IFMT) == Stat.S_IFDIR && Permissions.Check(c, source, Permissions.MayWrite) != Errno.None)
        {
            return -Errno.EACCES.Value;
        }

        // An exchange moves the target the other way: its ".." changes too.
        if (exchange && moved && PathOps.StatUnchecked(t, newNorm, follow: false, out Stat other) == 0 &&
            (other.st_mode & Stat.S_IFMT) == Stat.S_IFDIR && Permissions.Check(c, other, Permissions.MayWrite) != Errno.None)
        {
            return -Errno.EACCES.Value;
        }

        return 0;
    }

    /// <summary>
    /// link's checks: the new name's directory, then the source as fs.protected_hardlinks=1 has it
    /// (may_linkat): someone else's file only if it is a regular file without set-id bits that the caller
    /// may read and write (EPERM otherwise).
    /// </summary>
    public static long MayLink(Task t, string from, string to)
    {
        long r = MayWalk(t, from);
        r = r < 0 ? r : MayWalk(t, to);
        if (r < 0 || !OneMount(t, from, to))
        {
            return r; // across mounts do_linkat answers EXDEV before may_linkat and vfs_link's may_create
        }

        r = MayCreate(t, to);
        if (r < 0 || Privileged(t.Credentials))
        {
            return r;
        }

        Credentials c = t.Credentials;
        if (PathOps.StatUnchecked(t, from, follow: false, out Stat st) < 0 || Permissions.IsOwnerOrCapable(c, st.st_uid))
        {
            return 0;
        }

        bool safe = (st.st_mode & Stat.S_IFMT) == Stat.S_IFREG && (st.st_mode & Stat.S_ISUID) == 0 &&
            (st.st_mode & (Stat.S_ISGID | Stat.S_IXGRP)) != (Stat.S_ISGID | Stat.S_IXGRP) &&
            Permissions.Check(c, st, Permissions.MayRead | Permissions.MayWrite) == Errno.None;
        return safe ? 0 : -Errno.EPERM.Value;
    }

    // Whether an existing name and a new one (in its directory) lie on one mount, as written.
    private static bool OneMount(Task t, string from, string to) =>
        t.Group.Mounts.Find(PathResolver.Normalize(from), out _) == t.Group.Mounts.Find(ParentOfNorm(PathResolver.Normalize(to)), out _);

    private static string ParentOfNorm(string norm)
    {
        int slash = norm.LastIndexOf('/');
        return slash <= 0 ? "/" : norm[..slash];
    }

    /// <summary>
    /// The attributes a chmod, chown or utimes by path checks against, after the walk; false (with r = 0)
    /// when the operation itself should answer (a missing file, a read-only mount).
    /// </summary>
    public static bool TargetForAttrChange(Task t, string absolute, bool follow, out Stat st, out long r)
    {
        st = default;
        r = MayWalk(t, absolute, follow);
        if (r < 0)
        {
            return false;
        }

        string norm = PathResolver.Normalize(absolute);
        return PathOps.StatUnchecked(t, absolute, follow, out st) == 0 && !ReadOnlyAt(t, norm);
    }

    /// <summary>Whether a path lies on a read-only mount (a read-only volume or bind, the root of a read-only sandbox).</summary>
    public static bool ReadOnlyAt(Task t, string norm) => t.Group.Mounts.Find(norm, out _).ReadOnly;

    /// <summary>
    /// EROFS for a change of a name on a read-only mount. Callers order it as Linux does: after EEXIST for a
    /// new name, before ENOENT for a removal.
    /// </summary>
    public static long Writable(Task t, string absolute) => ReadOnlyAt(t, PathResolver.Normalize(absolute)) ? -Errno.EROFS.Value : 0;

    // A task that passes every check of this class: CAP_DAC_OVERRIDE and CAP_FOWNER.
    private static bool Privileged(Credentials c) => Permissions.BypassesAccess(c) && c.HasCapability(Credentials.CAP_FOWNER);

    private static bool ParentStat(Task t, string norm, out Stat dir)
    {
        int slash = norm.LastIndexOf('/');
        string parent = slash <= 0 ? "/" : norm[..slash];
        return PathOps.StatUnchecked(t, parent, follow: true, out dir) == 0;
    }
}
