using System;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// The message queues of an <see cref="IpcNamespace"/>: msgget, msgsnd, msgrcv and msgctl with Linux's checks in
/// Linux's order. A sender hands its message straight to a waiting receiver that wants it (pipelined_send).
/// <see cref="Mu"/> protects every queue; it is a leaf lock (message bytes are copied outside it).
/// </summary>
internal sealed class MsgRegistry
{
    /// <summary>Linux's defaults: MSGMAX, MSGMNB, MSGMNI.</summary>
    public const int MaxMessage = 8192;

    public const ulong MaxQueueBytes = 16384;

    public const int MaxQueues = 32000;

    // Protected by Mu.
    private long _totalMessages;
    private long _totalBytes;

    public System.Threading.Lock Mu { get; } = new();

    /// <summary>The queues by id. Protected by Mu.</summary>
    public IpcIdTable<MsgQueue> Table { get; } = new();

    /// <summary>Implements msgget(2).</summary>
    public long Get(Credentials c, int key, int flags)
    {
        lock (Mu)
        {
            return IpcNamespace.Get(
                Table,
                key,
                flags,
                c,
                static _ => Errno.None,
                (out Errno err) =>
                {
                    var q = new MsgQueue(key, c, flags);
                    err = Table.Add(q, MaxQueues) ? Errno.None : Errno.ENOSPC;
                    return err.IsNone ? q : null;
                });
        }
    }

    /// <summary>
    /// Implements msgsnd(2) once the message was read: waits for room unless IPC_NOWAIT (EAGAIN). Returns 0,
    /// -EINVAL, -EACCES, -EIDRM or -ERESTARTNOHAND.
    /// </summary>
    public long Send(Task t, int id, Message m, int flags)
    {
        Pid pid = t.Group.Pid;
        ulong size = (ulong)m.Data.Length;
        MsgSender? sender = null;
        lock (Mu)
        {
            MsgQueue? q = Table.Find(id);
            if (q == null)
            {
                return -Errno.EINVAL.Value;
            }

            while (true)
            {
                if (!q.MayAccess(t.Credentials, 0x92))
                {
                    return -Errno.EACCES.Value;
                }

                if (q.Removed)
                {
                    return -Errno.EIDRM.Value;
                }

                if (q.Fits(size))
                {
                    break;
                }

                if ((flags & IpcConst.IPC_NOWAIT) != 0)
                {
                    return -Errno.EAGAIN.Value;
                }

                sender ??= new MsgSender(t);
                sender.Woken = false;
                q.Senders.Add(sender);
                long br;
                Mu.Exit();
                try
                {
                    br = t.Block(null, sender.IsWoken);
                }
                finally
                {
                    Mu.Enter();
                }

                q.Senders.Remove(sender);
                if (q.Removed)
                {
                    return -Errno.EIDRM.Value;
                }

                if (!sender.Woken && br < 0)
                {
                    return -Errno.ERESTARTNOHAND.Value;
                }
            }

            q.SendPid = pid;
            q.SendTime = IpcNamespace.Now();
            if (!HandOver(q, m))
            {
                q.Messages.AddLast(m);
                q.Bytes += size;
                _totalMessages++;
                _totalBytes += (long)size;
            }

            return 0;
        }
    }

    // Gives m to the oldest receiver that wants it; receivers with too small a buffer get E2BIG and leave.
    // Preconditions: Mu is held.
    private static bool HandOver(MsgQueue q, Message m)
    {
        LinkedListNode<MsgReceiver>? n = q.Receivers.First;
        while (n != null)
        {
            LinkedListNode<MsgReceiver>? next = n.Next;
            MsgReceiver r = n.Value;
            if (MsgQueue.Matches(m.Type, r.Type, r.Mode))
            {
                q.Receivers.Remove(n);
                if (r.MaxSize < m.Data.Length)
                {
                    r.Complete(null, -Errno.E2BIG.Value);
                }
                else
                {
                    q.ReceivePid = r.Task.Group.Pid;
                    q.ReceiveTime = IpcNamespace.Now();
                    r.Complete(m, 0);
                    return true;
                }
            }

            n = next;
        }

        return false;
    }

