using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>
/// A mount namespace: the table of mounts a process sees. A path is served by the deepest visible mount whose
/// mount point contains it; a mount stacked later on the same point, or on a directory above it, hides the
/// earlier one, as in Linux. Readers take a snapshot of the table without a lock (it is replaced whole on every
/// change); changes are made under <see cref="_mu"/>, which is a leaf lock.
/// </summary>
/// <remarks>
/// Mounts are keyed by the path of their mount point, not by (parent mount, dentry) as in Linux: a bind mount
/// of a directory shows that directory's contents; the Sentry walks the paths that go through a bind whose file
/// system would follow links in its own terms (<see cref="BindWalk"/>), so a relative symlink inside it that
/// climbs above the bind's root climbs from where the bind is seen, as in Linux.
/// </remarks>
internal sealed class MountNamespace
{
    private static int s_nextId = 1;
    private readonly Lock _mu = new();
    private readonly HashSet<int> _expiring = [];

    // All mounts in mount order (a mount after the one it lies on), and the ones not hidden by a later mount.
    private Table _table;

    private MountNamespace(Mount[] all)
    {
        _table = new Table(all, VisibleOf(all));
        Inode = Kernel.NamespaceInodes.Next();
    }

    /// <summary>The namespace's inode number, as /proc/PID/ns/mnt names it ("mnt:[N]").</summary>
    public ulong Inode { get; }

    /// <summary>A namespace with only its root mount.</summary>
    public MountNamespace(Mount root)
        : this([root with { ParentId = root.Id }])
    {
    }

    /// <summary>Every mount in mount order, hidden ones included (what /proc/PID/mounts lists).</summary>
    public Mount[] All => Volatile.Read(ref _table).All;

    /// <summary>The root mount.</summary>
    public Mount Root => Volatile.Read(ref _table).All[0];

    /// <summary>
    /// Whether the root is something other than the whole overlay (pivot_root made another mount the root):
    /// paths are then walked by the Sentry (<see cref="RootedPath"/>), since the host layer would resolve an
    /// absolute symlink from the host's root.
    /// </summary>
    public bool ForeignRoot => Volatile.Read(ref _table).ForeignRoot;

    /// <summary>Whether some visible mount resolves its symlinks in the mount tree's terms only when walked by the Sentry (<see cref="Mount.WalksLinks"/>).</summary>
    public bool HasWalkedBinds => Volatile.Read(ref _table).HasWalkedBinds;

    public static int NextId() => Interlocked.Increment(ref s_nextId);

    /// <summary>
    /// The mount that serves <paramref name="norm"/> (an absolute, lexically clean path), with the path in the
    /// file system's own terms in <paramref name="inner"/>: relative to its root for tmpfs and volumes, absolute
    /// for the overlay and /proc. Allocates nothing when the mount shows its file system where it is addressed.
    /// </summary>
    public Mount Find(string norm, out string inner)
    {
        Mount[] visible = Volatile.Read(ref _table).Visible;
        Mount? best = null;
        foreach (Mount m in visible)
        {
            string mp = m.MountPoint;
            if ((best == null || mp.Length > best.MountPoint.Length) && Contains(mp, norm))
            {
                best = m;
            }
        }

        // Some mount at "/" is always visible: nothing can be mounted above it.
        inner = Inner(best!, norm);
        return best!;
    }

    /// <summary>The mount with id <paramref name="id"/> (hidden or not), or null when it is gone.</summary>
    public Mount? ById(int id)
    {
        foreach (Mount m in Volatile.Read(ref _table).All)
        {
            if (m.Id == id)
            {
                return m;
            }
        }

        return null;
    }

    /// <summary>The visible mount whose mount point is exactly <paramref name="norm"/>, or null.</summary>
    public Mount? MountedAt(string norm)
    {
        Mount m = Find(norm, out _);
        return m.MountPoint == norm ? m : null;
    }

    /// <summary>
    /// Adds a mount on top of what <see cref="Mount.MountPoint"/> shows now; its parent is the mount that
    /// showed the mount point. Returns the mount as added.
    /// </summary>
    public Mount Add(Mount m)
    {
        lock (_mu)
        {
            m = m with { ParentId = Find(m.MountPoint, out _).Id };
            Mount[] all = Volatile.Read(ref _table).All;
            var next = new Mount[all.Length + 1];
            all.CopyTo(next, 0);
            next[^1] = m;
            Publish(next);
            return m;
        }
    }

