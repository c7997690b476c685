using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// An AF_UNIX socket inside the Sentry (SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET). As in Linux, every socket
/// owns a receive queue of messages; a sender appends to its peer's (or its destination's) queue and is
/// charged for the bytes until the receiver consumes them, which is what bounds a sender (SO_SNDBUF).
/// Stream reads join messages; datagram and seqpacket reads take one message each
/// (UnixSocket.Stream.cs, UnixSocket.Datagram.cs). Lock order: only connect holds two sockets' _mu at once,
/// taken in order of creation (_id); WaitQueue._mu is a leaf.
/// </summary>
internal sealed partial class UnixSocket : FileDescription, ISocketTimeouts
{
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_SEQPACKET = 5;

    public const int MSG_OOB = 0x1;
    public const int MSG_PEEK = 0x2;
    public const int MSG_CTRUNC = 0x8;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_WAITALL = 0x100;
    public const int MSG_NOSIGNAL = 0x4000;

    private const int RcvShutdown = 1;
    private const int SendShutdown = 2;

    /// <summary>Linux's net.core.wmem_default / rmem_default and the wmem_max / rmem_max a set is capped to.</summary>
    public const int DefaultBuffer = 212992;
    public const int MaxBuffer = 4194304;

    // net.unix.max_dgram_qlen: a datagram receiver not connected back to the sender holds at most this many + 1.
    private const int MaxDgramQueue = 10;

    private static long s_nextAutobind = new Random().Next(0x1000, 0x8000);

    private static long s_nextId;

    private readonly Lock _mu = new();
    private readonly long _id = Interlocked.Increment(ref s_nextId);

    // Protected by _mu.
    private readonly LinkedList<UnixSegment> _queue = new();
    private long _queuedBytes;
    private UnixSocket? _peer;
    private bool _listening;
    private bool _released;
    private bool _embryo;
    private int _shutdown;
    private int _error;
    private int _backlog;
    private readonly Queue<UnixSocket> _pending = new();
    private UnixCredentials _listenCred = UnixCredentials.None;

    // Datagram sockets connected to this one: their POLLOUT depends on room in this queue.
    private readonly HashSet<UnixSocket> _senders = [];

    public UnixSocket(int type, int flags)
    {
        Type = type;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
    }

    /// <summary>The inode number fstat and /proc/pid/fd show.</summary>
    public long Inode => 0x10000 + _id;

    /// <summary>SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.</summary>
    public int Type { get; }

    private bool IsConnectionOriented => Type != SOCK_DGRAM;

    /// <summary>Bytes (with overhead) this socket sent that no receiver has consumed yet (Linux's sk_wmem_alloc).</summary>
    public long SendBytesInFlight;

    /// <summary>Pollers and blocked callers of this socket; notified on any change of its queue or state.</summary>
    public WaitQueue Events { get; } = new();

    /// <summary>This socket's descriptions with O_ASYNC (the socket's fasync list).</summary>
    public FasyncList Fasync { get; } = new();

    /// <summary>sock_fasync: the socket's owner hears of data, connections and the peer's close.</summary>
    public override bool SetAsync(int fd, bool on)
    {
        Fasync.Set(this, fd, on);
        SetAsyncFlag(on);
        return true;
    }

    // Senders waiting for their budget (SendBytesInFlight below SendBuffer), apart from Events so that
    // every message a peer reads does not wake a task that waits for data.
    private readonly WaitQueue _sendRoom = new();

    /// <summary>
    /// A receiver consumed bytes this socket sent: wakes its blocked senders and its pollers, only when the
    /// budget crosses the line that makes it able to send, or writable.
    /// </summary>
    public void Refunded(long before, long after)
    {
        int limit = SendBuffer;
        if (before >= limit && after < limit)
        {
            _sendRoom.Notify();
        }

        if (before * 4 > limit && after * 4 <= limit)
        {
            Events.Notify();
        }
    }

