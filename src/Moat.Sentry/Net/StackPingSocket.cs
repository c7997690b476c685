using System;
using System.Buffers;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;
using Ready = Moat.Sentry.Net.Stack.Readiness;

namespace Moat.Sentry.Net;

/// <summary>
/// An unprivileged ping socket (AF_INET, SOCK_DGRAM, IPPROTO_ICMP) over the netstack's PingEndpoint, as Linux's
/// net/ipv4/ping.c: the application writes an ICMP echo request (header and data), whose identifier the socket
/// replaces with its own (the "port" it is bound to); it reads echo replies, header included. The sandbox's
/// net.ipv4.ping_group_range admits every group (as the distributions set it).
/// </summary>
internal sealed class StackPingSocket : InetSocket, IReadinessListener
{
    public const int IPPROTO_ICMP = 1;

    private const int MaxMessage = 65507;

    private readonly PingEndpoint _ep;
    private readonly Func<bool> _canRead;

    // The connected peer (connect), 0 when none. Protected by Mu.
    private uint _peer;

    public StackPingSocket(LoopbackStack loopback, PingEndpoint ep, int flags, uint uid)
        : base(loopback, InetAddr.AF_INET, SOCK_DGRAM, flags, uid)
    {
        _ep = ep;
        _canRead = () => (_ep.Events & Ready.Readable) != 0;
        SendBuffer = UdpSocket.DefaultBuffer;
        ReceiveBuffer = UdpSocket.DefaultBuffer;
        ep.Listener = this;
    }

    public override int Protocol => IPPROTO_ICMP;

    public void OnReadinessChanged(int events) => Events.Notify();

    public override bool IsListeningSocket => false;

    public override bool IsConnectedSocket
    {
        get
        {
            lock (Mu)
            {
                return _peer != 0;
            }
        }
    }

    public override long GetName(bool peer, out InetAddr a)
    {
        lock (Mu)
        {
            a = peer ? new InetAddr(InetAddr.FromV4(_peer), 0) : new InetAddr(InetAddr.V4Any, _ep.Id);
            return !peer || _peer != 0 ? 0 : -Errno.ENOTCONN.Value;
        }
    }

    public override long Bind(InetAddr a) => a.IsV4 ? -_ep.Bind(a.Port).Value : -Errno.EAFNOSUPPORT.Value;

    public override long Connect(Task t, InetAddr dst)
    {
        if (!dst.IsV4)
        {
            return -Errno.EAFNOSUPPORT.Value;
        }

        lock (Mu)
        {
            _peer = dst.IsAny ? Ip4Address.Loopback.Value : dst.V4;
        }

        return 0;
    }

    public override long Listen(int backlog) => -Errno.EOPNOTSUPP.Value;

    public override long Accept(Task t, out InetSocket? conn)
    {
        conn = null;
        return -Errno.EOPNOTSUPP.Value;
    }

    public override long Shutdown(int how) => how is < 0 or > 2 ? -Errno.EINVAL.Value : IsConnectedSocket ? 0 : -Errno.ENOTCONN.Value;

    public override long Send(Task t, in IoSequence src, int flags, InetAddr? dst)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        uint to;
        lock (Mu)
        {
            to = _peer;
        }

        if (dst is InetAddr d)
        {
            if (!d.IsV4)
            {
                return -Errno.EAFNOSUPPORT.Value;
            }

            to = d.IsAny ? Ip4Address.Loopback.Value : d.V4;
        }
        else if (to == 0)
        {
            return -Errno.EDESTADDRREQ.Value;
        }

        ulong total = src.Total;
        if (total > MaxMessage)
        {
            return -Errno.EMSGSIZE.Value;
        }

        if (total < IcmpType.HeaderLength)
        {
            return -Errno.EINVAL.Value;
        }

        int len = (int)total;
        byte[] buf = ArrayPool<byte>.Shared.Rent(len);
        try
        {
            if (src.CopyIn(t.MM, 0, buf.AsSpan(0, len)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            // ping_common_sendmsg: only echo requests, code 0.
            if (buf[0] != IcmpType.EchoRequest || buf[1] != 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (_ep.Id == 0)
            {
                Errno b = _ep.Bind(0);
                if (b != Errno.None && _ep.Id == 0)
                {
                    return -b.Value;
                }
            }

            ushort seq = BinaryPrimitives.ReadUInt16BigEndian(buf.AsSpan(6));
            Errno err = _ep.SendEcho(new Ip4Address(to), seq, buf.AsSpan(IcmpType.HeaderLength, len - IcmpType.HeaderLength));
            return err == Errno.None ? len : -err.Value;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
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

        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        byte[] buf = ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            while (true)
            {
                int want = (int)Math.Min(dst.Total, (ulong)buf.Length);
                Errno err = _ep.ReceiveMessage(buf.AsSpan(0, want), out int length, out Ip4Address src, (flags & MSG_PEEK) != 0);
                if (err == Errno.None)
                {
                    int n = Math.Min(length, want);
                    if (n > 0 && dst.CopyOut(t.MM, 0, buf.AsSpan(0, n)) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    from = new InetAddr(InetAddr.FromV4(src.Value), 0);
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

                if (IsNonBlocking(flags))
                {
                    return -Errno.EAGAIN.Value;
                }

                long r = deadline.Wait(t, Events, _canRead);
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

    public override int Available => 0;

    public override int Readiness(int events) => _ep.Events & (events | PollEvents.POLLHUP | PollEvents.POLLERR);

    protected override void Release()
    {
        _ep.Listener = null;
        _ep.Close();
        Events.Notify();
    }
}
