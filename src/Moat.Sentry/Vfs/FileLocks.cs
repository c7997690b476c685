using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>A file's identity for locking: two opens of one file see each other's locks.</summary>
internal readonly record struct FileKey(ulong Dev, ulong Ino);

/// <summary>One byte-range lock. End is inclusive; long.MaxValue means "to the end of the file, however long".</summary>
internal sealed class RecordLock
{
    public required object Owner { get; init; }

    /// <summary>The locking process (F_GETLK's l_pid); -1 for open-file-description locks.</summary>
    public required int Pid { get; init; }

    public required bool Write { get; init; }

    public required long Start { get; set; }

    public required long End { get; set; }
}

/// <summary>
/// The flock(2) and fcntl(2) locks of every file, kept by the Sentry and keyed by file identity.
/// flock and open-file-description locks are owned by a <see cref="FileDescription"/> and go with its last
/// close; POSIX record locks are owned by an <see cref="FdTable"/> (Linux's files_struct) and go when that
/// table closes any fd of the file. Lock order: s_mu is taken before WaitQueue locks and after nothing else.
/// </summary>
internal static partial class FileLocks
{
    private static readonly Lock s_mu = new();

    // Protected by s_mu.
    private static readonly Dictionary<FileKey, InodeLocks> s_inodes = [];

    // Which owner a blocked F_SETLKW waits for, to answer EDEADLK instead of sleeping forever.
    private static readonly Dictionary<object, object> s_waitsFor = new(ReferenceEqualityComparer.Instance);

    // How many POSIX record locks exist anywhere; lets close skip the lookup when there are none.
    private static int s_posixLocks;

    private sealed class InodeLocks
    {
        public readonly List<(FileDescription Owner, bool Exclusive)> Flocks = [];
        public readonly List<RecordLock> Records = [];
        public readonly WaitQueue Waiters = new();

        public bool Empty => Flocks.Count == 0 && Records.Count == 0;
    }

    /// <summary>The lock identity of <paramref name="f"/>, or -errno.</summary>
    public static long KeyOf(FileDescription f, out FileKey key)
    {
        long r = f.Stat(out Stat st);
        key = new FileKey(st.st_dev, st.st_ino);
        return r;
    }

    // Preconditions: s_mu is held.
    private static InodeLocks Get(FileKey key)
    {
        if (!s_inodes.TryGetValue(key, out InodeLocks? l))
        {
            l = new InodeLocks();
            s_inodes[key] = l;
        }

        return l;
    }

    // Preconditions: s_mu is held. Wakes waiters and forgets an inode without locks.
    private static void Changed(FileKey key, InodeLocks l)
    {
        l.Waiters.Notify();
        if (l.Empty)
        {
            s_inodes.Remove(key);
        }
    }

    /// <summary>Called on the last close of a description that took flock or OFD locks.</summary>
    public static void ReleaseDescription(FileDescription f, FileKey key)
    {
        lock (s_mu)
        {
            if (!s_inodes.TryGetValue(key, out InodeLocks? l))
            {
                return;
            }

            l.Flocks.RemoveAll(h => ReferenceEquals(h.Owner, f));
            l.Records.RemoveAll(r => ReferenceEquals(r.Owner, f));
            Changed(key, l);
        }
    }

    /// <summary>Called when <paramref name="table"/> closes an fd of <paramref name="f"/>: drops the table's POSIX locks on the file.</summary>
    public static void OnClose(FdTable table, FileDescription f)
    {
        if (Volatile.Read(ref s_posixLocks) == 0 || KeyOf(f, out FileKey key) < 0)
        {
            return;
        }

        lock (s_mu)
        {
            if (s_inodes.TryGetValue(key, out InodeLocks? l))
            {
                s_posixLocks -= l.Records.RemoveAll(r => ReferenceEquals(r.Owner, table));
                Changed(key, l);
            }
        }
    }

    /// <summary>Implements flock(2)'s LOCK_SH, LOCK_EX (type: exclusive or not) and LOCK_UN (unlock).</summary>
    public static long Flock(Task t, FileDescription f, bool unlock, bool exclusive, bool nonBlocking)
    {
        long r = KeyOf(f, out FileKey key);
        if (r < 0)
        {
            return r;
        }

        f.LockKey = key;
        lock (s_mu)
        {
            InodeLocks l = Get(key);

            // Like Linux, a conversion drops the old lock first, so it is not atomic.
            if (l.Flocks.RemoveAll(h => ReferenceEquals(h.Owner, f)) > 0 || unlock)
            {
                Changed(key, l);
                if (unlock)
                {
                    return 0;
                }

                l = Get(key);
            }
        }

        while (true)
        {
            lock (s_mu)
            {
                InodeLocks l = Get(key);
                if (!FlockConflicts(l, f, exclusive))
                {
                    l.Flocks.Add((f, exclusive));
                    return 0;
                }

                if (nonBlocking)
                {
                    Changed(key, l);
                    return -Errno.EAGAIN.Value;
                }
            }

            r = t.Block(WaitersOf(key), () =>
            {
                lock (s_mu)
                {
                    return !s_inodes.TryGetValue(key, out InodeLocks? l) || !FlockConflicts(l, f, exclusive);
                }
            });
            if (r < 0)
            {
                return r;
            }
        }
    }

    private static bool FlockConflicts(InodeLocks l, FileDescription f, bool exclusive)
    {
        foreach ((FileDescription owner, bool ex) in l.Flocks)
        {
            if (!ReferenceEquals(owner, f) && (ex || exclusive))
            {
                return true;
            }
        }

        return false;
    }

    private static WaitQueue WaitersOf(FileKey key)
    {
        lock (s_mu)
        {
            return Get(key).Waiters;
        }
    }
}
