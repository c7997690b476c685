using System;
using System.Buffers;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;
using Ready = Moat.Sentry.Net.Stack.Readiness;

namespace Moat.Sentry.Net;

/// <summary>
/// A raw IPv4 socket (AF_INET, SOCK_RAW, protocol 1-262) over the netstack's RawEndpoint, as Linux's
/// net/ipv4/raw.c: it reads whole datagrams of its protocol (IP header included) from any address, or only
/// those to its bound and from its connected address; it writes payloads the stack puts under a header, or
/// with IP_HDRINCL (IPPROTO_RAW) whole datagrams. Only with --net-raw and CAP_NET_RAW (SysSocketRaw.cs).
/// </summary>
internal sealed class StackRawSocket : StackDatagramSocket
{
    public const int SOCK_RAW = 3;

    private const int MaxDatagram = 0xFFFF;
    private const int SolIp = 0;
    private const int IpTos = 1;
    private const int IpTtl = 2;
    private const int SolSocket = 1;
    private const int SoBroadcast = 6;

    private readonly RawEndpoint _ep;

    // Protected by Mu.
    private ushort _peerPort;
    private bool _connected;

    public StackRawSocket(RawEndpoint ep, int protocol, int flags, uint uid)
        : base(InetAddr.AF_INET, SOCK_RAW, flags, uid)
    {
        _ep = ep;
        Protocol = protocol;
        ep.Listener = this;
    }

    /// <summary>The protocol the socket was opened with (its "port" in getsockname, as Linux's inet_sport).</summary>
    public override int Protocol { get; }

    /// <summary>IP_HDRINCL.</summary>
    public bool HeaderIncluded
    {
        get => _ep.HeaderIncluded;
        set => _ep.HeaderIncluded = value;
    }

    /// <summary>ICMP_FILTER (IPPROTO_ICMP sockets only).</summary>
    public uint IcmpFilter
    {
        get => _ep.IcmpFilter;
        set => _ep.IcmpFilter = value;
    }

    public override int ReceiveBuffer
    {
        get => _ep.ReceiveBufferSize;
        set => _ep.ReceiveBufferSize = value;
    }

    public override bool IsConnectedSocket
    {
        get
        {
            lock (Mu)
            {
                return _connected;
            }
        }
    }

    public override long GetName(bool peer, out InetAddr a)
    {
        // The endpoint's addresses are read before Mu is taken: no endpoint call happens under a socket lock.
        Ip4Address remote = _ep.RemoteAddress;
        Ip4Address local = _ep.LocalAddress;
        lock (Mu)
        {
            if (peer)
            {
                a = new InetAddr(InetAddr.FromV4(remote.Value), _peerPort);
                return _connected ? 0 : -Errno.ENOTCONN.Value;
            }

            // inet_getname: the bound address, else the source a connect chose.
            if (local.IsUnspecified && _connected)
            {
                local = Ip4Address.Loopback;
            }

            a = new InetAddr(InetAddr.FromV4(local.Value), (ushort)Protocol);
            return 0;
        }
    }

    public override long Bind(InetAddr a) => a.IsV4 ? -_ep.Bind(new Ip4Address(a.V4)).Value : -Errno.EAFNOSUPPORT.Value;

    public override long Connect(Task t, InetAddr dst)
    {
        if (!dst.IsV4)
        {
            return -Errno.EAFNOSUPPORT.Value;
        }

        _ep.Connect(dst.IsAny ? Ip4Address.Loopback : new Ip4Address(dst.V4));
        lock (Mu)
        {
            _peerPort = dst.Port;
            _connected = true;
        }

        return 0;
    }

    public override long Disconnect()
    {
        _ep.Connect(Ip4Address.Any);
        lock (Mu)
        {
            _peerPort = 0;
            _connected = false;
        }

        return 0;
    }

    public override long Send(Task t, in IoSequence src, int flags, InetAddr? dst)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        if (src.Total > MaxDatagram)
        {
            return -Errno.EMSGSIZE.Value;
        }

        Ip4Address to;
        if (dst is InetAddr d)
        {
            if (!d.IsV4)
            {
                return -Errno.EAFNOSUPPORT.Value;
            }

            to = d.IsAny ? Ip4Address.Loopback : new Ip4Address(d.V4);
        }
        else if (IsConnectedSocket)
        {
            to = _ep.RemoteAddress;
        }
        else
        {
            return -Errno.EDESTADDRREQ.Value;
        }

        if (to == Ip4Address.Broadcast && Options.GetValueOrDefault((SolSocket << 16) | SoBroadcast) == 0)
        {
            return -Errno.EACCES.Value;
        }

        int len = (int)src.Total;
        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(len, 1));
        try
        {
            if (len > 0 && src.CopyIn(t.MM, 0, buf.AsSpan(0, len)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            byte tos = (byte)Options.GetValueOrDefault((SolIp << 16) | IpTos);
            byte ttl = (byte)Options.GetValueOrDefault((SolIp << 16) | IpTtl, Ipv4Header.DefaultTtl);
            Errno err = _ep.Send(to, buf.AsSpan(0, len), tos, ttl);
            return err == Errno.None ? len : -err.Value;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    protected override Errno OobReceiveError => Errno.EOPNOTSUPP;

    protected override int EndpointEvents => _ep.Events;

    public override Errno Dequeue(Span<byte> buffer, bool peek, out int length, out Origin origin)
    {
        Errno err = _ep.Receive(buffer, out length, out Ip4Address src, peek);
        origin = new Origin(new InetAddr(InetAddr.FromV4(src.Value), 0), 0, 0, 0);
        return err;
    }

    public override int Available => _ep.NextLength;

    protected override void CloseEndpoint()
    {
        _ep.Listener = null;
        _ep.Close();
    }
}
