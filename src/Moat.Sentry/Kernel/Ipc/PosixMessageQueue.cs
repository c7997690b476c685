using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// One POSIX message queue (Linux's mqueue_inode_info): messages by priority, oldest first within one, the
/// tasks asleep to send or receive, and the one process registered for a notification. A sender hands its
/// message straight to the oldest sleeping receiver, and a receiver that makes room takes the oldest
/// sleeping sender's message into the queue (pipelined_send / pipelined_receive), so a sleeper never loses
/// its turn to a newcomer. Lock order: <see cref="_mu"/> &gt; WaitQueue._mu; app memory is copied and
/// signals are sent outside it.
/// </summary>
internal sealed class PosixMessageQueue
{
    private static readonly Comparer<uint> Descending = Comparer<uint>.Create(static (a, b) => b.CompareTo(a));

    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly SortedDictionary<uint, Queue<byte[]>> _messages = new(Descending);
    private readonly LinkedList<MqWaiter> _receivers = new();
    private readonly LinkedList<MqWaiter> _senders = new();
    private long _curMsgs;
    private long _qsize;
    private uint _mode;
    private uint _uid;
    private uint _gid;
    private ThreadGroup? _notifyOwner;
    private int _notifyKind;
    private int _notifySigno;
    private ulong _notifyValue;
    private int _notifyExecCount;
    private INotifySink? _notifySink;
    private byte[]? _notifyCookie;
    private int _opens;
    private bool _unlinked;

    public PosixMessageQueue(string name, uint mode, Credentials creator, long maxMsg, long msgSize, long charge)
    {
        Name = name;
        _mode = mode;
        _uid = creator.EffectiveUid;
        _gid = creator.EffectiveGid;
        ChargedUid = creator.RealUid;
        MaxMsg = maxMsg;
        MsgSize = msgSize;
        Charge = charge;
        Inode = Interlocked.Increment(ref s_nextInode);
    }

    private static long s_nextInode = 1;

    public string Name { get; }

    public long MaxMsg { get; }

    public long MsgSize { get; }

    /// <summary>Bytes charged to <see cref="ChargedUid"/>'s RLIMIT_MSGQUEUE while the queue exists.</summary>
    public long Charge { get; }

    public uint ChargedUid { get; }

    public long Inode { get; }

    /// <summary>Notified when a message arrives or leaves (poll, select, epoll).</summary>
    public WaitQueue Events { get; } = new();

    /// <summary>The mode, owner and group, as stat and the permission check see them.</summary>
    public Stat FileStat()
    {
        lock (_mu)
        {
            return new Stat
            {
                st_mode = Stat.S_IFREG | _mode,
                st_uid = _uid,
                st_gid = _gid,
                st_nlink = _unlinked ? 0UL : 1UL,
                st_size = MqConst.FILENT_SIZE,
                st_blksize = 4096,
                st_ino = (ulong)Inode,
            };
        }
    }

    /// <summary>Counts an open description.</summary>
    public void IncOpen()
    {
        lock (_mu)
        {
            _opens++;
        }
    }

    /// <summary>Drops an open description; returns whether the queue is now gone (unlinked, nothing open).</summary>
    public bool DecOpen()
    {
        lock (_mu)
        {
            return --_opens == 0 && _unlinked;
        }
    }

    /// <summary>Marks the name gone; returns whether the queue is now gone (nothing open).</summary>
    public bool Unlink()
    {
        lock (_mu)
        {
            _unlinked = true;
            return _opens == 0;
        }
    }

    /// <summary>The attributes (mq_flags left 0 for the caller to fill).</summary>
    public MqAttr Attributes()
    {
        lock (_mu)
        {
            return new MqAttr { mq_maxmsg = MaxMsg, mq_msgsize = MsgSize, mq_curmsgs = _curMsgs };
        }
    }

    public int Readiness(int events)
    {
        lock (_mu)
        {
            int r = (_curMsgs > 0 ? PollEvents.POLLIN | PollEvents.POLLRDNORM : 0) |
                    (_curMsgs < MaxMsg ? PollEvents.POLLOUT | PollEvents.POLLWRNORM : 0);
            return r & events;
        }
    }

    /// <summary>What read(2) of a queue descriptor shows (mqueue_read_file): NOTIFY_PID in the reader's namespace <paramref name="ns"/>.</summary>
    public string Describe(PidNamespace ns)
    {
        lock (_mu)
        {
            int pid = _notifyOwner?.Pid.In(ns) ?? 0;
            return $"QSIZE:{_qsize,-10} NOTIFY:{(_notifyOwner != null ? _notifyKind : 0),-5} SIGNO:{(_notifyOwner != null && _notifyKind == MqConst.SIGEV_SIGNAL ? _notifySigno : 0),-5} NOTIFY_PID:{pid,-6}\n";
        }
    }

