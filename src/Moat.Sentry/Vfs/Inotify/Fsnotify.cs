using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Inotify;

/// <summary>
/// Where file events meet inotify watches (Linux's fsnotify): the syscalls that change or use files
/// report here, by inode (device and inode number), and every watch on that inode, or on the directory
/// the name is in, gets its event. Nothing is done while no watch exists (<see cref="Active"/>), so the
/// file syscalls pay one volatile read. The registry is process-wide, like the file lock table.
/// Events are reported for changes made inside the sandbox only; a volume changed by the host says nothing.
/// </summary>
internal static class Fsnotify
{
    /// <summary>Guards the registry; taken before any InotifyFile's own lock.</summary>
    public static readonly Lock Mu = new();

    // Protected by Mu.
    private static readonly Dictionary<InodeKey, List<InotifyFile.Watch>> s_byInode = [];
    private static int s_watches;
    private static int s_cookie;

    /// <summary>Whether any watch exists (read without the lock: a new watch sees the events after it).</summary>
    public static bool Active => Volatile.Read(ref s_watches) > 0;

    internal static void AddLocked(InotifyFile.Watch w)
    {
        if (!s_byInode.TryGetValue(w.Inode, out List<InotifyFile.Watch>? list))
        {
            list = [];
            s_byInode[w.Inode] = list;
        }

        list.Add(w);
        Volatile.Write(ref s_watches, s_watches + 1);
    }

    internal static void RemoveLocked(InotifyFile.Watch w)
    {
        if (s_byInode.TryGetValue(w.Inode, out List<InotifyFile.Watch>? list) && list.Remove(w))
        {
            if (list.Count == 0)
            {
                s_byInode.Remove(w.Inode);
            }

            Volatile.Write(ref s_watches, s_watches - 1);
        }
    }

    /// <summary>Counts <see cref="Dnotify"/> entries among the watches, so that <see cref="Active"/> covers them.</summary>
    /// <remarks>Preconditions: Mu is held.</remarks>
    internal static void CountLocked(int delta) => Volatile.Write(ref s_watches, s_watches + delta);

    /// <summary>A cookie that ties IN_MOVED_FROM to its IN_MOVED_TO.</summary>
    public static uint NextCookie() => (uint)Interlocked.Increment(ref s_cookie);

    /// <summary>Gives <paramref name="ev"/> to every watch on <paramref name="inode"/> that asked for it.</summary>
    /// <remarks>A directory's F_NOTIFY entries get it too (<see cref="Dnotify"/>): their signals go after Mu is released.</remarks>
    public static void Deliver(InodeKey inode, uint ev, uint cookie, string? name, bool isDir)
    {
        List<(FileDescription File, int Fd)>? dnotify = null;
        lock (Mu)
        {
            Dnotify.CollectLocked(inode, ev, ref dnotify);
            if (s_byInode.TryGetValue(inode, out List<InotifyFile.Watch>? list))
            {
                foreach (InotifyFile.Watch w in list.ToArray())
                {
                    if ((w.Mask & ev) == 0)
                    {
                        continue;
                    }

                    w.Owner.Queue(w.Wd, ev | (isDir ? InotifyMask.IN_ISDIR : 0), cookie, name);
                    if ((w.Mask & InotifyMask.IN_ONESHOT) != 0)
                    {
                        w.Owner.DropLocked(w);
                    }
                }
            }
        }

        if (dnotify != null)
        {
            Dnotify.Signal(dnotify);
        }
    }

    /// <summary>An inode is gone: its watches go, each with IN_IGNORED.</summary>
    public static void Ignore(InodeKey inode)
    {
        lock (Mu)
        {
            if (s_byInode.TryGetValue(inode, out List<InotifyFile.Watch>? list))
            {
                foreach (InotifyFile.Watch w in list.ToArray())
                {
                    w.Owner.DropLocked(w);
                }
            }
        }
    }