    /// <summary>Adds mounts in order (a recursive bind's copies).</summary>
    public void AddRange(IReadOnlyList<Mount> mounts)
    {
        lock (_mu)
        {
            var next = new List<Mount>(Volatile.Read(ref _table).All);
            next.AddRange(mounts);
            Publish(next.ToArray());
        }
    }

    /// <summary>Replaces a mount by a changed copy (remount). Returns false if it is no longer in the table.</summary>
    public bool Replace(Mount old, Mount changed)
    {
        lock (_mu)
        {
            Mount[] all = (Mount[])Volatile.Read(ref _table).All.Clone();
            int i = Array.IndexOf(all, old);
            if (i < 0)
            {
                return false;
            }

            all[i] = changed;
            Publish(all);
            return true;
        }
    }

    /// <summary>
    /// Removes <paramref name="m"/>: with <paramref name="detach"/> its whole subtree of mounts goes too
    /// (MNT_DETACH); without, a mount that others lie on answers EBUSY.
    /// </summary>
    public Errno Remove(Mount m, bool detach)
    {
        lock (_mu)
        {
            Mount[] all = Volatile.Read(ref _table).All;
            if (Array.IndexOf(all, m) < 0)
            {
                return Errno.EINVAL;
            }

            var gone = new HashSet<int> { m.Id };
            foreach (Mount other in all)
            {
                // Mount order puts children after their parents, so one pass finds the whole subtree.
                if (other != m && gone.Contains(other.ParentId))
                {
                    if (!detach)
                    {
                        return Errno.EBUSY;
                    }

                    gone.Add(other.Id);
                }
            }

            Publish(Array.FindAll(all, x => !gone.Contains(x.Id)));
            return Errno.None;
        }
    }

    /// <summary>
    /// umount2's MNT_EXPIRE: marks the mount and answers false the first time, true when it was already marked.
    /// </summary>
    public bool MarkExpired(Mount m)
    {
        lock (_mu)
        {
            return !_expiring.Add(m.Id);
        }
    }

    /// <summary>
    /// Moves <paramref name="m"/> and the mounts on it to <paramref name="mountPoint"/> (MS_MOVE): they go to
    /// the end of the mount order, on top of what the new place shows. Returns false if it is no longer here.
    /// </summary>
    public bool Move(Mount m, string mountPoint)
    {
        lock (_mu)
        {
            Mount[] all = Volatile.Read(ref _table).All;
            if (Array.IndexOf(all, m) < 0)
            {
                return false;
            }

            var ids = new HashSet<int> { m.Id };
            var stay = new List<Mount>();
            var moved = new List<Mount>();
            foreach (Mount x in all)
            {
                if (x == m || ids.Contains(x.ParentId))
                {
                    ids.Add(x.Id);
                    string mp = x == m ? mountPoint : (mountPoint.Length == 1 ? string.Empty : mountPoint) + x.MountPoint[m.MountPoint.Length..];
                    moved.Add(x == m ? x with { MountPoint = mp, ParentId = Find(mountPoint, out _).Id } : x with { MountPoint = mp });
                }
                else
                {
                    stay.Add(x);
                }
            }

            stay.AddRange(moved);
            Publish(stay.ToArray());
            return true;
        }
    }

    /// <summary>
    /// The mounts at or below <paramref name="m"/>'s mount point that lie on it, in mount order (what a
    /// recursive bind copies): <paramref name="m"/> first.
    /// </summary>
    public List<Mount> Subtree(Mount m)
    {
        var tree = new List<Mount> { m };
        var ids = new HashSet<int> { m.Id };
        foreach (Mount other in Volatile.Read(ref _table).All)
        {
            if (other != m && ids.Contains(other.ParentId))
            {
                tree.Add(other);
                ids.Add(other.Id);
            }
        }

        return tree;
    }

