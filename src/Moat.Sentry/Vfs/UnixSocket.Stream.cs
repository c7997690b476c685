using System;
using System.Buffers;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>SOCK_STREAM data transfer: a byte stream over the queue of messages, with files riding on bytes.</summary>
internal sealed partial class UnixSocket
{
    private const int MaxStreamMessage = 32768;

    // read(2) of nothing answers 0 at once on any socket (recv(2) of nothing may wait, as Linux's does).
    public override long Read(Task t, in IoSequence dst, long offset) => dst.Total == 0 ? 0 : ReceiveDropping(t, dst, 0);

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) =>
        Send(t, src, new SendControl(), default, 0, null);

    // sendfile and splice to and from a socket: read and write with a Sentry buffer.
    public override bool CanSpliceRead => true;

    public override bool CanSpliceWrite => true;

    /// <summary>A receive whose caller takes no files (read, recv): files that arrive are closed, as Linux does.</summary>
    public long ReceiveDropping(Task t, IoSequence iov, int flags)
    {
        var res = new RecvResult();
        long r = Receive(t, iov, flags, res);
        if (res.Rights != null)
        {
            foreach (FileDescription f in res.Rights)
            {
                f.DecRef();
            }
        }

        return r;
    }

    /// <summary>
    /// send/sendto/sendmsg. <paramref name="dest"/> is the destination name, or null; <paramref name="cred"/>
    /// the sender's credentials (default: the caller's, as read(2)'s path passes). The files in
    /// <paramref name="ctl"/> that are sent are taken from it.
    /// </summary>
    public long Send(Task t, IoSequence iov, SendControl ctl, UnixCredentials cred, int flags, string? dest)
    {
        if (cred == default)
        {
            cred = new UnixCredentials(t.Group.Tgid, t.Credentials.EffectiveUid, t.Credentials.EffectiveGid);
        }

        return Type == SOCK_STREAM ? StreamSend(t, iov, ctl, cred, flags, dest != null) : DatagramSend(t, iov, ctl, cred, flags, dest);
    }

    /// <summary>recv/recvfrom/recvmsg into <paramref name="iov"/>; names, credentials and files go to <paramref name="res"/>.</summary>
    public long Receive(Task t, IoSequence iov, int flags, RecvResult res) =>
        Type == SOCK_STREAM ? StreamReceive(t, iov, flags, res) : DatagramReceive(t, iov, flags, res);

    private bool IsNonBlocking(int flags) => NonBlocking || (flags & MSG_DONTWAIT) != 0;

    // EPIPE, with SIGPIPE unless MSG_NOSIGNAL (only when nothing was sent yet, as Linux does).
    private static long PipeError(Task t, ulong sent, int flags)
    {
        if (sent > 0)
        {
            return (long)sent;
        }

        if ((flags & MSG_NOSIGNAL) == 0)
        {
            t.SendSignal(Signal.SIGPIPE, t.Group.Pid.In(t.PidNs), t.Credentials.RealUid);
        }

        return -Errno.EPIPE.Value;
    }

    // Waits until this socket may charge more bytes to its send budget. Returns 0, 1 (shut down) or -errno.
    private long WaitForSendRoom(Task t, bool nonBlocking, in SocketDeadline deadline)
    {
        while (true)
        {
            lock (_mu)
            {
                if ((_shutdown & SendShutdown) != 0)
                {
                    return 1;
                }
            }

            if (Interlocked.Read(ref SendBytesInFlight) < SendBuffer)
            {
                return 0;
            }

            if (nonBlocking)
            {
                return -Errno.EAGAIN.Value;
            }

            long r = deadline.Wait(t, _sendRoom, () => Interlocked.Read(ref SendBytesInFlight) < SendBuffer || SendIsShut);
            if (r < 0)
            {
                return r;
            }
        }
    }

    private bool SendIsShut
    {
        get
        {
            lock (_mu)
            {
                return (_shutdown & SendShutdown) != 0;
            }
        }
    }

    private long StreamSend(Task t, IoSequence iov, SendControl ctl, UnixCredentials cred, int flags, bool hasDest)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        UnixSocket? peer;
        lock (_mu)
        {
            peer = _peer;
            if (hasDest)
            {
                return peer != null ? -Errno.EISCONN.Value : -Errno.EOPNOTSUPP.Value;
            }

            if (peer == null)
            {
                return -Errno.ENOTCONN.Value;
            }
        }

        bool nonBlocking = IsNonBlocking(flags);
        var deadline = new SocketDeadline(SendTimeoutUs);
        ulong total = iov.Total;
        ulong sent = 0;
        if (SendIsShut)
        {
            return PipeError(t, 0, flags);
        }

        // No bytes, no message (files sent with no bytes are dropped, as in Linux).
        while (sent < total)
        {
            long w = WaitForSendRoom(t, nonBlocking, deadline);
            if (w == 1)
            {
                return PipeError(t, sent, flags);
            }

            if (w < 0)
            {
                return sent > 0 ? (long)sent : w;
            }

            // Linux cuts a stream write into messages of at most half the send buffer and about 32 KiB.
            int size = (int)Math.Min(total - sent, (ulong)Math.Clamp(SendBuffer / 2 - 64, 1, MaxStreamMessage));
            byte[] buf = ArrayPool<byte>.Shared.Rent(size);
            if (iov.CopyIn(t.MM, sent, buf.AsSpan(0, size)) < 0)
            {
                ArrayPool<byte>.Shared.Return(buf);
                return sent > 0 ? (long)sent : -Errno.EFAULT.Value;
            }

            lock (peer._mu)
            {
                if (peer._released || (peer._shutdown & RcvShutdown) != 0)
                {
                    ArrayPool<byte>.Shared.Return(buf);
                    return PipeError(t, sent, flags);
                }

                // Files ride on the first message only.
                peer.EnqueueLocked(new UnixSegment(buf, size, this, ctl.Creds ?? cred, sent == 0 ? TakeRights(ctl) : null));
            }

            peer.Events.Notify();
            peer.Fasync.Signal(FileAsync.POLL_IN);
            sent += (ulong)size;
        }

        return (long)sent;
    }

    private static FileDescription[]? TakeRights(SendControl ctl)
    {
        FileDescription[]? r = ctl.Rights;
        ctl.Rights = null;
        return r;
    }

    private long StreamReceive(Task t, IoSequence iov, int flags, RecvResult res)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        lock (_mu)
        {
            if (_peer == null || _listening)
            {
                return -Errno.EINVAL.Value;
            }
        }

        bool nonBlocking = IsNonBlocking(flags);
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        ulong size = iov.Total;
        ulong target = (flags & MSG_WAITALL) != 0 && size > 0 ? size : 1;
        ulong copied = 0;
        bool haveCreds = false;
        while (true)
        {
            UnixSegment? done = null;
            bool stop = false;
            lock (_mu)
            {
                UnixSegment? seg = _queue.First?.Value;
                if (seg == null)
                {
                    if (copied >= target)
                    {
                        return (long)copied;
                    }

                    if (_error != 0)
                    {
                        int e = _error;
                        _error = 0;
                        return copied > 0 ? (long)copied : -e;
                    }

                    if ((_shutdown & RcvShutdown) != 0)
                    {
                        return (long)copied;
                    }

                    if (nonBlocking)
                    {
                        return copied > 0 ? (long)copied : -Errno.EAGAIN.Value;
                    }
                }
                else if ((flags & MSG_PEEK) != 0)
                {
                    return PeekStreamLocked(t, iov, res);
                }
                else
                {
                    // With SO_PASSCRED, bytes from different senders are never joined.
                    if (PassCred)
                    {
                        if (haveCreds && res.Creds != seg.Creds)
                        {
                            return (long)copied;
                        }

                        res.Creds = seg.Creds;
                        haveCreds = true;
                    }

                    if (copied == 0)
                    {
                        res.From = NameOrNull(seg.Sender);
                    }

                    int chunk = (int)Math.Min((ulong)seg.Length, size - copied);
                    if (iov.CopyOut(t.MM, copied, seg.Data.AsSpan(seg.Offset, chunk)) < 0)
                    {
                        return copied > 0 ? (long)copied : -Errno.EFAULT.Value;
                    }

                    copied += (ulong)chunk;
                    seg.Offset += chunk;
                    _queuedBytes -= chunk;
                    FileDescription[]? rights = seg.TakeRights();
                    if (rights != null)
                    {
                        res.Rights = rights;
                    }

                    if (seg.Length == 0)
                    {
                        _queue.RemoveFirst();
                        done = seg;
                    }

                    // A read stops after the bytes that carried files, and at the end of the buffer.
                    stop = seg.Length > 0 || rights != null || copied == size;
                }
            }

            done?.Release();
            if (stop)
            {
                return (long)copied;
            }

            if (done != null)
            {
                continue;
            }

            long r = deadline.Wait(t, Events, () => HasQueued || StreamReadEnded);
            if (r < 0)
            {
                return copied > 0 ? (long)copied : r;
            }
        }
    }

    private bool HasQueued
    {
        get
        {
            lock (_mu)
            {
                return _queue.Count > 0;
            }
        }
    }

    private bool StreamReadEnded
    {
        get
        {
            lock (_mu)
            {
                return _error != 0 || (_shutdown & RcvShutdown) != 0;
            }
        }
    }

    private static string? NameOrNull(UnixSocket s) => s.Address.Length > 0 ? s.Address : null;

    // MSG_PEEK on a stream: copies across queued messages without consuming them, up to the first that
    // carries files (whose files are duplicated). Preconditions: _mu is held and the queue is not empty.
    private long PeekStreamLocked(Task t, IoSequence iov, RecvResult res)
    {
        ulong size = iov.Total;
        ulong copied = 0;
        bool first = true;
        foreach (UnixSegment seg in _queue)
        {
            if (PassCred)
            {
                if (!first && res.Creds != seg.Creds)
                {
                    break;
                }

                res.Creds = seg.Creds;
            }

            if (first)
            {
                res.From = NameOrNull(seg.Sender);
            }

            first = false;
            int chunk = (int)Math.Min((ulong)seg.Length, size - copied);
            if (iov.CopyOut(t.MM, copied, seg.Data.AsSpan(seg.Offset, chunk)) < 0)
            {
                return copied > 0 ? (long)copied : -Errno.EFAULT.Value;
            }

            copied += (ulong)chunk;
            if (seg.Rights != null)
            {
                res.Rights = DupRights(seg.Rights);
                break;
            }

            // Linux walks on past a full buffer to the next files, so a peek can return them with no bytes.
        }

        return (long)copied;
    }

    private static FileDescription[] DupRights(FileDescription[] rights)
    {
        foreach (FileDescription f in rights)
        {
            f.IncRef();
        }

        return (FileDescription[])rights.Clone();
    }
}
