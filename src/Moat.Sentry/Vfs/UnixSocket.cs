using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// An AF_UNIX stream socket inside the Sentry. A connected pair is two pipes, one per direction, so stream
/// semantics (partial reads, EOF on the peer's close, EPIPE and SIGPIPE) are the pipe's. Listening sockets
/// keep a backlog of server ends that accept(2) takes.
/// Lock order: _mu &gt; Pipe._mu.
/// </summary>
internal sealed class UnixSocket : FileDescription
{
    public const int SOCK_STREAM = 1;
    private const int MSG_PEEK = 0x2;

    private readonly Lock _mu = new();
    private readonly WaitQueue _acceptQueue = new();

    // Protected by _mu.
    private Pipe? _in;
    private Pipe? _out;
    private bool _listening;
    private int _backlog;
    private readonly Queue<UnixSocket> _pending = new();
    private bool _readShut;
    private bool _writeShut;

    public UnixSocket(int flags)
    {
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
    }

    /// <summary>The name bound to this socket ("" when unbound; "@..." for abstract names).</summary>
    public string BoundName { get; set; } = string.Empty;

    /// <summary>The name of the socket this one is connected to.</summary>
    public string PeerName { get; private set; } = string.Empty;

    /// <summary>The credentials of the peer at connect time (SO_PEERCRED): pid, uid, gid.</summary>
    public (int Pid, uint Uid, uint Gid) PeerCred { get; private set; }

