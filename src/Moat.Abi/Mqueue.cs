using System.Runtime.InteropServices;

namespace Moat.Abi;

/// <summary>POSIX message queue constants (include/uapi/linux/mqueue.h, ipc/mqueue.c), as x86-64 sees them.</summary>
public static class MqConst
{
    /// <summary>Priorities are below this (MQ_PRIO_MAX).</summary>
    public const uint MQ_PRIO_MAX = 32768;

    /// <summary>Linux's defaults for /proc/sys/fs/mqueue: msg_max, msgsize_max, msg_default, msgsize_default, queues_max.</summary>
    public const long DFLT_MSGMAX = 10;
    public const long DFLT_MSGSIZEMAX = 8192;
    public const long DFLT_MSG = 10;
    public const long DFLT_MSGSIZE = 8192;
    public const long DFLT_QUEUESMAX = 256;

    /// <summary>What CAP_SYS_RESOURCE may ask for (HARD_MSGMAX, HARD_MSGSIZEMAX).</summary>
    public const long HARD_MSGMAX = 65536;
    public const long HARD_MSGSIZEMAX = 16 * 1024 * 1024;

    /// <summary>What RLIMIT_MSGQUEUE is charged per message slot: sizeof(struct msg_msg) and of posix_msg_tree_node.</summary>
    public const long MsgMsgSize = 48;
    public const long TreeNodeSize = 48;

    /// <summary>The size of a queue file as stat reports it (FILENT_SIZE).</summary>
    public const int FILENT_SIZE = 80;

    /// <summary>SIGEV_THREAD notifications: a cookie of this many bytes goes to a netlink socket; its last byte says why.</summary>
    public const int NOTIFY_COOKIE_LEN = 32;
    public const byte NOTIFY_WOKENUP = 1;
    public const byte NOTIFY_REMOVED = 2;

    public const int SIGEV_SIGNAL = 0;
    public const int SIGEV_NONE = 1;
    public const int SIGEV_THREAD = 2;

    /// <summary>si_code of a message queue notification.</summary>
    public const int SI_MESGQ = -3;
}

/// <summary>struct mq_attr (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MqAttr
{
    public long mq_flags;
    public long mq_maxmsg;
    public long mq_msgsize;
    public long mq_curmsgs;
    public long reserved0;
    public long reserved1;
    public long reserved2;
    public long reserved3;
}