    /// <summary>A copy for a new namespace (unshare or clone with CLONE_NEWNS): the same mounts with new ids.</summary>
    public MountNamespace Clone()
    {
        Mount[] all = Volatile.Read(ref _table).All;
        var ids = new Dictionary<int, int>();
        var copy = new Mount[all.Length];
        for (int i = 0; i < all.Length; i++)
        {
            int id = NextId();
            ids[all[i].Id] = id;
            copy[i] = all[i] with { Id = id, ParentId = ids.TryGetValue(all[i].ParentId, out int p) ? p : id };
        }

        return new MountNamespace(copy);
    }

    /// <summary>
    /// Every place the namespace shows what <paramref name="norm"/> names (an absolute, clean, link-free path):
    /// the path itself first, then its path through each other visible mount of the same file system whose root
    /// contains it (a directory bound at two places, a bind and the file system's own mount). With
    /// <paramref name="second"/> (a rename's new name, on the same mount) each place carries that name's path
    /// there too, and only places that show both count. Linux's open files and working directories hold
    /// dentries, which every mount of them shows; here they hold paths, so a change is applied at each place.
    /// </summary>
    public List<(string First, string? Second)> Views(string norm, string? second)
    {
        var views = new List<(string, string?)> { (norm, second) };
        Mount m = Find(norm, out string inner);
        string? inner2 = null;
        if (second != null && Find(second, out inner2) != m)
        {
            return views;
        }

        foreach (Mount other in Volatile.Read(ref _table).Visible)
        {
            if (other == m || !SameFileSystem(m, other) || Outer(other, inner) is not string first || Find(first, out _) != other)
            {
                continue;
            }

            string? next = inner2 == null ? null : Outer(other, inner2);
            if (inner2 == null || (next != null && Find(next, out _) == other))
            {
                views.Add((first, next));
            }
        }

        return views;
    }

    // Whether two mounts show one file system (whatever directory of it each shows).
    private static bool SameFileSystem(Mount a, Mount b) => a.Kind == b.Kind && a.Kind switch
    {
        MountKind.Overlay => true,
        MountKind.Tmpfs => a.Tmpfs == b.Tmpfs,
        MountKind.Volume => a.Volume == b.Volume,
        _ => false, // /proc, /sys and the rest: nothing there is renamed
    };

    // The namespace path at which mount m shows the file system's path `inner` (in Inner's terms), or null when
    // m's root does not contain it.
    private static string? Outer(Mount m, string inner)
    {
        string mp = m.MountPoint;
        string rest;
        if (m.Kind == MountKind.Overlay)
        {
            if (!Contains(m.Root, inner))
            {
                return null;
            }

            rest = m.Root.Length == 1 ? (inner.Length == 1 ? string.Empty : inner) : inner[m.Root.Length..];
        }
        else
        {
            if (m.Root.Length != 0 && !(inner == m.Root || (inner.Length > m.Root.Length && inner[m.Root.Length] == '/' && inner.StartsWith(m.Root, StringComparison.Ordinal))))
            {
                return null;
            }

            rest = m.Root.Length == 0 ? (inner.Length == 0 ? string.Empty : "/" + inner) : inner[m.Root.Length..];
        }

        return rest.Length == 0 ? mp : mp.Length == 1 ? rest : mp + rest;
    }

    /// <summary>Whether mount point <paramref name="mp"/> contains the clean absolute path <paramref name="path"/>.</summary>
    public static bool Contains(string mp, string path) =>
        mp.Length == 1 || (path.StartsWith(mp, StringComparison.Ordinal) && (path.Length == mp.Length || path[mp.Length] == '/'));

    // The path of norm inside m's file system.
    private static string Inner(Mount m, string norm)
    {
        string mp = m.MountPoint;
        if (m.Kind is MountKind.Overlay or MountKind.Proc or MountKind.Sysfs or MountKind.Mqueue or MountKind.Cgroup)
        {
            if (mp == m.Root)
            {
                return norm; // the file system where it is addressed: the common case
            }

            string rest = mp.Length == 1 ? norm : norm[mp.Length..];
            return m.Root.Length == 1 ? (rest.Length == 0 ? "/" : rest) : m.Root + rest;
        }

        string rel = norm.Length == mp.Length ? string.Empty : mp.Length == 1 ? norm[1..] : norm[(mp.Length + 1)..];
        return m.Root.Length == 0 ? rel : rel.Length == 0 ? m.Root : m.Root + "/" + rel;
    }