    /// <summary>
    /// Implements msgrcv(2) up to the copy out: finds (or waits for) a message as <paramref name="type"/> and the
    /// flags ask. Returns 0 with the message, or -errno (ENOMSG under IPC_NOWAIT, E2BIG, EIDRM, ERESTARTNOHAND).
    /// </summary>
    public long Receive(Task t, int id, long bufSize, long type, int flags, out Message? m)
    {
        m = null;
        bool copy = (flags & IpcConst.MSG_COPY) != 0;
        MsgSearch mode;
        if (copy)
        {
            mode = MsgSearch.Number;
        }
        else if (type == 0)
        {
            mode = MsgSearch.Any;
        }
        else if (type < 0)
        {
            type = type == long.MinValue ? long.MaxValue : -type;
            mode = MsgSearch.LessEqual;
        }
        else
        {
            mode = (flags & IpcConst.MSG_EXCEPT) != 0 ? MsgSearch.NotEqual : MsgSearch.Equal;
        }

        Pid pid = t.Group.Pid;
        lock (Mu)
        {
            MsgQueue? q = Table.Find(id);
            if (q == null)
            {
                return -Errno.EINVAL.Value;
            }

            while (true)
            {
                if (!q.MayAccess(t.Credentials, 0x124))
                {
                    return -Errno.EACCES.Value;
                }

                if (q.Removed)
                {
                    return -Errno.EIDRM.Value;
                }

                LinkedListNode<Message>? n = q.Find(type, mode);
                if (n != null)
                {
                    Message found = n.Value;
                    if (bufSize < found.Data.Length && (flags & IpcConst.MSG_NOERROR) == 0)
                    {
                        return -Errno.E2BIG.Value;
                    }

                    if (copy)
                    {
                        if (found.Data.Length > Math.Min(bufSize, MaxMessage))
                        {
                            return -Errno.EINVAL.Value;
                        }

                        m = found;
                        return 0;
                    }

                    q.Messages.Remove(n);
                    q.Bytes -= (ulong)found.Data.Length;
                    _totalMessages--;
                    _totalBytes -= found.Data.Length;
                    q.ReceiveTime = IpcNamespace.Now();
                    q.ReceivePid = pid;
                    q.WakeSenders();
                    m = found;
                    return 0;
                }

                if ((flags & IpcConst.IPC_NOWAIT) != 0)
                {
                    return -Errno.ENOMSG.Value;
                }

                var r = new MsgReceiver(t, type, mode, (flags & IpcConst.MSG_NOERROR) != 0 ? int.MaxValue : bufSize);
                q.Receivers.AddLast(r);
                long br;
                Mu.Exit();
                try
                {
                    br = t.Block(null, r.IsDone);
                }
                finally
                {
                    Mu.Enter();
                }

                if (r.Done)
                {
                    if (r.Result != -Errno.EAGAIN.Value)
                    {
                        m = r.Received;
                        return r.Result;
                    }

                    continue;
                }

                q.Receivers.Remove(r);
                if (br < 0)
                {
                    return -Errno.ERESTARTNOHAND.Value;
                }
            }
        }
    }

    /// <summary>Implements IPC_RMID: sleepers answer EIDRM.</summary>
    public long Remove(Credentials c, int id)
    {
        lock (Mu)
        {
            MsgQueue? q = Table.FindForControl(c, id, out long r);
            if (q == null)
            {
                return r;
            }

            Table.Remove(q);
            _totalMessages -= q.Messages.Count;
            _totalBytes -= (long)q.Bytes;
            q.ExpungeReceivers(-Errno.EIDRM.Value);
            q.WakeSenders();
            return 0;
        }
    }

    /// <summary>Implements IPC_SET: owner, mode and msg_qbytes (beyond MSGMNB only with CAP_SYS_RESOURCE).</summary>
    public long Set(Credentials c, int id, in MsqidDs ds)
    {
        lock (Mu)
        {
            MsgQueue? q = Table.FindForControl(c, id, out long r);
            if (q == null)
            {
                return r;
            }

            if (ds.msg_qbytes > MaxQueueBytes && !c.HasCapability(IpcNamespace.CAP_SYS_RESOURCE))
            {
                return -Errno.EPERM.Value;
            }

            Errno e = q.SetPerm(ds.msg_perm);
            if (!e.IsNone)
            {
                return -e.Value;
            }

            q.MaxBytes = ds.msg_qbytes;

            // Receivers look again (the permissions may have changed); senders may fit now.
            q.ExpungeReceivers(-Errno.EAGAIN.Value);
            q.WakeSenders();
            return 0;
        }
    }

    /// <summary>IPC_STAT, or MSG_STAT / MSG_STAT_ANY by index (answering the id).</summary>
    public long Stat(Credentials c, PidNamespace ns, int idOrIndex, bool byIndex, bool check, out MsqidDs ds)
    {
        ds = default;
        lock (Mu)
        {
            MsgQueue? q = Table.FindForStat(c, idOrIndex, byIndex, check, out long r);
            if (q == null)
            {
                return r;
            }

            ds = q.ToDs(ns);
            return byIndex ? q.Id : 0;
        }
    }

    /// <summary>IPC_INFO (limits) or MSG_INFO (with usage); returns the highest index in use (or 0).</summary>
    public long Info(bool usage, out MsgInfo info)
    {
        info = new MsgInfo
        {
            msgpool = (int)(MaxQueues * (long)MaxQueueBytes / 1024),
            msgmap = (int)MaxQueueBytes,
            msgmax = MaxMessage,
            msgmnb = (int)MaxQueueBytes,
            msgmni = MaxQueues,
            msgssz = 16,
            msgtql = (int)MaxQueueBytes,
            msgseg = 0xffff,
        };
        lock (Mu)
        {
            if (usage)
            {
                info.msgpool = Table.InUse;
                info.msgmap = (int)_totalMessages;
                info.msgtql = (int)_totalBytes;
            }

            return Math.Max(Table.MaxIndex, 0);
        }
    }
}