    public bool IsConnected
    {
        get
        {
            lock (_mu)
            {
                return _in != null;
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

    /// <summary>Connects two fresh sockets to each other (socketpair, and connect/accept).</summary>
    public static void Join(UnixSocket a, UnixSocket b, (int, uint, uint) credA, (int, uint, uint) credB)
    {
        var ab = new Pipe();
        var ba = new Pipe();
        ab.Open(reader: false);
        ab.Open(reader: true);
        ba.Open(reader: false);
        ba.Open(reader: true);
        lock (a._mu)
        {
            a._out = ab;
            a._in = ba;
            a.PeerCred = credB;
            a.PeerName = b.BoundName;
        }

        lock (b._mu)
        {
            b._out = ba;
            b._in = ab;
            b.PeerCred = credA;
            b.PeerName = a.BoundName;
        }
    }

    public override long Read(Task t, ulong addr, ulong count) => Receive(t, addr, count, 0);

    public override long Write(Task t, ulong addr, ulong count) => Send(t, addr, count, 0);

    // sendfile and splice to and from a connected stream socket.
    public override long ReadBuffer(Task t, System.Span<byte> dst, long offset)
    {
        Pipe? p;
        lock (_mu)
        {
            p = _in;
            if (p == null)
            {
                return -Errno.ENOTCONN.Value;
            }

            if (_readShut)
            {
                return 0;
            }
        }

        return p.ReadBuffer(t, dst, NonBlocking);
    }

    public override long WriteBuffer(Task t, System.ReadOnlySpan<byte> src, long offset)
    {
        Pipe? p;
        lock (_mu)
        {
            p = _out;
            if (p == null)
            {
                return -Errno.ENOTCONN.Value;
            }

            if (_writeShut)
            {
                t.SendSignal(Signal.SIGPIPE, t.Group.Tgid, t.Credentials.RealUid);
                return -Errno.EPIPE.Value;
            }
        }

        return p.WriteBuffer(t, src, NonBlocking);
    }

    /// <summary>recv(2)/recvfrom(2) on a connected socket.</summary>
    public long Receive(Task t, ulong addr, ulong count, int flags)
    {
        Pipe? p;
        lock (_mu)
        {
            p = _in;
            if (p == null)
            {
                return -Errno.ENOTCONN.Value;
            }

            if (_readShut)
            {
                return 0;
            }
        }

        if ((flags & MSG_PEEK) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        return p.Read(t, addr, count, NonBlocking || (flags & 0x40 /* MSG_DONTWAIT */) != 0);
    }

    /// <summary>send(2)/sendto(2) on a connected socket. MSG_NOSIGNAL suppresses SIGPIPE.</summary>
    public long Send(Task t, ulong addr, ulong count, int flags)
    {
        Pipe? p;
        lock (_mu)
        {
            p = _out;
            if (p == null)
            {
                return -Errno.ENOTCONN.Value;
            }

            if (_writeShut)
            {
                if ((flags & 0x4000) == 0)
                {
                    t.SendSignal(Signal.SIGPIPE, t.Group.Tgid, t.Credentials.RealUid);
                }

                return -Errno.EPIPE.Value;
            }
        }

        bool nonBlocking = NonBlocking || (flags & 0x40 /* MSG_DONTWAIT */) != 0;
        if ((flags & 0x4000 /* MSG_NOSIGNAL */) != 0)
        {
            // Write without the pipe's SIGPIPE: only the EPIPE result is kept.
            long r = p.Write(t, addr, count, nonBlocking);
            if (r == -Errno.EPIPE.Value)
            {
                t.DiscardPending(Signal.SIGPIPE);
            }

            return r;
        }

        return p.Write(t, addr, count, nonBlocking);
    }

    /// <summary>shutdown(2).</summary>
    public long Shutdown(int how)
    {
        if (how is < 0 or > 2)
        {
            return -Errno.EINVAL.Value;
        }

        Pipe? closeIn = null;
        Pipe? closeOut = null;
        lock (_mu)
        {
            if (_in == null)
            {
                return -Errno.ENOTCONN.Value;
            }

            if (how != 1 && !_readShut)
            {
                _readShut = true;
                closeIn = _in;
            }

            if (how != 0 && !_writeShut)
            {
                _writeShut = true;
                closeOut = _out;
            }
        }

        closeIn?.Close(reader: true);
        closeOut?.Close(reader: false);
        return 0;
    }

    /// <summary>listen(2).</summary>
    public long Listen(int backlog)
    {
        lock (_mu)
        {
            if (_in != null)
            {
                return -Errno.EINVAL.Value;
            }

            _listening = true;
            _backlog = Math.Clamp(backlog, 0, 4096) + 1;
            return 0;
        }
    }

    /// <summary>A client's connect(2) to this listening socket: queues the server end. Returns 0 or -errno.</summary>
    public long Enqueue(UnixSocket client, (int, uint, uint) clientCred, (int, uint, uint) serverCred)
    {
        lock (_mu)
        {
            if (!_listening)
            {
                return -Errno.ECONNREFUSED.Value;
            }

            if (_pending.Count >= _backlog)
            {
                return -Errno.EAGAIN.Value;
            }

            var server = new UnixSocket(0) { BoundName = BoundName };
            Join(client, server, clientCred, serverCred);
            _pending.Enqueue(server);
        }

        _acceptQueue.Notify();
        return 0;
    }

    /// <summary>accept(2): waits for a queued connection. Returns 0 with the new socket or -errno.</summary>
    public long Accept(Task t, out UnixSocket? socket)
    {
        socket = null;
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
                    return 0;
                }

                if (NonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = t.Block(_acceptQueue, () => { lock (_mu) { return _pending.Count > 0; } });
            if (r < 0)
            {
                return r;
            }
        }
    }

    public override WaitQueue? ReadinessQueue
    {
        get
        {
            lock (_mu)
            {
                return _listening ? _acceptQueue : _in?.Events;
            }
        }
    }

    public override int Readiness(int events)
    {
        Pipe? i;
        Pipe? o;
        lock (_mu)
        {
            if (_listening)
            {
                return _pending.Count > 0 ? events & PollEvents.POLLIN : 0;
            }

            i = _in;
            o = _out;
        }

        if (i == null)
        {
            return events & PollEvents.POLLOUT | PollEvents.POLLHUP;
        }

        int r = (i.Readiness(reader: true) & (PollEvents.POLLIN | PollEvents.POLLRDNORM)) | (o!.Readiness(reader: false) & (PollEvents.POLLOUT | PollEvents.POLLWRNORM));
        if ((i.Readiness(reader: true) & PollEvents.POLLHUP) != 0)
        {
            r |= PollEvents.POLLIN | PollEvents.POLLRDHUP | ((o.Readiness(reader: false) & PollEvents.POLLERR) != 0 ? PollEvents.POLLHUP : 0);
        }

        return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
    }

    public override long Stat(out Stat st)
    {
        st = new Stat { st_mode = Abi.Stat.S_IFSOCK | 0x1FF, st_nlink = 1, st_blksize = 4096 };
        return 0;
    }

    /// <summary>The kernel whose name table holds this socket's bound name, to forget it on close.</summary>
    public Kernel.Kernel? NameTable { get; set; }

    protected override void Release()
    {
        if (NameTable != null && BoundName.Length > 0)
        {
            lock (NameTable.UnixNames)
            {
                if (NameTable.UnixNames.TryGetValue(BoundName, out UnixSocket? s) && s == this)
                {
                    NameTable.UnixNames.Remove(BoundName);
                }
            }
        }

        Pipe? i;
        Pipe? o;
        bool readShut;
        bool writeShut;
        lock (_mu)
        {
            i = _in;
            o = _out;
            readShut = _readShut;
            writeShut = _writeShut;
            _in = _out = null;
            _listening = false;
            while (_pending.Count > 0)
            {
                _pending.Dequeue().DecRef();
            }
        }

        if (i != null && !readShut)
        {
            i.Close(reader: true);
        }

        if (o != null && !writeShut)
        {
            o.Close(reader: false);
        }
    }
}
