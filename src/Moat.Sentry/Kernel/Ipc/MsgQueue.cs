using System;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>One message: its type and bytes.</summary>
internal sealed record Message(long Type, byte[] Data);

/// <summary>
/// A SysV message queue (Linux's msg_queue): messages in send order, the byte bound (msg_qbytes), and the
/// senders and receivers asleep on it. Fields are protected by <see cref="MsgRegistry.Mu"/>.
/// </summary>
internal sealed class MsgQueue : IpcObject
{
    public MsgQueue(int key, Credentials creator, int mode)
        : base(key, creator, mode)
    {
    }

    public LinkedList<Message> Messages { get; } = new();

    /// <summary>msg_cbytes: bytes of text queued.</summary>
    public ulong Bytes { get; set; }

    /// <summary>msg_qbytes: the most bytes (and messages) the queue holds.</summary>
    public ulong MaxBytes { get; set; } = MsgRegistry.MaxQueueBytes;

    public long SendTime { get; set; }

    public long ReceiveTime { get; set; }

    /// <summary>The last sender and receiver (msg_lspid, msg_lrpid), null before the first; shown in each reader's pid namespace.</summary>
    public Pid? SendPid { get; set; }

    public Pid? ReceivePid { get; set; }

    /// <summary>Receivers asleep, oldest first.</summary>
    public LinkedList<MsgReceiver> Receivers { get; } = new();

    /// <summary>Senders asleep until the queue has room.</summary>
    public List<MsgSender> Senders { get; } = [];

    /// <summary>Whether a message of <paramref name="size"/> bytes fits (Linux counts messages against the bound too).</summary>
    public bool Fits(ulong size) => size + Bytes <= MaxBytes && (ulong)Messages.Count + 1 <= MaxBytes;

    /// <summary>Wakes every sleeping sender to try again.</summary>
    public void WakeSenders()
    {
        foreach (MsgSender s in Senders)
        {
            s.Woken = true;
            s.Task.Wake();
        }

        Senders.Clear();
    }

    /// <summary>Ends every sleeping receiver's wait with <paramref name="result"/> (EAGAIN: look again; EIDRM).</summary>
    public void ExpungeReceivers(int result)
    {
        foreach (MsgReceiver r in Receivers)
        {
            r.Complete(null, result);
        }

        Receivers.Clear();
    }

    /// <summary>
    /// The message a receive of <paramref name="type"/> in <paramref name="mode"/> takes (Linux's find_msg), or null.
    /// </summary>
    public LinkedListNode<Message>? Find(long type, MsgSearch mode)
    {
        LinkedListNode<Message>? found = null;
        long count = 0;
        for (LinkedListNode<Message>? n = Messages.First; n != null; n = n.Next)
        {
            if (mode == MsgSearch.Number)
            {
                if (count++ == type)
                {
                    return n;
                }

                continue;
            }

            if (Matches(n.Value.Type, type, mode))
            {
                if (mode != MsgSearch.LessEqual || n.Value.Type == 1)
                {
                    return n;
                }

                // The lowest type wins; among equals the oldest.
                if (found == null || n.Value.Type < found.Value.Type)
                {
                    found = n;
                }
            }
        }

        return found;
    }

    /// <summary>Whether a message of type <paramref name="msgType"/> is one a receive of <paramref name="type"/> wants.</summary>
    public static bool Matches(long msgType, long type, MsgSearch mode) => mode switch
    {
        MsgSearch.Any => true,
        MsgSearch.Equal => msgType == type,
        MsgSearch.NotEqual => msgType != type,
        MsgSearch.LessEqual => msgType <= type,
        _ => false,
    };

    public MsqidDs ToDs(PidNamespace ns) => new()
    {
        msg_perm = ToPerm(),
        msg_stime = SendTime,
        msg_rtime = ReceiveTime,
        msg_ctime = ChangeTime,
        msg_cbytes = Bytes,
        msg_qnum = (ulong)Messages.Count,
        msg_qbytes = MaxBytes,
        msg_lspid = SendPid?.In(ns) ?? 0,
        msg_lrpid = ReceivePid?.In(ns) ?? 0,
    };
}

/// <summary>How msgrcv picks a message.</summary>
internal enum MsgSearch
{
    Any,
    Equal,
    NotEqual,
    LessEqual,
    Number,
}

/// <summary>A msgsnd asleep until the queue has room. <see cref="Woken"/> is read without the lock.</summary>
internal sealed class MsgSender
{
    public MsgSender(Task task)
    {
        Task = task;
        IsWoken = () => Woken;
    }

    public Task Task { get; }

    public volatile bool Woken;

    public Func<bool> IsWoken { get; }
}

/// <summary>A msgrcv asleep until a sender hands it a message. <see cref="Done"/> is read without the lock.</summary>
internal sealed class MsgReceiver
{
    public MsgReceiver(Task task, long type, MsgSearch mode, long maxSize)
    {
        Task = task;
        Type = type;
        Mode = mode;
        MaxSize = maxSize;
        IsDone = () => Done;
    }

    public Task Task { get; }

    public long Type { get; }

    public MsgSearch Mode { get; }

    public long MaxSize { get; }

    public Message? Received { get; private set; }

    /// <summary>0 with a message, -E2BIG, -EIDRM, or -EAGAIN (look again).</summary>
    public int Result { get; private set; }

    public volatile bool Done;

    public Func<bool> IsDone { get; }

    public void Complete(Message? m, int result)
    {
        Received = m;
        Result = result;
        Done = true;
        Task.Wake();
    }
}