    /// <summary>
    /// Implements the queueing part of mq_timedsend: hands <paramref name="data"/> to a sleeping receiver, queues
    /// it, or sleeps for room (EAGAIN when <paramref name="nonBlocking"/>). Returns 0, -EAGAIN, -ETIMEDOUT or
    /// -ERESTARTSYS.
    /// </summary>
    public long Send(Task t, byte[] data, uint prio, bool nonBlocking, int timeoutMs)
    {
        MqWaiter? waiter = null;
        Notification n = default;
        lock (_mu)
        {
            if (_curMsgs >= MaxMsg)
            {
                if (nonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }

                waiter = new MqWaiter(t) { Data = data, Priority = prio };
                _senders.AddLast(waiter.Node);
            }
            else if (_receivers.First is LinkedListNode<MqWaiter> first)
            {
                _receivers.Remove(first);
                first.Value.Complete(data, prio);
            }
            else
            {
                InsertLocked(data, prio);
                n = TakeNotificationLocked(t);
            }
        }

        if (waiter == null)
        {
            Events.Notify();
            n.Deliver(t);
            return 0;
        }

        return Sleep(t, waiter, _senders, timeoutMs);
    }

    /// <summary>
    /// Implements the queueing part of mq_timedreceive: takes the oldest message of the highest priority, or sleeps
    /// for one. Returns 0 with the message, -EAGAIN, -ETIMEDOUT or -ERESTARTSYS.
    /// </summary>
    public long Receive(Task t, bool nonBlocking, int timeoutMs, out byte[]? data, out uint prio)
    {
        MqWaiter waiter;
        lock (_mu)
        {
            if (_curMsgs > 0)
            {
                TakeLocked(out data, out prio);
                if (_senders.First is LinkedListNode<MqWaiter> sender)
                {
                    // The room just made goes to the oldest sleeping sender.
                    _senders.Remove(sender);
                    InsertLocked(sender.Value.Data!, sender.Value.Priority);
                    sender.Value.Complete(null, 0);
                }

                Events.Notify();
                return 0;
            }

            if (nonBlocking)
            {
                data = null;
                prio = 0;
                return -Errno.EAGAIN.Value;
            }

            waiter = new MqWaiter(t);
            _receivers.AddLast(waiter.Node);
        }

        long r = Sleep(t, waiter, _receivers, timeoutMs);
        data = waiter.Data;
        prio = waiter.Priority;
        return r;
    }

    // Sleeps until a peer completes the waiter; on a timeout or a signal the waiter leaves its list, unless a
    // peer completed it meanwhile (then the transfer stands, as wq_sleep's STATE_READY check).
    private long Sleep(Task t, MqWaiter waiter, LinkedList<MqWaiter> list, int timeoutMs)
    {
        long r = t.Block(null, waiter.IsDone, timeoutMs);
        if (r == 0)
        {
            return 0;
        }

        lock (_mu)
        {
            if (waiter.Done)
            {
                return 0;
            }

            list.Remove(waiter.Node);
        }

        return r;
    }

    /// <summary>
    /// Implements mq_notify's registration part: <paramref name="kind"/> -1 removes the caller's registration;
    /// otherwise EBUSY if some process holds one. Returns 0 or -EBUSY.
    /// </summary>
    public long SetNotification(ThreadGroup g, int kind, int signo, ulong value, INotifySink? sink, byte[]? cookie)
    {
        Notification removed = default;
        lock (_mu)
        {
            if (kind < 0)
            {
                if (_notifyOwner == g)
                {
                    removed = RemoveNotificationLocked();
                }
            }
            else if (_notifyOwner != null)
            {
                return -Errno.EBUSY.Value;
            }
            else
            {
                _notifyOwner = g;
                _notifyKind = kind;
                _notifySigno = signo;
                _notifyValue = value;
                _notifyExecCount = g.ExecCount;
                _notifySink = sink;
                _notifyCookie = cookie;
            }
        }

        removed.Deliver(null);
        return 0;
    }

    /// <summary>
    /// Linux's mqueue_flush_file: closing any descriptor of the queue drops the closing process's registration.
    /// </summary>
    public void Flush(ThreadGroup g)
    {
        Notification removed = default;
        lock (_mu)
        {
            if (_notifyOwner == g)
            {
                removed = RemoveNotificationLocked();
            }
        }

        removed.Deliver(null);
    }

    // Preconditions: _mu is held.
    private Notification RemoveNotificationLocked()
    {
        var n = default(Notification);
        if (_notifyKind == MqConst.SIGEV_THREAD && _notifySink != null && _notifyCookie != null)
        {
            // The listener learns its registration is gone (glibc's helper frees what it kept for it).
            _notifyCookie[MqConst.NOTIFY_COOKIE_LEN - 1] = MqConst.NOTIFY_REMOVED;
            n = new Notification { Sink = _notifySink, Cookie = _notifyCookie };
        }

        _notifyOwner = null;
        _notifySink = null;
        _notifyCookie = null;
        return n;
    }