    /// <summary>Wakes everything waiting on this socket (state changes: shutdown, close, new buffer size).</summary>
    public void NotifyAll()
    {
        Events.Notify();
        _sendRoom.Notify();
    }

    /// <summary>The key of this socket in the kernel's name table: "" when unbound, "@..." for abstract names, "#dev:ino" for paths.</summary>
    public string BoundName { get; private set; } = string.Empty;

    /// <summary>The bound name as addresses report it: the path as given to bind, or the abstract name.</summary>
    public string Address { get; private set; } = string.Empty;

    /// <summary>The name of the socket this one is connected to.</summary>
    public string PeerName { get; private set; } = string.Empty;

    /// <summary>The credentials of the peer at connect time (SO_PEERCRED).</summary>
    public UnixCredentials PeerCred { get; private set; } = UnixCredentials.None;

    /// <summary>SO_SNDBUF and SO_RCVBUF as getsockopt reports them (twice what was set, as Linux does).</summary>
    public int SendBuffer { get; set; } = DefaultBuffer;

    public int ReceiveBuffer { get; set; } = DefaultBuffer;

    /// <summary>SO_PASSCRED: every received message carries its sender's credentials.</summary>
    public bool PassCred { get; set; }

    /// <summary>SO_RCVTIMEO and SO_SNDTIMEO in microseconds; 0 waits for ever.</summary>
    public long ReceiveTimeoutUs { get; set; }

    public long SendTimeoutUs { get; set; }

    /// <summary>Other SOL_SOCKET flags that are only stored and read back (SO_REUSEADDR, SO_KEEPALIVE, ...).</summary>
    public Dictionary<int, int> PlainOptions { get; } = [];

    /// <summary>The kernel whose name table holds this socket's bound name, to forget it on close.</summary>
    private Kernel.Kernel? _nameTable;

    public bool IsConnected
    {
        get
        {
            lock (_mu)
            {
                return _peer != null;
            }
        }
    }

    public bool IsListening
    {
        get
        {
            lock (_mu)
            {
                return _listening;
            }
        }
    }

    private bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    /// <summary>Connects two fresh sockets to each other (socketpair).</summary>
    public static void Join(UnixSocket a, UnixSocket b, UnixCredentials credA, UnixCredentials credB)
    {
        lock (a._mu)
        {
            a._peer = b;
            a.PeerCred = credB;
            a.PeerName = b.Address;
        }

        lock (b._mu)
        {
            b._peer = a;
            b.PeerCred = credA;
            b.PeerName = a.Address;
        }
    }

