using System;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// The semaphore sets of an <see cref="IpcNamespace"/>: semget, semtimedop and semctl with Linux's checks in
/// Linux's order, and SEM_UNDO at process exit. <see cref="Mu"/> protects every set, waiter and undo record; it
/// is a leaf lock (app memory is copied before or after it is held, never under it).
/// </summary>
internal sealed class SemRegistry
{
    /// <summary>Linux's defaults: SEMMSL, SEMMNS, SEMOPM, SEMMNI.</summary>
    public const int MaxPerSet = 32000;

    public const int MaxTotal = 1024000000;

    public const int MaxOps = 500;

    public const int MaxSets = 32000;

    // Protected by Mu.
    private int _totalSems;

    /// <summary>Protects everything here.</summary>
    public System.Threading.Lock Mu { get; } = new();

    /// <summary>The sets by id. Protected by Mu.</summary>
    public IpcIdTable<SemSet> Table { get; } = new();

    /// <summary>Implements semget(2).</summary>
    public long Get(Credentials c, int key, int nsems, int flags)
    {
        if (nsems < 0 || nsems > MaxPerSet)
        {
            return -Errno.EINVAL.Value;
        }

        lock (Mu)
        {
            return IpcNamespace.Get(
                Table,
                key,
                flags,
                c,
                s => nsems > s.Count ? Errno.EINVAL : Errno.None,
                (out Errno err) => Create(c, key, nsems, flags, out err));
        }
    }

    // Linux's newary. Preconditions: Mu is held.
    private SemSet? Create(Credentials c, int key, int nsems, int flags, out Errno err)
    {
        err = Errno.EINVAL;
        if (nsems == 0)
        {
            return null;
        }

        err = Errno.ENOSPC;
        if (_totalSems + nsems > MaxTotal)
        {
            return null;
        }

        var s = new SemSet(key, c, flags, nsems);
        if (!Table.Add(s, MaxSets))
        {
            return null;
        }

        _totalSems += nsems;
        err = Errno.None;
        return s;
    }

    /// <summary>
    /// Implements the part of semtimedop(2) after the operations were read: the lookup, EFBIG, the permission
    /// check, then the atomic application, sleeping (on the task's wake event) until it can be applied.
    /// <paramref name="timeoutMs"/> -1 waits forever. Returns 0 or -errno (EAGAIN for IPC_NOWAIT or a timeout,
    /// EINTR for a signal, EIDRM when the set goes away meanwhile).
    /// </summary>
    public long Op(Task t, int id, ReadOnlySpan<SemBuf> ops, int timeoutMs)
    {
        int maxNum = 0;
        bool undo = false;
        bool alters = false;
        foreach (SemBuf op in ops)
        {
            maxNum = Math.Max(maxNum, op.sem_num);
            undo |= (op.sem_flg & IpcConst.SEM_UNDO) != 0;
            alters |= op.sem_op != 0;
        }

        Pid pid = t.Group.Pid;
        SemWaiter w;
        lock (Mu)
        {
            SemSet? s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            if (maxNum >= s.Count)
            {
                return -Errno.EFBIG.Value;
            }

            if (!s.MayAccess(t.Credentials, alters ? 0x92 : 0x124))
            {
                return -Errno.EACCES.Value;
            }

            SemUndo? u = undo ? UndoFor(t.Group, s) : null;
            int r = s.TryApply(ops, u, pid, out int blocking);
            if (r == 0)
            {
                s.OpTime = IpcNamespace.Now();
                if (alters)
                {
                    s.WakeWaiters();
                }

                return 0;
            }

            if (r < 0)
            {
                return r;
            }

            if (timeoutMs == 0)
            {
                return -Errno.EAGAIN.Value;
            }

            w = new SemWaiter(t, ops.ToArray(), u, pid, alters) { Blocking = blocking }; // only a sleeper allocates
            s.Waiters.AddLast(w);
        }

        long br = t.Block(null, w.IsDone, timeoutMs);
        lock (Mu)
        {
            if (w.Done)
            {
                return w.Result;
            }

            SemSet? s = Table.Find(id);
            s?.Waiters.Remove(w);
            return br == -Errno.ETIMEDOUT.Value ? -Errno.EAGAIN.Value : -Errno.EINTR.Value;
        }
    }

