using System;
using System.Buffers;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// An unprivileged ping socket (AF_INET, SOCK_DGRAM, IPPROTO_ICMP) over the netstack's PingEndpoint, as Linux's
/// net/ipv4/ping.c: the application writes an ICMP echo request (header and data), whose identifier the socket
/// replaces with its own (the "port" it is bound to); it reads echo replies, header included. The sandbox's
/// net.ipv4.ping_group_range admits every group (as the distributions set it).
/// </summary>
internal sealed class StackPingSocket : StackDatagramSocket
{
    public const int IPPROTO_ICMP = 1;

    private const int MaxMessage = 65507;

    private readonly PingEndpoint _ep;

    // The connected peer (connect), 0 when none. Protected by Mu.
    private uint _peer;

    public StackPingSocket(PingEndpoint ep, int flags, uint uid)
        : base(InetAddr.AF_INET, SOCK_DGRAM, flags, uid)
    {
        _ep = ep;
        ReceiveBuffer = DefaultBuffer;
        ep.Listener = this;
    }

    public override int Protocol => IPPROTO_ICMP;

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

    /// <summary>connect(AF_UNSPEC): ping_prot's disconnect, as UDP's, forgets the peer.</summary>
    public override long Disconnect()
    {
        lock (Mu)
        {
            _peer = 0;
        }

        return 0;
    }

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

    protected override int EndpointEvents => _ep.Events;

    public override Errno Dequeue(Span<byte> buffer, bool peek, out int length, out Origin origin)
    {
        Errno err = _ep.ReceiveMessage(buffer, out length, out Ip4Address src, peek);
        origin = new Origin(new InetAddr(InetAddr.FromV4(src.Value), 0), 0, 0, 0);
        return err;
    }

    public override int Available => 0;

    protected override void CloseEndpoint()
    {
        _ep.Listener = null;
        _ep.Close();
    }
}
