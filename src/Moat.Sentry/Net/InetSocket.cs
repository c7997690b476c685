using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// An AF_INET or AF_INET6 socket: what the netstack's sockets (StackTcpSocket, the datagram sockets of
/// StackDatagramSocket) and --network=host's HostInetSocket share: the family and type, the stored options,
/// the pending error, readiness and the ioctls.
/// </summary>
internal abstract class InetSocket : FileDescription, ISocketTimeouts
{
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int IPPROTO_TCP = 6;
    public const int IPPROTO_UDP = 17;

    public const int MSG_OOB = 0x1;
    public const int MSG_PEEK = 0x2;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_WAITALL = 0x100;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_MORE = 0x8000;

    private static long s_nextId;

    /// <summary>Guards the state of the socket; subclasses keep theirs under it too.</summary>
    protected readonly Lock Mu = new();

    private readonly long _id = Interlocked.Increment(ref s_nextId);

    protected InetSocket(int family, int type, int flags, uint uid)
    {
        Family = family;
        Type = type;
        Uid = uid;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
    }

    /// <summary>AF_INET or AF_INET6.</summary>
    public int Family { get; }

    /// <summary>SOCK_STREAM or SOCK_DGRAM.</summary>
    public int Type { get; }

    public bool IsStream => Type == SOCK_STREAM;

    // sendfile and splice to and from a TCP socket (the netstack's or a host one): read and write
    // with a Sentry buffer. Datagram sockets answer EINVAL: a chunked copy would cut a file into several datagrams.
    public override bool CanSpliceRead => IsStream;

    public override bool CanSpliceWrite => IsStream;

    /// <summary>IPPROTO_TCP or IPPROTO_UDP (raw and ping sockets report theirs).</summary>
    public virtual int Protocol => IsStream ? IPPROTO_TCP : IPPROTO_UDP;

    /// <summary>The effective uid of the creator (SO_REUSEPORT groups only sockets of one user).</summary>
    public uint Uid { get; }

    public long Inode => 0x40000000 + _id;

    /// <summary>Whether the socket has a local port (IPV6_V6ONLY can no longer change).</summary>
    public virtual bool IsBound => GetName(false, out InetAddr a) == 0 && a.Port != 0;

    /// <summary>Whether the socket is listening (TCP) for the port table's checks.</summary>
    public abstract bool IsListeningSocket { get; }

    /// <summary>Whether the socket has a peer (connected UDP, established TCP).</summary>
    public abstract bool IsConnectedSocket { get; }

    public bool ReuseAddr { get; set; }

    public bool ReusePort { get; set; }

    /// <summary>IPV6_V6ONLY (net.ipv6.bindv6only is 0, so it starts off).</summary>
    public bool V6Only { get; set; }

    /// <summary>SO_SNDBUF as getsockopt reports it (already doubled when set).</summary>
    public virtual int SendBuffer { get; set; }

    /// <summary>SO_RCVBUF as getsockopt reports it (already doubled when set).</summary>
    public virtual int ReceiveBuffer { get; set; }

    /// <summary>SO_SNDBUF was set: the size is fixed, no autotuning (Linux's SOCK_SNDBUF_LOCK).</summary>
    public bool SendBufferLocked { get; set; }

    /// <summary>SO_RCVBUF was set: the size is fixed, no autotuning (Linux's SOCK_RCVBUF_LOCK).</summary>
    public bool ReceiveBufferLocked { get; set; }

    public long ReceiveTimeoutUs { get; set; }

    public long SendTimeoutUs { get; set; }

    /// <summary>SO_LINGER: on, and its time in seconds.</summary>
    public bool LingerOn { get; set; }

    public int LingerSeconds { get; set; }

    /// <summary>SO_TIMESTAMP (1: microseconds) or SO_TIMESTAMPNS (2: nanoseconds) on received datagrams; 0 for neither (one excludes the other, as in Linux).</summary>
    public int TimestampMode { get; set; }

    /// <summary>Options that are only stored and read back, keyed by level &lt;&lt; 16 | name.</summary>
    public Dictionary<int, int> Options { get; } = [];

    /// <summary>Pollers and blocked callers; notified on any change.</summary>
    public WaitQueue Events { get; } = new();

    /// <summary>The pending error (SO_ERROR). Protected by Mu.</summary>
    protected int Error;

    protected bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    protected bool IsNonBlocking(int flags) => NonBlocking || (flags & MSG_DONTWAIT) != 0;

