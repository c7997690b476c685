using System;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// A SysV semaphore set (Linux's sem_array): values, the pid of the last operation on each, the queue of
/// semop calls waiting to apply, and the undo records of processes that used SEM_UNDO on it.
/// Fields are protected by <see cref="SemRegistry.Mu"/>.
/// </summary>
internal sealed class SemSet : IpcObject
{
    /// <summary>SEMVMX: the largest value, and SEMAEM: the largest adjustment.</summary>
    public const int MaxValue = 32767;

    public SemSet(int key, Credentials creator, int mode, int count)
        : base(key, creator, mode)
    {
        Values = new short[count];
        Pids = new Pid?[count];
    }

    public short[] Values { get; }

    /// <summary>The last process to operate on each semaphore (sempid), null before any; GETPID shows it in the caller's pid namespace.</summary>
    public Pid?[] Pids { get; }

    public int Count => Values.Length;

    /// <summary>sem_otime: the last successful semop.</summary>
    public long OpTime { get; set; }

    /// <summary>Blocked semop calls, oldest first.</summary>
    public LinkedList<SemWaiter> Waiters { get; } = new();

    /// <summary>The undo records that name this set.</summary>
    public List<SemUndo> Undos { get; } = [];

    /// <summary>
    /// Applies every operation of <paramref name="ops"/> or none (Linux's perform_atomic_semop, which also allows
    /// one semaphore to appear twice). Returns 0 when applied, 1 when the call must wait (the index of the
    /// operation that blocks in <paramref name="blocking"/>), -EAGAIN when that operation has IPC_NOWAIT, or
    /// -ERANGE when a value or an adjustment would leave its range.
    /// </summary>
    public int TryApply(ReadOnlySpan<SemBuf> ops, SemUndo? undo, Pid pid, out int blocking)
    {
        blocking = -1;
        int i = 0;
        int result = 0;
        for (; i < ops.Length; i++)
        {
            ref readonly SemBuf op = ref ops[i];
            int cur = Values[op.sem_num];
            if (op.sem_op == 0 && cur != 0)
            {
                result = Block(ops, i, out blocking);
                break;
            }

            int next = cur + op.sem_op;
            if (next < 0)
            {
                result = Block(ops, i, out blocking);
                break;
            }

            if (next > MaxValue)
            {
                result = -Errno.ERANGE.Value;
                break;
            }

            if ((op.sem_flg & IpcConst.SEM_UNDO) != 0 && undo != null)
            {
                int adj = undo.Adjust[op.sem_num] - op.sem_op;
                if (adj < -MaxValue - 1 || adj > MaxValue)
                {
                    result = -Errno.ERANGE.Value;
                    break;
                }

                undo.Adjust[op.sem_num] = (short)adj;
            }

            Values[op.sem_num] = (short)next;
        }

        if (result == 0)
        {
            foreach (SemBuf op in ops)
            {
                Pids[op.sem_num] = pid;
            }

            return 0;
        }

        // Take back what was applied.
        for (i--; i >= 0; i--)
        {
            ref readonly SemBuf op = ref ops[i];
            Values[op.sem_num] = (short)(Values[op.sem_num] - op.sem_op);
            if ((op.sem_flg & IpcConst.SEM_UNDO) != 0 && undo != null)
            {
                undo.Adjust[op.sem_num] = (short)(undo.Adjust[op.sem_num] + op.sem_op);
            }
        }

        return result;
    }

    private static int Block(ReadOnlySpan<SemBuf> ops, int i, out int blocking)
    {
        blocking = i;
        return (ops[i].sem_flg & IpcConst.IPC_NOWAIT) != 0 ? -Errno.EAGAIN.Value : 1;
    }

    /// <summary>
    /// Lets waiting calls apply now that values changed (Linux's update_queue): oldest first, starting over
    /// after each one that changed a value.
    /// </summary>
    public void WakeWaiters()
    {
        bool again = true;
        while (again)
        {
            again = false;
            LinkedListNode<SemWaiter>? n = Waiters.First;
            while (n != null)
            {
                LinkedListNode<SemWaiter>? next = n.Next;
                SemWaiter w = n.Value;
                int r = TryApply(w.Ops, w.Undo, w.Pid, out int blocking);
                if (r == 1)
                {
                    w.Blocking = blocking;
                }
                else
                {
                    Waiters.Remove(n);
                    w.Complete(r);
                    if (r == 0)
                    {
                        OpTime = IpcNamespace.Now();
                        if (w.Alters)
                        {
                            again = true;
                            break;
                        }
                    }
                }

                n = next;
            }
        }
    }

    /// <summary>GETNCNT (<paramref name="zero"/> false) or GETZCNT: waiters blocked on semaphore <paramref name="num"/>.</summary>
    public int CountWaiters(int num, bool zero)
    {
        int count = 0;
        foreach (SemWaiter w in Waiters)
        {
            if (w.Blocking >= 0)
            {
                SemBuf op = w.Ops[w.Blocking];
                if (op.sem_num == num && (zero ? op.sem_op == 0 : op.sem_op < 0))
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>SETVAL / SETALL forget every process's adjustment of semaphore <paramref name="num"/> (-1: all).</summary>
    public void ClearAdjustments(int num)
    {
        foreach (SemUndo u in Undos)
        {
            if (num < 0)
            {
                Array.Clear(u.Adjust);
            }
            else
            {
                u.Adjust[num] = 0;
            }
        }
    }

    public SemidDs ToDs() => new()
    {
        sem_perm = ToPerm(),
        sem_otime = OpTime,
        sem_ctime = ChangeTime,
        sem_nsems = (ulong)Count,
    };
}

/// <summary>A semop call waiting on a set. Fields are protected by <see cref="SemRegistry.Mu"/>, except <see cref="Done"/>.</summary>
internal sealed class SemWaiter
{
    public SemWaiter(Task task, SemBuf[] ops, SemUndo? undo, Pid pid, bool alters)
    {
        Task = task;
        Ops = ops;
        Undo = undo;
        Pid = pid;
        Alters = alters;
        IsDone = () => Done;
    }

    public Task Task { get; }

    public SemBuf[] Ops { get; }

    public SemUndo? Undo { get; }

    public Pid Pid { get; }

    public bool Alters { get; }

    /// <summary>The index of the operation that blocks.</summary>
    public int Blocking { get; set; } = -1;

    /// <summary>The call's result once another task completed it: 0, -ERANGE or -EIDRM.</summary>
    public int Result { get; private set; }

    public volatile bool Done;

    public Func<bool> IsDone { get; }

    public void Complete(int result)
    {
        Result = result;
        Done = true;
        Task.Wake();
    }
}

/// <summary>
/// One process's SEM_UNDO adjustments to one set (Linux's sem_undo): applied when the process exits.
/// Protected by <see cref="SemRegistry.Mu"/>.
/// </summary>
internal sealed class SemUndo
{
    public SemUndo(SemSet set, SemUndoList owner)
    {
        Set = set;
        Owner = owner;
        Adjust = new short[set.Count];
    }

    public SemSet Set { get; }

    public SemUndoList Owner { get; }

    public short[] Adjust { get; }
}

/// <summary>A process's undo records (Linux's sem_undo_list), one per set it used SEM_UNDO on.</summary>
internal sealed class SemUndoList
{
    /// <summary>Protected by <see cref="SemRegistry.Mu"/>.</summary>
    public List<SemUndo> Undos { get; } = [];
}
