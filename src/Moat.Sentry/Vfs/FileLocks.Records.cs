using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>fcntl(2) byte-range locks: POSIX (owned by an fd table) and open-file-description locks.</summary>
internal static partial class FileLocks
{
    /// <summary>
    /// F_GETLK: the first lock of another owner that conflicts with [start, end] for the access, or null.
    /// </summary>
    public static RecordLock? Test(FileKey key, object owner, bool write, long start, long end)
    {
        lock (s_mu)
        {
            return s_inodes.TryGetValue(key, out InodeLocks? l) ? Conflict(l, owner, write, start, end) : null;
        }
    }

    /// <summary>
    /// F_SETLK/F_SETLKW: sets (read or write) or clears (unlock) the owner's lock on [start, end], splitting and
    /// merging the owner's ranges. Returns 0, -EAGAIN, -EDEADLK or an interruption.
    /// </summary>
    public static long Set(Task t, FileKey key, object owner, int pid, bool unlock, bool write, long start, long end, bool wait)
    {
        while (true)
        {
            RecordLock? blocker;
            WaitQueue waiters;
            lock (s_mu)
            {
                InodeLocks l = Get(key);
                blocker = unlock ? null : Conflict(l, owner, write, start, end);
                if (blocker == null)
                {
                    int before = CountOwned(l, owner);
                    Replace(l.Records, owner, start, end);
                    if (!unlock)
                    {
                        Add(l.Records, new RecordLock { Owner = owner, Pid = pid, Write = write, Start = start, End = end });
                    }

                    if (owner is FdTable)
                    {
                        s_posixLocks += CountOwned(l, owner) - before;
                    }

                    Changed(key, l);
                    return 0;
                }

                if (!wait)
                {
                    return -Errno.EAGAIN.Value;
                }

                if (owner is FdTable && WouldDeadlock(owner, blocker.Owner))
                {
                    return -Errno.EDEADLK.Value;
                }

                s_waitsFor[owner] = blocker.Owner;
                waiters = l.Waiters;
            }

            long r;
            try
            {
                r = t.Block(waiters, () =>
                {
                    lock (s_mu)
                    {
                        return !s_inodes.TryGetValue(key, out InodeLocks? l) || Conflict(l, owner, write, start, end) == null;
                    }
                });
            }
            finally
            {
                lock (s_mu)
                {
                    s_waitsFor.Remove(owner);
                }
            }

            if (r < 0)
            {
                return r;
            }
        }
    }

    // Preconditions: s_mu is held.
    private static RecordLock? Conflict(InodeLocks l, object owner, bool write, long start, long end)
    {
        foreach (RecordLock r in l.Records)
        {
            if (!ReferenceEquals(r.Owner, owner) && (r.Write || write) && r.Start <= end && start <= r.End)
            {
                return r;
            }
        }

        return null;
    }

    // Preconditions: s_mu is held. Follows who-waits-for-whom from the blocker back to the requester.
    private static bool WouldDeadlock(object owner, object blocker)
    {
        object cur = blocker;
        for (int i = 0; i < 64 && s_waitsFor.TryGetValue(cur, out object? next); i++)
        {
            if (ReferenceEquals(next, owner))
            {
                return true;
            }

            cur = next;
        }

        return false;
    }

    private static int CountOwned(InodeLocks l, object owner)
    {
        int n = 0;
        foreach (RecordLock r in l.Records)
        {
            if (ReferenceEquals(r.Owner, owner))
            {
                n++;
            }
        }

        return n;
    }

    // Removes [start, end] from the owner's ranges, keeping the parts outside it.
    private static void Replace(List<RecordLock> list, object owner, long start, long end)
    {
        for (int i = list.Count - 1; i >= 0; i--)
        {
            RecordLock r = list[i];
            if (!ReferenceEquals(r.Owner, owner) || r.End < start || r.Start > end)
            {
                continue;
            }

            list.RemoveAt(i);
            if (r.Start < start)
            {
                list.Add(new RecordLock { Owner = owner, Pid = r.Pid, Write = r.Write, Start = r.Start, End = start - 1 });
            }

            if (r.End > end)
            {
                list.Add(new RecordLock { Owner = owner, Pid = r.Pid, Write = r.Write, Start = end + 1, End = r.End });
            }
        }
    }

    // Adds a lock, merging it with the owner's adjacent ranges of the same type.
    private static void Add(List<RecordLock> list, RecordLock n)
    {
        for (int i = list.Count - 1; i >= 0; i--)
        {
            RecordLock r = list[i];
            if (!ReferenceEquals(r.Owner, n.Owner) || r.Write != n.Write)
            {
                continue;
            }

            bool before = r.End != long.MaxValue && r.End + 1 == n.Start;
            bool after = n.End != long.MaxValue && n.End + 1 == r.Start;
            if (before || after)
            {
                list.RemoveAt(i);
                n.Start = System.Math.Min(n.Start, r.Start);
                n.End = System.Math.Max(n.End, r.End);
            }
        }

        list.Add(n);
    }
}