    /// <summary>Looks a path up for an event. Returns false when it is not there.</summary>
    public static bool Lookup(Task t, string absolute, bool follow, out InodeKey key, out Stat st)
    {
        bool found = PathOps.Stat(t, absolute, follow, out st) == 0;
        key = InodeKey.Of(st);
        return found;
    }

    /// <summary>An entry event (create, delete, move) for the name <paramref name="absolute"/> ends in, given to its directory.</summary>
    public static void Entry(Task t, string absolute, uint ev, uint cookie, bool isDir)
    {
        string norm = PathResolver.Normalize(absolute);
        int slash = norm.LastIndexOf('/');
        if (slash < 0 || norm.Length == 1)
        {
            return;
        }

        string parent = slash == 0 ? "/" : norm[..slash];
        if (PathOps.Stat(t, parent, follow: true, out Stat st) == 0)
        {
            Deliver(InodeKey.Of(st), ev, cookie, norm[(slash + 1)..], isDir);
        }
    }

    /// <summary>An event on a file (modify, attrib, open, close): to its own watches and, with its name, to its directory's.</summary>
    public static void OnInode(Task? t, InodeKey key, bool isDir, string? path, InodeKey? parent, uint ev)
    {
        // As Linux reports it: the directory's watch (with the name) first, then the file's own.
        if ((ev & InotifyMask.ChildEvents) != 0 && path != null)
        {
            ToParent(t, path, parent, ev, isDir);
        }

        Deliver(key, ev, 0, null, isDir);
    }

    private static void ToParent(Task? t, string path, InodeKey? parent, uint ev, bool isDir)
    {

        string norm = PathResolver.Normalize(path);
        int slash = norm.LastIndexOf('/');
        if (slash < 0 || norm.Length == 1)
        {
            return;
        }

        if (parent == null && t != null && PathOps.Stat(t, slash == 0 ? "/" : norm[..slash], follow: true, out Stat st) == 0)
        {
            parent = InodeKey.Of(st);
        }

        if (parent is InodeKey p)
        {
            Deliver(p, ev, 0, norm[(slash + 1)..], isDir);
        }
    }

    /// <summary>An event on the file at a path.</summary>
    public static void OnPath(Task t, string absolute, bool follow, uint ev)
    {
        if (Lookup(t, absolute, follow, out InodeKey key, out Stat st))
        {
            OnInode(t, key, (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR, absolute, null, ev);
        }
    }

    /// <summary>An event on an open file.</summary>
    public static void OnFile(Task? t, FileDescription f, uint ev)
    {
        if (f.Path == null || (f.StatusFlags & OpenFlags.O_PATH) != 0 || f is InotifyFile || f.Stat(out Stat st) < 0)
        {
            return;
        }

        OnInode(t, InodeKey.Of(st), (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR, f.Path, f.WatchParent, ev);
    }

    /// <summary>A successful open: IN_CREATE for a new name, IN_MODIFY for O_TRUNC, then IN_OPEN; remembers the directory for IN_CLOSE_*.</summary>
    public static void Opened(Task t, FileDescription f, string absolute, bool created, bool truncated)
    {
        if (f.Path == null)
        {
            return;
        }

        string norm = PathResolver.Normalize(f.Path);
        int slash = norm.LastIndexOf('/');
        if (slash >= 0 && norm.Length > 1 && PathOps.Stat(t, slash == 0 ? "/" : norm[..slash], follow: true, out Stat dir) == 0)
        {
            f.WatchParent = InodeKey.Of(dir);
        }

        if (created)
        {
            Entry(t, absolute, InotifyMask.IN_CREATE, 0, isDir: false);
        }

        if (truncated)
        {
            OnFile(t, f, InotifyMask.IN_MODIFY);
        }

        OnFile(t, f, InotifyMask.IN_OPEN);
    }

    /// <summary>The last close of an open file: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE.</summary>
    public static void Closed(FileDescription f)
    {
        int acc = f.StatusFlags & OpenFlags.O_ACCMODE;
        OnFile(null, f, acc == OpenFlags.O_RDONLY ? InotifyMask.IN_CLOSE_NOWRITE : InotifyMask.IN_CLOSE_WRITE);
    }
}