    private void Publish(Mount[] all) => Volatile.Write(ref _table, new Table(all, VisibleOf(all)));

    /// <summary>
    /// pivot_root(2)'s move, in path terms: <paramref name="newRoot"/> (the mount at <paramref name="newPath"/>)
    /// and the mounts on it take the place of the mount at <paramref name="rootPath"/>, and that old root with the
    /// rest of its mounts goes to <paramref name="putOld"/> (a directory at or below the new root, named before the
    /// move). Returns the function that maps a path of before the move to its path after, or null if
    /// <paramref name="newRoot"/> is gone.
    /// </summary>
    public Func<string, string>? Pivot(Mount newRoot, string rootPath, string newPath, string putOld)
    {
        lock (_mu)
        {
            Mount[] all = Volatile.Read(ref _table).All;
            if (Array.IndexOf(all, newRoot) < 0 || MountedAt(rootPath) is not Mount oldRoot)
            {
                return null;
            }

            string oldAfter = Join(rootPath, Below(putOld, newPath));
            string Moved(string p) =>
                Contains(newPath, p) ? Join(rootPath, Below(p, newPath)) : Contains(rootPath, p) ? Join(oldAfter, Below(p, rootPath)) : p;

            var outside = new List<Mount>();
            var newTree = new List<Mount>();
            var oldTree = new List<Mount>();
            bool seenNew = false;
            foreach (Mount m in all)
            {
                // The new tree is the new root and what was mounted on it after it; mounts it hides stay with the old.
                seenNew |= m == newRoot;
                if (m == newRoot || (seenNew && Contains(newPath, m.MountPoint)))
                {
                    newTree.Add(m with { MountPoint = Moved(m.MountPoint), ParentId = m == newRoot ? oldRoot.ParentId == oldRoot.Id ? m.Id : oldRoot.ParentId : m.ParentId });
                }
                else if (Contains(rootPath, m.MountPoint))
                {
                    oldTree.Add(m with { MountPoint = Join(oldAfter, Below(m.MountPoint, rootPath)) });
                }
                else
                {
                    outside.Add(m);
                }
            }

            // The old root now lies on whatever shows its new place in the new tree.
            Mount parent = newTree[0];
            foreach (Mount m in newTree)
            {
                if (Contains(m.MountPoint, oldAfter) && m.MountPoint.Length >= parent.MountPoint.Length)
                {
                    parent = m;
                }
            }

            for (int i = 0; i < oldTree.Count; i++)
            {
                if (oldTree[i].Id == oldRoot.Id)
                {
                    oldTree[i] = oldTree[i] with { ParentId = parent.Id };
                }
            }

            outside.AddRange(newTree);
            outside.AddRange(oldTree);
            Publish(outside.ToArray());
            return Moved;
        }
    }

    // A path joined to a directory ("" or "/x/y" after it), and the part of a path below a directory containing it.
    private static string Join(string dir, string rest) => rest.Length == 0 ? dir : dir.Length == 1 ? rest : dir + rest;

    private static string Below(string path, string dir) => dir.Length == 1 ? (path.Length == 1 ? string.Empty : path) : path[dir.Length..];

    // A mount is hidden when a later mount sits on its mount point or on a directory above it (a later
    // mount on a directory below it is its child, or a child's).
    private static Mount[] VisibleOf(Mount[] all)
    {
        var visible = new List<Mount>(all.Length);
        for (int i = 0; i < all.Length; i++)
        {
            bool hidden = false;
            for (int j = i + 1; j < all.Length && !hidden; j++)
            {
                hidden = Contains(all[j].MountPoint, all[i].MountPoint);
            }

            if (!hidden)
            {
                visible.Add(all[i]);
            }
        }

        return visible.ToArray();
    }

    private sealed record Table(Mount[] All, Mount[] Visible)
    {
        public bool ForeignRoot { get; } = All[0] is not { Kind: MountKind.Overlay, MountPoint: "/", Root: "/" };

        public bool HasWalkedBinds { get; } = Array.Exists(Visible, m => m.WalksLinks);
    }
}
