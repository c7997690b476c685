using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// An ICMP echo endpoint, the core of an unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP): its identifier
/// plays the part of a port; echo replies carrying it are queued here.
/// </summary>
internal sealed class PingEndpoint
{
    private const int MaxQueued = 256;

    private readonly NetworkStack _stack;
    // Protected by the stack's lock.
    private readonly Queue<PacketBuffer> _replies = new();
    private ushort _id;

    private IReadinessListener? _listener;

    public PingEndpoint(NetworkStack stack) => _stack = stack;

    public ushort Id => _id;

    public IReadinessListener? Listener
    {
        set
        {
            lock (_stack.Mu)
            {
                _listener = value;
            }
        }
    }

    /// <summary>Poll bits: always writable, readable while a reply is queued.</summary>
    public int Events
    {
        get
        {
            lock (_stack.Mu)
            {
                return EventsLocked();
            }
        }
    }

    private int EventsLocked() => Readiness.Writable | (_replies.Count > 0 ? Readiness.Readable : 0);

    /// <summary>
    /// Takes (or with <paramref name="peek"/> copies) the next reply as a ping socket reads it: the whole ICMP
    /// message, header included; <paramref name="length"/> is its full length. EAGAIN if none.
    /// </summary>
    public Errno ReceiveMessage(Span<byte> message, out int length, out Ip4Address from, bool peek)
    {
        lock (_stack.Mu)
        {
            length = 0;
            from = default;
            if (!_replies.TryPeek(out PacketBuffer? p))
            {
                return Errno.EAGAIN;
            }
            ReadOnlySpan<byte> m = p.Span;
            length = m.Length;
            from = p.Source.V4;
            m[..Math.Min(m.Length, message.Length)].CopyTo(message);
            if (!peek)
            {
                _replies.Dequeue();
                p.Release();
                _listener?.OnReadinessChanged(EventsLocked());
            }
            return Errno.None;
        }
    }

    /// <summary>Takes an identifier (0: pick a free one).</summary>
    public Errno Bind(ushort id)
    {
        lock (_stack.Mu)
        {
            if (_id != 0)
            {
                return Errno.EINVAL;
            }
            if (id == 0)
            {
                id = _stack.AllocateEphemeralLocked(i => _stack.Pings.ContainsKey(i));
            }
            if (id == 0 || !_stack.Pings.TryAdd(id, this))
            {
                return Errno.EADDRINUSE;
            }
            _id = id;
            return Errno.None;
        }
    }

    /// <summary>Sends an echo request with sequence <paramref name="seq"/> and <paramref name="payload"/>.</summary>
    public Errno SendEcho(Ip4Address dst, ushort seq, ReadOnlySpan<byte> payload)
    {
        lock (_stack.Mu)
        {
            if (_id == 0)
            {
                return Errno.EINVAL;
            }
            Errno err = _stack.RouteLocked(dst, out Route r);
            if (err != Errno.None)
            {
                return err;
            }
            PacketBuffer p = PacketBuffer.Rent(IcmpType.HeaderLength + payload.Length);
            Span<byte> m = p.Append(IcmpType.HeaderLength + payload.Length);
            m[0] = IcmpType.EchoRequest;
            m[1] = 0;
            m[2] = 0;
            m[3] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(m[4..], _id);
            BinaryPrimitives.WriteUInt16BigEndian(m[6..], seq);
            payload.CopyTo(m[IcmpType.HeaderLength..]);
            BinaryPrimitives.WriteUInt16BigEndian(m[2..], Checksum.Compute(m));
            err = _stack.SendIpLocked(r, r.Source, dst, Ipv4Header.ProtocolIcmp, p, dontFragment: false);
            _stack.RunLoopbackLocked();
            return err;
        }
    }

    /// <summary>Takes the next reply: its source, sequence and payload (truncated to the span). EAGAIN if none.</summary>
    public Errno TryReceive(Span<byte> payload, out int length, out ushort seq, out Ip4Address from)
    {
        lock (_stack.Mu)
        {
            length = 0;
            seq = 0;
            from = default;
            if (!_replies.TryDequeue(out PacketBuffer? p))
            {
                return Errno.EAGAIN;
            }
            ReadOnlySpan<byte> m = p.Span;
            seq = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
            from = p.Source.V4;
            ReadOnlySpan<byte> data = m[IcmpType.HeaderLength..];
            length = Math.Min(data.Length, payload.Length);
            data[..length].CopyTo(payload);
            p.Release();
            return Errno.None;
        }
    }

    public void Close()
    {
        lock (_stack.Mu)
        {
            _listener = null;
            if (_id != 0)
            {
                _stack.Pings.Remove(_id);
                _id = 0;
            }
            while (_replies.TryDequeue(out PacketBuffer? p))
            {
                p.Release();
            }
        }
    }

    internal void DeliverLocked(PacketBuffer p)
    {
        if (_replies.Count >= MaxQueued)
        {
            p.Release();
            return;
        }
        _replies.Enqueue(p);
        _listener?.OnReadinessChanged(EventsLocked());
    }
}