    /// <summary>
    /// bind(2): records the name in the kernel's table; a path name also gets a socket node in the file
    /// tree (EADDRINUSE if the path exists), and is recorded by that node's identity so that any path to it
    /// (a symlink, a relative path) finds the socket. An empty name autobinds to an abstract one.
    /// <paramref name="address"/> is the name as the caller gave it, which getsockname reports.
    /// </summary>
    public long Bind(Task t, string name, string address)
    {
        Kernel.Kernel k = t.Kernel;
        if (name.Length > 0 && !name.StartsWith('@'))
        {
            long r = PathOps.MakeSocketNode(t, name, 0x1FF);
            if (r < 0)
            {
                return r;
            }

            if (BoundName.Length > 0)
            {
                PathOps.Remove(t, name, directory: false);
                return -Errno.EINVAL.Value;
            }

            r = PathOps.Stat(t, name, follow: false, out Stat st);
            if (r < 0)
            {
                return r;
            }

            name = NodeKey(st);
        }

        lock (k.UnixNames)
        {
            if (BoundName.Length > 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (name.Length == 0)
            {
                // Linux's autobind: five hex digits in the abstract namespace.
                do
                {
                    name = "@" + (Interlocked.Increment(ref s_nextAutobind) & 0xFFFFF).ToString("x5");
                }
                while (k.UnixNames.ContainsKey(name));
                address = name;
            }
            else if (name.StartsWith('@') && k.UnixNames.ContainsKey(name))
            {
                return -Errno.EADDRINUSE.Value;
            }

            k.UnixNames[name] = this;
            BoundName = name;
            Address = address;
            _nameTable = k;
            return 0;
        }
    }

    // A socket that passes credentials gets a name before it connects or sends, as in Linux, so that the
    // receiver can tell senders apart.
    private void AutobindForCredentials(Task t)
    {
        if (PassCred && BoundName.Length == 0)
        {
            Bind(t, string.Empty, string.Empty);
        }
    }

    // The table key of a path-bound socket: its node's device and inode.
    private static string NodeKey(in Stat st) => $"#{st.st_dev}:{st.st_ino}";

    /// <summary>
    /// Finds the socket bound to a name: abstract names in the table, paths through the file tree (a socket
    /// node whose socket is gone, or anything else, refuses). Returns 0 or -errno as Linux answers.
    /// </summary>
    public static long Lookup(Task t, string name, out UnixSocket? socket)
    {
        socket = null;
        if (!name.StartsWith('@'))
        {
            long r = PathOps.Stat(t, name, follow: true, out Stat st);
            if (r < 0)
            {
                return r;
            }

            // unix_find_bsd: write permission on the node (whatever it is) before its type.
            if (Permissions.Check(t.Credentials, st, Permissions.MayWrite) != Errno.None)
            {
                return -Errno.EACCES.Value;
            }

            if ((st.st_mode & Abi.Stat.S_IFMT) != Abi.Stat.S_IFSOCK)
            {
                return -Errno.ECONNREFUSED.Value;
            }

            name = NodeKey(st);
        }

        lock (t.Kernel.UnixNames)
        {
            socket = t.Kernel.UnixNames.GetValueOrDefault(name);
        }

        return socket != null ? 0 : -Errno.ECONNREFUSED.Value;
    }

    /// <summary>listen(2).</summary>
    public long Listen(int backlog, UnixCredentials cred)
    {
        if (Type == SOCK_DGRAM)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        lock (_mu)
        {
            if (_peer != null || BoundName.Length == 0)
            {
                return -Errno.EINVAL.Value;
            }

            _listening = true;
            _listenCred = cred;
            _backlog = Math.Clamp(backlog, 0, 4096);
            return 0;
        }
    }

    /// <summary>connect(2) of a stream or seqpacket socket to the listening socket <paramref name="server"/>.</summary>
    public long ConnectTo(Task t, UnixSocket server, UnixCredentials cred)
    {
        if (server.Type != Type)
        {
            return -Errno.ECONNREFUSED.Value;
        }

        AutobindForCredentials(t);

        // As in Linux, the listener's state and backlog are checked before this socket's own state.
        SocketDeadline deadline = new(SendTimeoutUs);
        while (true)
        {
            (UnixSocket first, UnixSocket second) = server._id < _id ? (server, this) : (this, server);
            lock (first._mu)
            lock (second._mu)
            {
                if (!server._listening || (server._shutdown & RcvShutdown) != 0)
                {
                    return -Errno.ECONNREFUSED.Value;
                }

                // Linux lets the queue hold one more than the backlog.
                if (server._pending.Count <= server._backlog)
                {
                    long own = OwnConnectState();
                    if (own < 0)
                    {
                        return own;
                    }

                    var embryo = new UnixSocket(Type, 0) { Address = server.Address, _embryo = true };
                    embryo._peer = this;
                    embryo.PeerCred = cred;
                    embryo.PeerName = Address;
                    _peer = embryo;
                    PeerCred = server._listenCred;
                    PeerName = server.Address;

                    server._pending.Enqueue(embryo);
                    break;
                }
            }

            if (NonBlocking)
            {
                return -Errno.EAGAIN.Value;
            }

            long r = deadline.Wait(t, server.Events, () => { lock (server._mu) { return !server._listening || server._pending.Count <= server._backlog || (server._shutdown & RcvShutdown) != 0; } });
            if (r < 0)
            {
                return r;
            }
        }

        server.Events.Notify();
        server.Fasync.Signal(FileAsync.POLL_IN);
        return 0;
    }

    // Whether this socket may still connect: -EINVAL when listening, -EISCONN when connected.
    // Preconditions: _mu is held.
    private long OwnConnectState() => _listening ? -Errno.EINVAL.Value : _peer != null ? -Errno.EISCONN.Value : 0;

    /// <summary>connect(2) of a datagram socket: sets (or with null, clears) the default destination.</summary>
    public long ConnectDatagram(Task t, UnixSocket? target)
    {
        if (target != null && target.Type != Type)
        {
            return -Errno.ECONNREFUSED.Value;
        }

        if (target != null)
        {
            AutobindForCredentials(t);
        }

        UnixSocket? old;
        lock (_mu)
        {
            old = _peer;
            _peer = target;
            PeerName = target?.Address ?? string.Empty;
        }

        old?.RemoveSender(this);
        if (target != null)
        {
            lock (target._mu)
            {
                target._senders.Add(this);
            }
        }

        Events.Notify();
        return 0;
    }

    /// <summary>accept(2): waits for a queued connection. Returns 0 with the new socket or -errno.</summary>
    public long Accept(Task t, out UnixSocket? socket)
    {
        socket = null;
        if (Type == SOCK_DGRAM)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        SocketDeadline deadline = new(ReceiveTimeoutUs);
        while (true)
        {
            lock (_mu)
            {
                if (!_listening)
                {
                    return -Errno.EINVAL.Value;
                }

                if (_pending.Count > 0)
                {
                    socket = _pending.Dequeue();
                    socket._embryo = false;

                    // unix_sock_inherit_flags: the listener's SO_PASSCRED as it is at accept.
                    socket.PassCred |= PassCred;
                    break;
                }

                // shutdown(2) of a listener ends its accepts: the way to stop a thread blocked in accept.
                if ((_shutdown & RcvShutdown) != 0)
                {
                    return -Errno.EINVAL.Value;
                }

                if (NonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = deadline.Wait(t, Events, () => { lock (_mu) { return _pending.Count > 0 || !_listening || (_shutdown & RcvShutdown) != 0; } });
            if (r < 0)
            {
                return r;
            }
        }

        // A connect waiting for room in the backlog.
        Events.Notify();
        return 0;
    }

    /// <summary>shutdown(2). Connection-oriented peers see the other half of it.</summary>
    public long Shutdown(int how)
    {
        if (how is < 0 or > 2)
        {
            return -Errno.EINVAL.Value;
        }

        int mode = how + 1;
        UnixSocket? peer;
        lock (_mu)
        {
            _shutdown |= mode;
            peer = _peer;
        }

        NotifyAll();
        if (peer != null && IsConnectionOriented)
        {
            int peerMode = ((mode & RcvShutdown) != 0 ? SendShutdown : 0) | ((mode & SendShutdown) != 0 ? RcvShutdown : 0);
            lock (peer._mu)
            {
                peer._shutdown |= peerMode;
            }

            peer.NotifyAll();
        }

        return 0;
    }

    /// <summary>SO_ERROR: the pending error, cleared by reading it.</summary>
    public int TakeError()
    {
        lock (_mu)
        {
            int e = _error;
            _error = 0;
            return e;
        }
    }

    public override long Ioctl(Task t, uint request, ulong arg)
    {
        const uint FIONREAD = 0x541B;
        if (request != FIONREAD)
        {
            // Interface queries (SIOCGIF*) work on any socket; glibc asks a unix socket first.
            return Net.LoopbackInterface.Ioctl(t, request, arg);
        }

        int n;
        lock (_mu)
        {
            if (_listening)
            {
                return -Errno.EINVAL.Value;
            }

            // A datagram socket reports the size of its next message, the others every unread byte.
            n = Type == SOCK_DGRAM ? _queue.First?.Value.Length ?? 0 : (int)Math.Min(_queuedBytes, int.MaxValue);
        }

        return t.MM.CopyOut(arg, n) < 0 ? -Errno.EFAULT.Value : 0;
    }

    public override WaitQueue? ReadinessQueue => Events;

    public override int Readiness(int events)
    {
        int r = 0;
        UnixSocket? peer;
        lock (_mu)
        {
            if (_error != 0)
            {
                r |= PollEvents.POLLERR;
            }

            if (_shutdown == (RcvShutdown | SendShutdown))
            {
                r |= PollEvents.POLLHUP;
            }

            if ((_shutdown & RcvShutdown) != 0)
            {
                r |= PollEvents.POLLRDHUP | PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }

            if (_queue.Count > 0 || _pending.Count > 0)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }

            // A listener is never writable.
            if (_listening)
            {
                return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
            }

            if (IsConnectionOriented && _peer == null)
            {
                r |= PollEvents.POLLHUP;
            }

            peer = _peer;
        }

        bool writable = Interlocked.Read(ref SendBytesInFlight) * 4 <= SendBuffer;
        if (writable && Type == SOCK_DGRAM && peer != null && !peer.AcceptsFrom(this))
        {
            writable = false;
        }

        if (writable)
        {
            r |= PollEvents.POLLOUT | PollEvents.POLLWRNORM | PollEvents.POLLWRBAND;
        }

        return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
    }

    public override long Stat(out Stat st)
    {
        // sockfs: one inode per socket, mode 0777, as Linux reports.
        st = new Stat { st_mode = Abi.Stat.S_IFSOCK | 0x1FF, st_nlink = 1, st_blksize = 4096, st_ino = (ulong)Inode, st_dev = 0x8 };
        return 0;
    }

    protected override void Release()
    {
        Fasync.Set(this, -1, false);
        if (_nameTable != null)
        {
            lock (_nameTable.UnixNames)
            {
                if (_nameTable.UnixNames.TryGetValue(BoundName, out UnixSocket? s) && s == this)
                {
                    _nameTable.UnixNames.Remove(BoundName);
                }
            }
        }

        UnixSocket? peer;
        UnixSegment[] dropped;
        UnixSocket[] pending;
        bool hadData;
        lock (_mu)
        {
            _released = true;
            _listening = false;
            peer = _peer;
            hadData = _queue.Count > 0;
            dropped = [.. _queue];
            _queue.Clear();
            _queuedBytes = 0;
            pending = [.. _pending];
            _pending.Clear();
        }

        foreach (UnixSegment seg in dropped)
        {
            seg.Release();
        }

        foreach (UnixSocket e in pending)
        {
            e.DecRef();
        }

        if (peer != null && Type == SOCK_DGRAM)
        {
            peer.RemoveSender(this);
        }

        if (peer != null && IsConnectionOriented)
        {
            // The peer can neither read more nor write; unread data or a never-accepted connection is a reset.
            lock (peer._mu)
            {
                peer._shutdown = RcvShutdown | SendShutdown;
                if (hadData || _embryo)
                {
                    peer._error = Errno.ECONNRESET.Value;
                }
            }

            peer.NotifyAll();
            peer.Fasync.Signal(FileAsync.POLL_HUP);
        }

        NotifyAll();
    }

    private void RemoveSender(UnixSocket s)
    {
        lock (_mu)
        {
            _senders.Remove(s);
        }
    }

    // Wakes pollers of the datagram sockets connected to this one: its queue has room again.
    private void NotifySenders()
    {
        UnixSocket[] senders;
        lock (_mu)
        {
            senders = [.. _senders];
        }

        foreach (UnixSocket s in senders)
        {
            s.Events.Notify();
        }
    }

    // Whether a datagram from sender fits in this socket's queue now (always, for a socket connected back to it).
    private bool AcceptsFrom(UnixSocket sender)
    {
        lock (_mu)
        {
            return _released || _peer == sender || _queue.Count <= MaxDgramQueue;
        }
    }

    // Appends a message to this socket's receive queue. Preconditions: _mu is held.
    private void EnqueueLocked(UnixSegment seg)
    {
        _queue.AddLast(seg);
        _queuedBytes += seg.Length;
    }
}