    /// <summary>CLOCK_REALTIME now, in nanoseconds: when a datagram arrived.</summary>
    public static long RealtimeNs()
    {
        Moat.Host.HostProcess.ClockGettime(0, out Timespec ts);
        return (ts.tv_sec * 1_000_000_000) + ts.tv_nsec;
    }

    /// <summary>The arrival time of the last datagram read (SIOCGSTAMP); false when there is none (ENOENT).</summary>
    public virtual bool LastStamp(out long ns)
    {
        ns = 0;
        return false;
    }

    public virtual int TakeError()
    {
        lock (Mu)
        {
            int e = Error;
            Error = 0;
            return e;
        }
    }

    /// <summary>Told after setsockopt stored a value in <see cref="Options"/> (sockets over the netstack pass it to their endpoint).</summary>
    public virtual void OptionChanged(int level, int name, int value)
    {
    }

    /// <summary>The address as this socket's family reports it (IPv4 sockets never see mapped addresses).</summary>
    public int EncodeAddress(InetAddr a, System.Span<byte> b) => a.Encode(Family, b);

    /// <summary>getsockname(2), or getpeername(2) with <paramref name="peer"/>: 0 or -ENOTCONN.</summary>
    public abstract long GetName(bool peer, out InetAddr a);

    /// <summary>bind(2).</summary>
    public abstract long Bind(InetAddr a);

    public abstract long Connect(Task t, InetAddr dst);

    public abstract long Listen(int backlog);

    public abstract long Accept(Task t, out InetSocket? conn);

    public abstract long Shutdown(int how);

    /// <summary>send/sendto/sendmsg; <paramref name="dst"/> is the destination of sendto, if any.</summary>
    public abstract long Send(Task t, in IoSequence src, int flags, InetAddr? dst);

    /// <summary>recv/recvfrom/recvmsg; <paramref name="from"/> is the sender, <paramref name="msgFlags"/> MSG_TRUNC and such.</summary>
    public abstract long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags);

    /// <summary>Bytes written and not yet delivered (SIOCOUTQ): TCP's corked bytes; 0 elsewhere.</summary>
    public virtual int Unsent => 0;

    /// <summary>Bytes waiting to be read (FIONREAD; for UDP the next datagram's size).</summary>
    public abstract int Available { get; }

    public override long Read(Task t, in IoSequence dst, long offset) =>
        dst.Total == 0 ? 0 : Receive(t, dst, 0, out _, out _);

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) => Send(t, src, 0, null);

    public override long Ioctl(Task t, uint request, ulong arg)
    {
        const uint FIONREAD = 0x541B;
        const uint TIOCOUTQ = 0x5411;
        const uint SIOCOUTQNSD = 0x894B;
        const uint SIOCGSTAMP = 0x8906;
        const uint SIOCGSTAMPNS = 0x8907;
        switch (request)
        {
            case SIOCGSTAMP or SIOCGSTAMPNS:
                if (!LastStamp(out long ns))
                {
                    return -Errno.ENOENT.Value;
                }

                long sec = ns / 1_000_000_000, frac = ns % 1_000_000_000;
                return t.MM.CopyOut(arg, new Timespec { tv_sec = sec, tv_nsec = request == SIOCGSTAMP ? frac / 1000 : frac }) < 0
                    ? -Errno.EFAULT.Value
                    : 0;
            case FIONREAD:
                if (IsListeningSocket)
                {
                    return -Errno.EINVAL.Value;
                }

                return t.MM.CopyOut(arg, Available) < 0 ? -Errno.EFAULT.Value : 0;
            case TIOCOUTQ or SIOCOUTQNSD:
                return IsListeningSocket ? -Errno.EINVAL.Value : t.MM.CopyOut(arg, Unsent) < 0 ? -Errno.EFAULT.Value : 0;
            default:
                return LoopbackInterface.Ioctl(t, request, arg);
        }
    }

    public override WaitQueue? ReadinessQueue => Events;

    public override long Stat(out Stat st)
    {
        st = new Stat { st_mode = Abi.Stat.S_IFSOCK | 0x1FF, st_nlink = 1, st_blksize = 4096, st_ino = (ulong)Inode, st_dev = 0x8 };
        return 0;
    }

    /// <summary>EPIPE, with SIGPIPE unless MSG_NOSIGNAL.</summary>
    protected static long PipeError(Task t, int flags)
    {
        if ((flags & MSG_NOSIGNAL) == 0)
        {
            t.SendSignal(Signal.SIGPIPE, t.Group.Pid.In(t.PidNs), t.Credentials.RealUid);
        }

        return -Errno.EPIPE.Value;
    }
}