    // The queue went from empty to one message with nobody asleep to receive it: the registered process is
    // told once, and its registration ends (__do_notify).
    // Preconditions: _mu is held.
    private Notification TakeNotificationLocked(Task sender)
    {
        if (_notifyOwner == null || _curMsgs != 1)
        {
            return default;
        }

        var n = default(Notification);
        switch (_notifyKind)
        {
            case MqConst.SIGEV_SIGNAL when _notifySigno != 0:
                n = new Notification
                {
                    Owner = _notifyOwner,
                    OwnerExecCount = _notifyExecCount,
                    Signo = _notifySigno,
                    Value = _notifyValue,
                    SenderPid = sender.Group.Pid.In(_notifyOwner.Pid.Namespace), // in the owner's namespace, as __do_notify
                    SenderUid = sender.Credentials.RealUid,
                };
                break;
            case MqConst.SIGEV_THREAD when _notifySink != null && _notifyCookie != null:
                _notifyCookie[MqConst.NOTIFY_COOKIE_LEN - 1] = MqConst.NOTIFY_WOKENUP;
                n = new Notification { Sink = _notifySink, Cookie = _notifyCookie };
                break;
        }

        _notifyOwner = null;
        _notifySink = null;
        _notifyCookie = null;
        return n;
    }

    // Preconditions: _mu is held.
    private void InsertLocked(byte[] data, uint prio)
    {
        if (!_messages.TryGetValue(prio, out Queue<byte[]>? q))
        {
            q = new Queue<byte[]>();
            _messages.Add(prio, q);
        }

        q.Enqueue(data);
        _curMsgs++;
        _qsize += data.Length;
    }

    // Preconditions: _mu is held; _curMsgs > 0.
    private void TakeLocked(out byte[] data, out uint prio)
    {
        using SortedDictionary<uint, Queue<byte[]>>.Enumerator e = _messages.GetEnumerator();
        e.MoveNext();
        prio = e.Current.Key;
        Queue<byte[]> q = e.Current.Value;
        data = q.Dequeue();
        if (q.Count == 0)
        {
            _messages.Remove(prio);
        }

        _curMsgs--;
        _qsize -= data.Length;
    }

    /// <summary>A notification taken under the lock, delivered after it is released.</summary>
    private struct Notification
    {
        public ThreadGroup? Owner;
        public int OwnerExecCount;
        public int Signo;
        public ulong Value;
        public int SenderPid;
        public uint SenderUid;
        public INotifySink? Sink;
        public byte[]? Cookie;

        public readonly void Deliver(Task? sender)
        {
            if (Sink != null && Cookie != null)
            {
                Sink.DeliverNotification(Cookie);
                return;
            }

            // Not to a program that has exec'd since it asked (self_exec_id).
            if (Owner == null || sender == null || Owner.ExecCount != OwnerExecCount)
            {
                return;
            }

            // The signal comes from the kernel: no permission check (do_send_sig_info).
            var info = new SigInfo { si_signo = Signo, si_code = MqConst.SI_MESGQ, si_pid = SenderPid, si_uid = (int)SenderUid };
            System.Runtime.InteropServices.MemoryMarshal.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new Span<SigInfo>(ref info))[24..], Value);
            Task? target;
            lock (sender.Kernel.TreeMu)
            {
                target = Owner.Zombie ? null : Owner.SignalTarget(Signo);
            }

            target?.SendSignal(Signo, info);
        }
    }
}

/// <summary>Where a SIGEV_THREAD notification's cookie goes: the netlink socket glibc's helper thread reads.</summary>
internal interface INotifySink
{
    void DeliverNotification(byte[] cookie);
}

/// <summary>A task asleep in mq_timedsend or mq_timedreceive. <see cref="Done"/> is read without the lock.</summary>
internal sealed class MqWaiter
{
    public MqWaiter(Task task)
    {
        Task = task;
        Node = new LinkedListNode<MqWaiter>(this);
        IsDone = () => Done;
    }

    public Task Task { get; }

    public LinkedListNode<MqWaiter> Node { get; }

    /// <summary>The sender's message, or the message handed to a receiver.</summary>
    public byte[]? Data { get; set; }

    public uint Priority { get; set; }

    public volatile bool Done;

    public Func<bool> IsDone { get; }

    /// <summary>Ends the wait: a receiver gets <paramref name="data"/>; a sender's message was queued.</summary>
    public void Complete(byte[]? data, uint prio)
    {
        if (data != null)
        {
            Data = data;
            Priority = prio;
        }

        Done = true;
        Task.Wake();
    }
}
