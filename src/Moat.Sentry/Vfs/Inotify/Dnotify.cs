using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Vfs.Inotify;

/// <summary>
/// Directory notification (fcntl F_NOTIFY, Linux's fs/notify/dnotify): a directory's open description asks
/// for a signal when entries in it are created, deleted, renamed, modified, accessed or have their
/// attributes changed. It rides on the inotify events (<see cref="Fsnotify"/>): each entry is registered by
/// the directory's inode, and a matching event sends the description's owner its F_SETSIG signal (POLL_MSG,
/// si_fd the fd F_NOTIFY was given) or plain SIGIO. An entry belongs to one description in one fd table
/// (Linux's dn_filp and dn_owner); closing any fd of that description in that table removes it, as Linux's
/// dnotify_flush does. Without DN_MULTISHOT an entry fires once.
/// Entries are protected by <see cref="Fsnotify.Mu"/>; signals are sent after it is released.
/// </summary>
internal static class Dnotify
{
    public const uint DN_ACCESS = 0x1;
    public const uint DN_MODIFY = 0x2;
    public const uint DN_CREATE = 0x4;
    public const uint DN_DELETE = 0x8;
    public const uint DN_RENAME = 0x10;
    public const uint DN_ATTRIB = 0x20;
    public const uint DN_MULTISHOT = 0x8000_0000;

    /// <summary>
    /// FS_RENAME, the rename event of the directory a name left: rename(2) sends it only to dnotify (inotify
    /// watches never hold this bit, IN_MASK_CREATE's, which inotify_add_watch strips).
    /// </summary>
    public const uint FsRename = 0x1000_0000;

    // Protected by Fsnotify.Mu.
    private static readonly Dictionary<InodeKey, List<Entry>> s_byInode = [];
    private static int s_entries;

    /// <summary>One F_NOTIFY registration; Mask holds inotify event bits (plus FsRename), as convert_arg makes them.</summary>
    private sealed class Entry(FileDescription file, object owner, int fd, uint mask, bool multishot)
    {
        public FileDescription File { get; } = file;

        public object Owner { get; } = owner;

        public int Fd { get; set; } = fd;

        public uint Mask { get; set; } = mask;

        public bool Multishot { get; set; } = multishot;
    }

    /// <summary>Whether any entry exists (read under no lock by the close path: a stale answer only costs a lookup).</summary>
    public static bool Any => System.Threading.Volatile.Read(ref s_entries) > 0;

    /// <summary>
    /// Implements fcntl(F_NOTIFY) for <paramref name="file"/>, a directory of inode <paramref name="inode"/>,
    /// through <paramref name="fd"/> of the fd table <paramref name="owner"/>: a new entry, or the events
    /// added to the existing one (its fd replaced).
    /// </summary>
    public static void Attach(InodeKey inode, FileDescription file, object owner, int fd, uint arg)
    {
        uint mask = Convert(arg);
        lock (Fsnotify.Mu)
        {
            if (!s_byInode.TryGetValue(inode, out List<Entry>? list))
            {
                list = [];
                s_byInode[inode] = list;
            }

            foreach (Entry e in list)
            {
                if (ReferenceEquals(e.File, file) && ReferenceEquals(e.Owner, owner))
                {
                    e.Fd = fd;
                    e.Mask |= mask;
                    e.Multishot |= (arg & DN_MULTISHOT) != 0;
                    return;
                }
            }

            list.Add(new Entry(file, owner, fd, mask, (arg & DN_MULTISHOT) != 0));
            s_entries++;
            Fsnotify.CountLocked(+1);
        }
    }

    /// <summary>dnotify_flush: an fd of <paramref name="file"/> in <paramref name="owner"/> was closed (or F_NOTIFY was given no events).</summary>
    public static void Flush(FileDescription file, object owner)
    {
        lock (Fsnotify.Mu)
        {
            foreach (KeyValuePair<InodeKey, List<Entry>> kv in s_byInode)
            {
                if (kv.Value.RemoveAll(e => ReferenceEquals(e.File, file) && ReferenceEquals(e.Owner, owner)) is int n and > 0)
                {
                    s_entries -= n;
                    Fsnotify.CountLocked(-n);
                    if (kv.Value.Count == 0)
                    {
                        s_byInode.Remove(kv.Key);
                    }

                    return;
                }
            }
        }
    }

    /// <summary>
    /// The entries on <paramref name="inode"/> that <paramref name="ev"/> (inotify bits) fires, added to
    /// <paramref name="fire"/> as (description, fd); one-shot entries are removed.
    /// </summary>
    /// <remarks>Preconditions: Fsnotify.Mu is held.</remarks>
    public static void CollectLocked(InodeKey inode, uint ev, ref List<(FileDescription File, int Fd)>? fire)
    {
        if (s_entries == 0 || !s_byInode.TryGetValue(inode, out List<Entry>? list))
        {
            return;
        }

        for (int i = 0; i < list.Count; i++)
        {
            Entry e = list[i];
            if ((e.Mask & ev) == 0)
            {
                continue;
            }

            (fire ??= []).Add((e.File, e.Fd));
            if (!e.Multishot)
            {
                list.RemoveAt(i--);
                s_entries--;
                Fsnotify.CountLocked(-1);
            }
        }

        if (list.Count == 0)
        {
            s_byInode.Remove(inode);
        }
    }

    /// <summary>Whether two paths name entries of one directory (as written, normalised).</summary>
    public static bool SameDirectory(string a, string b)
    {
        string na = PathResolver.Normalize(a), nb = PathResolver.Normalize(b);
        int sa = na.LastIndexOf('/'), sb = nb.LastIndexOf('/');
        return sa >= 0 && sa == sb && string.CompareOrdinal(na, 0, nb, 0, sa) == 0;
    }

    /// <summary>send_sigio with POLL_MSG for each fired entry.</summary>
    public static void Signal(List<(FileDescription File, int Fd)> fire)
    {
        foreach ((FileDescription f, int fd) in fire)
        {
            f.Async.Send(FileAsync.POLL_MSG, fd);
        }
    }

    // convert_arg: DN_* to the events that fire them.
    private static uint Convert(uint arg)
    {
        uint m = 0;
        if ((arg & DN_DELETE) != 0)
        {
            m |= InotifyMask.IN_DELETE | InotifyMask.IN_MOVED_FROM;
        }

        if ((arg & DN_MODIFY) != 0)
        {
            m |= InotifyMask.IN_MODIFY;
        }

        if ((arg & DN_ACCESS) != 0)
        {
            m |= InotifyMask.IN_ACCESS;
        }

        if ((arg & DN_ATTRIB) != 0)
        {
            m |= InotifyMask.IN_ATTRIB;
        }

        if ((arg & DN_RENAME) != 0)
        {
            m |= FsRename;
        }

        if ((arg & DN_CREATE) != 0)
        {
            m |= InotifyMask.IN_CREATE | InotifyMask.IN_MOVED_TO;
        }

        return m;
    }
}
