using System;
using System.Buffers;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// SOCK_DGRAM and SOCK_SEQPACKET data transfer: one message per send and per receive; a receive buffer that
/// is too short loses the rest of the message (MSG_TRUNC). Their EPIPE comes without SIGPIPE, as in Linux.
/// </summary>
internal sealed partial class UnixSocket
{
    private long DatagramSend(Task t, IoSequence iov, SendControl ctl, UnixCredentials cred, int flags, string? dest)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        UnixSocket? other;
        lock (_mu)
        {
            other = _peer;
            if (Type == SOCK_SEQPACKET)
            {
                // A seqpacket socket ignores a destination; it only talks to its peer.
                if (other == null)
                {
                    return -Errno.ENOTCONN.Value;
                }

                if ((_shutdown & SendShutdown) != 0)
                {
                    return -Errno.EPIPE.Value;
                }

                dest = null;
            }
        }

        if (dest != null)
        {
            long lr = Lookup(t, dest, out other);
            if (lr < 0)
            {
                return lr;
            }

            if (other!.Type != Type)
            {
                return -Errno.ECONNREFUSED.Value;
            }
        }
        else if (other == null)
        {
            return -Errno.ENOTCONN.Value;
        }

        if (Type == SOCK_DGRAM)
        {
            AutobindForCredentials(t);
        }

        ulong len = iov.Total;
        // The Sentry also refuses messages it would not want to hold, whatever SO_SNDBUFFORCE allowed.
        if (len > (ulong)Math.Max(SendBuffer - 32, 0) || len > 2 * MaxBuffer)
        {
            return -Errno.EMSGSIZE.Value;
        }

        bool nonBlocking = IsNonBlocking(flags);
        var deadline = new SocketDeadline(SendTimeoutUs);
        long w = WaitForSendRoom(t, nonBlocking, deadline);
        if (w == 1)
        {
            return -Errno.EPIPE.Value;
        }

        if (w < 0)
        {
            return w;
        }

        byte[] buf = ArrayPool<byte>.Shared.Rent((int)len);
        if (iov.CopyIn(t.MM, 0, buf.AsSpan(0, (int)len)) < 0)
        {
            ArrayPool<byte>.Shared.Return(buf);
            return -Errno.EFAULT.Value;
        }

        long sent = EnqueueDatagram(t, other, buf, (int)len, ctl, cred, nonBlocking, deadline);
        if (sent < 0)
        {
            ArrayPool<byte>.Shared.Return(buf);
        }

        return sent;
    }

    // Appends a datagram to other's queue, waiting for room. Returns its length or -errno (buf then not taken).
    private long EnqueueDatagram(Task t, UnixSocket other, byte[] buf, int len, SendControl ctl, UnixCredentials cred, bool nonBlocking, SocketDeadline deadline)
    {

        while (true)
        {
            long r = 0;
            bool full = false;
            lock (other._mu)
            {
                if (other._released)
                {
                    r = Type == SOCK_SEQPACKET ? -Errno.EPIPE.Value : -Errno.ECONNREFUSED.Value;
                }
                else if (Type == SOCK_DGRAM && other._peer != null && other._peer != this)
                {
                    // A socket connected elsewhere takes datagrams only from its peer.
                    r = -Errno.EPERM.Value;
                }
                else if ((other._shutdown & RcvShutdown) != 0)
                {
                    r = -Errno.EPIPE.Value;
                }
                else if (Type == SOCK_DGRAM && other._peer != this && other._queue.Count > MaxDgramQueue)
                {
                    full = true;
                }
                else
                {
                    other.EnqueueLocked(new UnixSegment(buf, len, this, ctl.Creds ?? cred, TakeRights(ctl)));
                }
            }

            if (r == -Errno.ECONNREFUSED.Value)
            {
                // A dead peer is forgotten, as Linux's connected datagram socket does.
                lock (_mu)
                {
                    if (_peer == other)
                    {
                        _peer = null;
                    }
                }
            }

            if (r < 0)
            {
                return r;
            }

            if (!full)
            {
                other.Events.Notify();
                other.Fasync.Signal(FileAsync.POLL_IN);
                return (long)len;
            }

            if (nonBlocking)
            {
                return -Errno.EAGAIN.Value;
            }

            UnixSocket o = other;
            r = deadline.Wait(t, other.Events, () => o.AcceptsFrom(this));
            if (r < 0)
            {
                return r;
            }
        }
    }

    private long DatagramReceive(Task t, IoSequence iov, int flags, RecvResult res)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        bool nonBlocking = IsNonBlocking(flags);
        bool peek = (flags & MSG_PEEK) != 0;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        while (true)
        {
            UnixSegment? seg;
            bool wasFull = false;
            lock (_mu)
            {
                if (Type == SOCK_SEQPACKET && _peer == null)
                {
                    return -Errno.ENOTCONN.Value;
                }

                seg = _queue.First?.Value;
                if (seg == null)
                {
                    if (_error != 0)
                    {
                        int e = _error;
                        _error = 0;
                        return -e;
                    }

                    if ((_shutdown & RcvShutdown) != 0)
                    {
                        return 0;
                    }

                    if (nonBlocking)
                    {
                        return -Errno.EAGAIN.Value;
                    }
                }
                else if (peek)
                {
                    // Under the lock: a concurrent receive may take the message and recycle its buffer.
                    return DeliverMessage(t, iov, flags, res, seg, peek: true);
                }
                else
                {
                    wasFull = _queue.Count > MaxDgramQueue;
                    _queue.RemoveFirst();
                    _queuedBytes -= seg.Length;
                }
            }

            if (seg == null)
            {
                long r = deadline.Wait(t, Events, () => HasQueued || StreamReadEnded);
                if (r < 0)
                {
                    return r;
                }

                continue;
            }

            long result = DeliverMessage(t, iov, flags, res, seg, peek: false);
            seg.Release();

            // Senders waiting for room in this queue, and the pollers of those connected to it.
            if (wasFull)
            {
                Events.Notify();
                NotifySenders();
            }

            return result;
        }
    }

    // Copies one message out; the caller has already taken it off the queue unless peeking.
    private long DeliverMessage(Task t, IoSequence iov, int flags, RecvResult res, UnixSegment seg, bool peek)
    {
        int size = seg.Length;
        int n = (int)Math.Min((ulong)size, iov.Total);
        res.From = NameOrNull(seg.Sender);
        if (size > n)
        {
            res.Flags |= MSG_TRUNC;
        }

        if (PassCred)
        {
            res.Creds = seg.Creds;
        }

        if (seg.Rights != null)
        {
            res.Rights = peek ? DupRights(seg.Rights) : seg.TakeRights();
        }

        if (iov.CopyOut(t.MM, 0, seg.Data.AsSpan(seg.Offset, n)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return (flags & MSG_TRUNC) != 0 ? size : n;
    }
}
