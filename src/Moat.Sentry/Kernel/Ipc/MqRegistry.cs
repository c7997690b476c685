using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// The POSIX message queues of an <see cref="IpcNamespace"/> by name (Linux keeps them in the namespace's
/// mqueue file system, whose root is a sticky directory open to all), with the namespace's limits
/// (/proc/sys/fs/mqueue, Linux's defaults, not tunable) and what each user is charged against
/// RLIMIT_MSGQUEUE. Lock order: <see cref="_mu"/> &gt; PosixMessageQueue._mu.
/// </summary>
internal sealed class MqRegistry
{
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Dictionary<string, PosixMessageQueue> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, long> _charged = [];
    private long _queues;

    public long MsgMax => MqConst.DFLT_MSGMAX;

    public long MsgSizeMax => MqConst.DFLT_MSGSIZEMAX;

    public long MsgDefault => MqConst.DFLT_MSG;

    public long MsgSizeDefault => MqConst.DFLT_MSGSIZE;

    public long QueuesMax => MqConst.DFLT_QUEUESMAX;

    /// <summary>
    /// Checks a name as the mqueue file system's lookup does (the leading '/' was taken off by the C library):
    /// ".", ".." or a '/' inside is EACCES, more than NAME_MAX bytes ENAMETOOLONG. Returns None or the errno.
    /// </summary>
    public static Errno CheckName(string name)
    {
        if (name == "." || name == ".." || name.Contains('/'))
        {
            return Errno.EACCES;
        }

        return LinuxString.Encoding.GetByteCount(name) > 255 ? Errno.ENAMETOOLONG : Errno.None;
    }

    /// <summary>
    /// Implements mq_open's lookup and creation (prepare_open, mqueue_create_attr, mqueue_get_inode) in Linux's
    /// order. On success returns 0 with the queue, already counted as open once.
    /// </summary>
    public long Open(Credentials c, string name, int oflag, uint mode, in MqAttr? attr, ulong rlimit, out PosixMessageQueue? queue)
    {
        queue = null;
        lock (_mu)
        {
            if (_names.TryGetValue(name, out PosixMessageQueue? q))
            {
                if ((oflag & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) == (OpenFlags.O_CREAT | OpenFlags.O_EXCL))
                {
                    return -Errno.EEXIST.Value;
                }

                int acc = oflag & OpenFlags.O_ACCMODE;
                if (acc == OpenFlags.O_ACCMODE)
                {
                    return -Errno.EINVAL.Value;
                }

                int may = acc == OpenFlags.O_RDONLY ? Permissions.MayRead : acc == OpenFlags.O_WRONLY ? Permissions.MayWrite : Permissions.MayRead | Permissions.MayWrite;
                Stat st = q.FileStat();
                Errno e = Permissions.Check(c, st, may);
                if (!e.IsNone)
                {
                    return -e.Value;
                }

                q.IncOpen();
                queue = q;
                return 0;
            }

            if ((oflag & OpenFlags.O_CREAT) == 0)
            {
                return -Errno.ENOENT.Value;
            }

            bool resource = c.HasCapability(Credentials.CAP_SYS_RESOURCE);
            if (_queues >= QueuesMax && !resource)
            {
                return -Errno.ENOSPC.Value;
            }

            long maxMsg = Math.Min(MsgMax, MsgDefault);
            long msgSize = Math.Min(MsgSizeMax, MsgSizeDefault);
            if (attr is MqAttr a)
            {
                maxMsg = a.mq_maxmsg;
                msgSize = a.mq_msgsize;
            }

            if (maxMsg <= 0 || msgSize <= 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (resource ? maxMsg > MqConst.HARD_MSGMAX || msgSize > MqConst.HARD_MSGSIZEMAX : maxMsg > MsgMax || msgSize > MsgSizeMax)
            {
                return -Errno.EINVAL.Value;
            }

            // What the queue may pin: every message at full size, a header each and a tree node per priority.
            long charge = (maxMsg * msgSize) + (maxMsg * MqConst.MsgMsgSize) + (Math.Min(maxMsg, MqConst.MQ_PRIO_MAX) * MqConst.TreeNodeSize);
            _charged.TryGetValue(c.RealUid, out long used);
            if ((ulong)(used + charge) > rlimit)
            {
                return -Errno.EMFILE.Value;
            }

            _charged[c.RealUid] = used + charge;
            _queues++;
            q = new PosixMessageQueue(name, mode & 0xfff, c, maxMsg, msgSize, charge);
            q.IncOpen();
            _names.Add(name, q);
            queue = q;
            return 0;
        }
    }

    /// <summary>The queue named <paramref name="name"/>, or null (the mqueue file system's lookup).</summary>
    public PosixMessageQueue? Find(string name)
    {
        lock (_mu)
        {
            return _names.GetValueOrDefault(name);
        }
    }

    /// <summary>The names of the queues, in no particular order (the mqueue file system's directory).</summary>
    public List<string> Names()
    {
        lock (_mu)
        {
            return [.. _names.Keys];
        }
    }

    /// <summary>
    /// Implements mq_unlink once the name was checked: ENOENT, then the sticky root's rule (only the queue's
    /// owner or CAP_FOWNER: EPERM, which glibc turns into EACCES).
    /// </summary>
    public long Unlink(Credentials c, string name)
    {
        PosixMessageQueue? q;
        lock (_mu)
        {
            if (!_names.TryGetValue(name, out q))
            {
                return -Errno.ENOENT.Value;
            }

            Stat st = q.FileStat();
            if (c.EffectiveUid != st.st_uid && c.EffectiveUid != 0 && !c.HasCapability(Credentials.CAP_FOWNER))
            {
                return -Errno.EPERM.Value;
            }

            _names.Remove(name);
        }

        if (q.Unlink())
        {
            Free(q);
        }

        return 0;
    }

    /// <summary>The last reference to an unlinked queue went: its slot and charge are returned (mqueue_evict_inode).</summary>
    public void Free(PosixMessageQueue q)
    {
        lock (_mu)
        {
            _queues--;
            if (_charged.TryGetValue(q.ChargedUid, out long used))
            {
                used -= q.Charge;
                if (used <= 0)
                {
                    _charged.Remove(q.ChargedUid);
                }
                else
                {
                    _charged[q.ChargedUid] = used;
                }
            }
        }
    }
}
