using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// TCP data transfer: a sender copies from its memory straight into the peer's receive ring, a reader from
/// its ring straight into its memory. There is no send queue: the ring holds what Linux would keep in the
/// reader's receive queue and the writer's send queue together, so its limit is the sum of the two buffer
/// sizes. A sender blocks while the ring is full and is woken once a quarter of it is free again (the same
/// mark that makes the socket writable for poll).
/// </summary>
internal sealed partial class TcpSocket
{
    public override long Send(Task t, in IoSequence src, int flags, InetAddr? dst)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        ulong total = src.Total;
        ulong sent = 0;
        var deadline = new SocketDeadline(SendTimeoutUs);
        while (true)
        {
            TcpSocket? peer;
            bool hold;
            lock (Mu)
            {
                long e = SendStateLocked(t, flags, total);
                if (e != 0)
                {
                    return sent > 0 ? (long)sent : e;
                }

                peer = _peer;
                hold = _cork || (flags & MSG_MORE) != 0;
            }

            if (sent == total && total > 0)
            {
                return (long)sent;
            }

            if (total == 0)
            {
                return 0;
            }

            int n = 0;
            bool full = true;
            bool held = false;
            TcpSocket? listener = null;
            lock (peer!.Mu)
            {
                ByteRing? ring = peer._rx;
                if (ring != null)
                {
                    // Either end's SO_SNDBUF/SO_RCVBUF may have changed since the last write.
                    ring.Limit = peer.ReceiveLimit + SendLimit;
                }

                if (ring != null && ring.Free > 0)
                {
                    full = false;
                    n = (int)Math.Min((ulong)ring.Free, total - sent);
                    if (ring.Append(t.MM, src, sent, n) < 0)
                    {
                        return sent > 0 ? (long)sent : -Errno.EFAULT.Value;
                    }

                    // Corked, only whole segments leave; the partial one stays invisible to the reader.
                    peer._held = hold ? (peer._held + n) % LoopbackMss : 0;
                    held = peer._held > 0;
                    peer._bytesReceived += n;
                    if (peer.VisibleLocked > 0)
                    {
                        listener = peer.UndeferLocked();
                    }
                }
            }

            if (n > 0)
            {
                sent += (ulong)n;
                Interlocked.Add(ref _bytesSent, n);
                Stack.Counters.CountLo(n);
                if (held)
                {
                    lock (Mu)
                    {
                        ArmCorkTimerLocked();
                    }
                }

                peer.Events.Notify();
                listener?.Events.Notify();
                continue;
            }

            if (!full)
            {
                continue;
            }

            if (IsNonBlocking(flags))
            {
                return sent > 0 ? (long)sent : -Errno.EAGAIN.Value;
            }

            long r = deadline.Wait(t, Events, _canWrite);
            if (r < 0)
            {
                return sent > 0 ? (long)sent : r;
            }
        }
    }

    // Whether this socket may send now: 0, or the error (with SIGPIPE for EPIPE). A write after the peer
    // closed is taken and lost, and the peer's reset makes the next one fail, as in Linux.
    // Preconditions: Mu is held.
    private long SendStateLocked(Task t, int flags, ulong total)
    {
        if (_state != State.Established)
        {
            if (Error != 0)
            {
                int err = Error;
                Error = 0;
                return -err;
            }

            if (_state == State.Connecting)
            {
                return -Errno.EAGAIN.Value;
            }

            return PipeError(t, flags);
        }

        if (Error != 0 || _shutWrite)
        {
            int err = Error;
            Error = 0;
            return err == 0 || err == Errno.EPIPE.Value ? PipeError(t, flags) : -err;
        }

        if (_peerGone)
        {
            if (total == 0)
            {
                return 0;
            }

            Error = Errno.EPIPE.Value;
            _shutWrite = true;
            return (long)Math.Min(total, long.MaxValue);
        }

        return 0;
    }

    private bool CanWrite()
    {
        TcpSocket? peer;
        lock (Mu)
        {
            if (_state != State.Established || Error != 0 || _shutWrite || _peerGone)
            {
                return true;
            }

            peer = _peer;
        }

        return peer == null || peer.HasRoom();
    }

    /// <summary>Whether a quarter of the receive ring is free: a blocked sender goes on, poll shows POLLOUT.</summary>
    private bool HasRoom()
    {
        lock (Mu)
        {
            return _rx == null || _rx.Free >= _rx.Limit / 4;
        }
    }

    public override long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags)
    {
        from = default;
        msgFlags = 0;
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong total = dst.Total;
        bool peek = (flags & MSG_PEEK) != 0;
        ulong target = (flags & MSG_WAITALL) != 0 && !peek && total > 0 ? total : 1;
        ulong copied = 0;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        while (true)
        {
            TcpSocket? wake = null;
            lock (Mu)
            {
                if (_state == State.Listen)
                {
                    return -Errno.ENOTCONN.Value;
                }

                if (_state == State.Closed && !_everConnected)
                {
                    // A refused connect's error is read first, then EOF (the reset shut the socket), as in
                    // tcp_recvmsg; a socket that never connected is ENOTCONN.
                    int e = Error;
                    Error = 0;
                    return e != 0 ? -e : _shutRead ? 0 : -Errno.ENOTCONN.Value;
                }

                from = Peer;
                ByteRing? ring = _rx;
                if (total == 0)
                {
                    return 0;
                }

                int visible = VisibleLocked;
                if (ring != null && visible > 0)
                {
                    int n = (int)Math.Min((ulong)visible, total - copied);
                    bool wasLow = ring.Free < ring.Limit / 4;
                    if ((flags & MSG_TRUNC) == 0 && ring.Take(t.MM, dst, copied, n, peek) < 0)
                    {
                        return copied > 0 ? (long)copied : -Errno.EFAULT.Value;
                    }

                    if (peek)
                    {
                        return n;
                    }

                    if ((flags & MSG_TRUNC) != 0)
                    {
                        ring.Skip(n);
                    }

                    copied += (ulong)n;
                    if (wasLow && ring.Free >= ring.Limit / 4)
                    {
                        wake = _peer;
                    }
                }

                if (copied < target)
                {
                    long end = ReceiveEndLocked();
                    if (end <= 0)
                    {
                        wake?.Events.Notify();
                        return copied > 0 ? (long)copied : end;
                    }

                    if (IsNonBlocking(flags))
                    {
                        wake?.Events.Notify();
                        return copied > 0 ? (long)copied : -Errno.EAGAIN.Value;
                    }
                }
            }

            wake?.Events.Notify();
            if (copied >= target)
            {
                return (long)copied;
            }

            long r = deadline.Wait(t, Events, _canRead);
            if (r < 0)
            {
                return copied > 0 ? (long)copied : r;
            }
        }
    }

    // What a read of an empty queue answers, in Linux's order: EOF after FIN, the pending error, EOF after a
    // shutdown, ENOTCONN once closed; 1 when it should wait. Preconditions: Mu is held.
    private long ReceiveEndLocked()
    {
        if (_finReceived)
        {
            return 0;
        }

        if (Error != 0)
        {
            int e = Error;
            Error = 0;
            return -e;
        }

        if (_shutRead)
        {
            return 0;
        }

        // A connect still in progress (a full backlog) waits for data, as a read in SYN_SENT does.
        return _state == State.Closed ? -Errno.ENOTCONN.Value : 1;
    }

    private bool CanRead()
    {
        lock (Mu)
        {
            return VisibleLocked > 0 || _finReceived || Error != 0 || _shutRead || _state is State.Closed or State.Listen;
        }
    }

    public override int Available
    {
        get
        {
            lock (Mu)
            {
                return VisibleLocked;
            }
        }
    }
}