    // The undo record of group g for set s, made on first use. Preconditions: Mu is held.
    private static SemUndo UndoFor(ThreadGroup g, SemSet s)
    {
        SemUndoList list = g.SemUndo ??= new SemUndoList();
        foreach (SemUndo u in list.Undos)
        {
            if (u.Set == s)
            {
                return u;
            }
        }

        var made = new SemUndo(s, list);
        list.Undos.Add(made);
        s.Undos.Add(made);
        return made;
    }

    /// <summary>
    /// Applies a process's SEM_UNDO adjustments as it exits (Linux's exit_sem): each value moves by its
    /// adjustment, clamped to [0, SEMVMX], and waiters get their chance.
    /// </summary>
    public void ExitProcess(ThreadGroup g)
    {
        lock (Mu)
        {
            SemUndoList? list = g.SemUndo;
            if (list == null)
            {
                return;
            }

            g.SemUndo = null;
            foreach (SemUndo u in list.Undos)
            {
                SemSet s = u.Set;
                s.Undos.Remove(u);
                if (s.Removed)
                {
                    continue;
                }

                for (int i = 0; i < s.Count; i++)
                {
                    if (u.Adjust[i] != 0)
                    {
                        int v = Math.Clamp(s.Values[i] + u.Adjust[i], 0, SemSet.MaxValue);
                        s.Values[i] = (short)v;
                        s.Pids[i] = g.Pid;
                    }
                }

                s.WakeWaiters();
            }
        }
    }

    /// <summary>Implements IPC_RMID: every waiter answers EIDRM, undo records are dropped.</summary>
    public long Remove(Credentials c, int id)
    {
        lock (Mu)
        {
            SemSet? s = Table.FindForControl(c, id, out long r);
            if (s == null)
            {
                return r;
            }

            Table.Remove(s);
            _totalSems -= s.Count;
            foreach (SemWaiter w in s.Waiters)
            {
                w.Complete(-Errno.EIDRM.Value);
            }

            s.Waiters.Clear();
            foreach (SemUndo u in s.Undos)
            {
                u.Owner.Undos.Remove(u);
            }

            s.Undos.Clear();
            return 0;
        }
    }

    /// <summary>Implements IPC_SET.</summary>
    public long Set(Credentials c, int id, in SemidDs ds)
    {
        lock (Mu)
        {
            SemSet? s = Table.FindForControl(c, id, out long r);
            return s == null ? r : -s.SetPerm(ds.sem_perm).Value;
        }
    }

    /// <summary>IPC_STAT, or SEM_STAT / SEM_STAT_ANY by index (answering the id).</summary>
    public long Stat(Credentials c, int idOrIndex, bool byIndex, bool check, out SemidDs ds)
    {
        ds = default;
        lock (Mu)
        {
            SemSet? s = Table.FindForStat(c, idOrIndex, byIndex, check, out long r);
            if (s == null)
            {
                return r;
            }

            ds = s.ToDs();
            return byIndex ? s.Id : 0;
        }
    }

    /// <summary>IPC_INFO (limits) or SEM_INFO (limits with usage); returns the highest index in use (or 0).</summary>
    public long Info(bool usage, out SemInfo info)
    {
        info = new SemInfo
        {
            semmap = MaxTotal,
            semmni = MaxSets,
            semmns = MaxTotal,
            semmnu = MaxTotal,
            semmsl = MaxPerSet,
            semopm = MaxOps,
            semume = MaxOps,
            semusz = 20,
            semvmx = SemSet.MaxValue,
            semaem = SemSet.MaxValue,
        };
        lock (Mu)
        {
            if (usage)
            {
                info.semusz = Table.InUse;
                info.semaem = _totalSems;
            }

            return Math.Max(Table.MaxIndex, 0);
        }
    }

