using System;
using System.Buffers;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>A socket's queue of whole datagrams (or frames), read one at a time.</summary>
internal interface IDatagramQueue<TOrigin>
{
    /// <summary>Takes (or with <paramref name="peek"/> copies) the next datagram into <paramref name="buffer"/>: its whole length and origin, or EAGAIN.</summary>
    Errno Dequeue(Span<byte> buffer, bool peek, out int length, out TOrigin origin);

    /// <summary>Whether reading was shut down: an empty queue then reads 0.</summary>
    bool ReadShut { get; }
}

/// <summary>
/// The receive loop of the netstack's datagram and packet sockets: a pooled Sentry buffer, the queue's next
/// datagram copied out, MSG_PEEK and MSG_TRUNC (the flag truncation sets, and the whole length returned when
/// asked), then EAGAIN or a wait bounded by SO_RCVTIMEO. Generic over the queue so the call allocates nothing.
/// </summary>
internal static class DatagramReceive
{
    private const int MSG_PEEK = 0x2;
    private const int MSG_TRUNC = 0x20;

    public static long Receive<TQueue, TOrigin>(TQueue queue, Task t, in IoSequence dst, int flags, bool nonBlocking, long timeoutUs,
        int bufferSize, WaitQueue events, Func<bool> canRead, out TOrigin origin, out int msgFlags)
        where TQueue : IDatagramQueue<TOrigin>
    {
        msgFlags = 0;
        var deadline = new SocketDeadline(timeoutUs);
        byte[] buf = ArrayPool<byte>.Shared.Rent(bufferSize);
        try
        {
            while (true)
            {
                int want = (int)Math.Min(dst.Total, (ulong)buf.Length);
                Errno err = queue.Dequeue(buf.AsSpan(0, want), (flags & MSG_PEEK) != 0, out int length, out origin);
                if (err == Errno.None)
                {
                    int n = Math.Min(length, want);
                    if (n > 0 && dst.CopyOut(t.MM, 0, buf.AsSpan(0, n)) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    if (n < length)
                    {
                        msgFlags |= MSG_TRUNC;
                    }

                    return (flags & MSG_TRUNC) != 0 ? length : n;
                }

                if (err != Errno.EAGAIN)
                {
                    return -err.Value;
                }

                if (queue.ReadShut)
                {
                    return 0;
                }

                if (nonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }

                long r = deadline.Wait(t, events, canRead);
                if (r < 0)
                {
                    return r;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }
}