    /// <summary>
    /// GETVAL, GETPID, GETNCNT, GETZCNT (read permission) on semaphore <paramref name="num"/>.
    /// </summary>
    public long GetOne(Credentials c, PidNamespace ns, int id, int num, int cmd)
    {
        lock (Mu)
        {
            SemSet? s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            if (!s.MayAccess(c, 0x124))
            {
                return -Errno.EACCES.Value;
            }

            if (num < 0 || num >= s.Count)
            {
                return -Errno.EINVAL.Value;
            }

            return cmd switch
            {
                IpcConst.GETVAL => s.Values[num],
                IpcConst.GETPID => s.Pids[num]?.In(ns) ?? 0,
                IpcConst.GETNCNT => s.CountWaiters(num, zero: false),
                _ => s.CountWaiters(num, zero: true),
            };
        }
    }

    /// <summary>SETVAL: sets one value, forgets adjustments of it, wakes waiters.</summary>
    public long SetOne(Task t, int id, int num, int value)
    {
        if (value < 0 || value > SemSet.MaxValue)
        {
            return -Errno.ERANGE.Value;
        }

        lock (Mu)
        {
            SemSet? s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            if (num < 0 || num >= s.Count)
            {
                return -Errno.EINVAL.Value;
            }

            if (!s.MayAccess(t.Credentials, 0x92))
            {
                return -Errno.EACCES.Value;
            }

            s.ClearAdjustments(num);
            s.Values[num] = (short)value;
            s.Pids[num] = t.Group.Pid;
            s.ChangeTime = IpcNamespace.Now();
            s.WakeWaiters();
            return 0;
        }
    }

    /// <summary>0 when <paramref name="c"/> may access set <paramref name="id"/> as <paramref name="flag"/> asks, or -errno.</summary>
    public long Access(Credentials c, int id, int flag)
    {
        lock (Mu)
        {
            SemSet? s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            return s.MayAccess(c, flag) ? 0 : -Errno.EACCES.Value;
        }
    }

    /// <summary>The number of semaphores in set <paramref name="id"/> (for GETALL/SETALL buffers), or -errno.</summary>
    public long CountOf(int id)
    {
        lock (Mu)
        {
            SemSet? s = Table.Find(id);
            return s == null ? -Errno.EINVAL.Value : s.Count;
        }
    }

    /// <summary>GETALL into <paramref name="values"/>, which holds the set's count (read permission).</summary>
    public long GetAll(Credentials c, int id, Span<ushort> values)
    {
        lock (Mu)
        {
            SemSet? s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            if (!s.MayAccess(c, 0x124))
            {
                return -Errno.EACCES.Value;
            }

            if (values.Length != s.Count)
            {
                return -Errno.EAGAIN.Value; // the set changed under us; the caller retries
            }

            for (int i = 0; i < s.Count; i++)
            {
                values[i] = (ushort)s.Values[i];
            }

            return 0;
        }
    }

    /// <summary>SETALL from <paramref name="values"/> (write permission; ERANGE beyond SEMVMX).</summary>
    public long SetAll(Task t, int id, ReadOnlySpan<ushort> values)
    {
        lock (Mu)
        {
            SemSet? s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            if (!s.MayAccess(t.Credentials, 0x92))
            {
                return -Errno.EACCES.Value;
            }

            if (values.Length != s.Count)
            {
                return -Errno.EAGAIN.Value;
            }

            foreach (ushort v in values)
            {
                if (v > SemSet.MaxValue)
                {
                    return -Errno.ERANGE.Value;
                }
            }

            for (int i = 0; i < s.Count; i++)
            {
                s.Values[i] = (short)values[i];
                s.Pids[i] = t.Group.Pid;
            }

            s.ClearAdjustments(-1);
            s.ChangeTime = IpcNamespace.Now();
            s.WakeWaiters();
            return 0;
        }
    }
}
