using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// A minimal NETLINK_ROUTE (or NETLINK_GENERIC, <see cref="GenericNetlink"/>) socket: it answers the RTM_GETLINK and RTM_GETADDR dumps with the loopback
/// interface (lo, 127.0.0.1/8, ::1/128), which is what glibc's getifaddrs and if_nameindex ask; with host
/// networking those dumps and RTM_GETROUTE's are the host namespace's (<see cref="HostRouteDump"/>). Any other
/// request gets an NLMSG_ERROR of EOPNOTSUPP. Each request's answer is one datagram, as the kernel's dump is.
/// </summary>
internal sealed class NetlinkSocket : FileDescription, Moat.Sentry.Kernel.Ipc.INotifySink
{
    public const int AF_NETLINK = 16;
    public const int NETLINK_ROUTE = 0;
    public const int SockaddrNlSize = 12;

    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort RTM_NEWLINK = 16;
    private const ushort RTM_GETLINK = 18;
    private const ushort RTM_NEWADDR = 20;
    private const ushort RTM_GETADDR = 22;
    private const ushort RTM_NEWROUTE = 24;
    private const ushort RTM_GETROUTE = 26;
    private const ushort NLM_F_DUMP = 0x300;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_MULTI = 0x2;
    private const int HeaderSize = 16;
    private const int MaxRequest = 65536;

    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Queue<byte[]> _queue = new();
    private uint _portId;

    private readonly Func<bool> _canRead;

    public NetlinkSocket(int type, int flags, int protocol = NETLINK_ROUTE)
    {
        Type = type;
        Protocol = protocol;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
        _canRead = () =>
        {
            lock (_mu)
            {
                return _queue.Count > 0;
            }
        };
    }

    /// <summary>SOCK_RAW or SOCK_DGRAM (netlink treats them alike).</summary>
    public int Type { get; }

    /// <summary>NETLINK_ROUTE or NETLINK_GENERIC (<see cref="GenericNetlink"/>).</summary>
    public int Protocol { get; }

    public long ReceiveTimeoutUs { get; set; }

    public WaitQueue Events { get; } = new();

    public override WaitQueue? ReadinessQueue => Events;

    /// <summary>bind(2): the port id is the caller's pid when it asks for 0, as the kernel's autobind picks first.</summary>
    public long Bind(Task t, ReadOnlySpan<byte> addr)
    {
        if (addr.Length < SockaddrNlSize)
        {
            return -Errno.EINVAL.Value;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(addr) != AF_NETLINK)
        {
            return -Errno.EINVAL.Value;
        }

        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(addr[4..]);
        lock (_mu)
        {
            if (_portId != 0 && pid != 0 && pid != _portId)
            {
                return -Errno.EINVAL.Value;
            }

            if (_portId == 0)
            {
                _portId = pid != 0 ? pid : (uint)t.Group.Tgid;
            }
        }

        return 0;
    }

    /// <summary>The sockaddr_nl of this socket (its port id, or 0 before bind) or of the kernel.</summary>
    public int Name(bool kernel, Span<byte> b)
    {
        b[..SockaddrNlSize].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, AF_NETLINK);
        if (!kernel)
        {
            lock (_mu)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(b[4..], _portId);
            }
        }

        return SockaddrNlSize;
    }

    /// <summary>Queues a message queue's SIGEV_THREAD cookie as one datagram from the kernel (netlink_sendskb).</summary>
    public void DeliverNotification(byte[] cookie)
    {
        lock (_mu)
        {
            _queue.Enqueue((byte[])cookie.Clone());
        }

        Events.Notify();
    }

    /// <summary>Takes one datagram of requests and queues the answers. Returns the bytes taken or -errno.</summary>
    public long Send(Task t, in IoSequence src)
    {
        ulong total = src.Total;
        if (total > MaxRequest)
        {
            return -Errno.EMSGSIZE.Value;
        }

        byte[] req = new byte[total];
        if (src.CopyIn(t.MM, 0, req) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        lock (_mu)
        {
            if (_portId == 0)
            {
                _portId = (uint)t.Group.Tgid;
            }
        }

        var answer = new List<byte>();
        var datagrams = new List<byte[]>();
        bool host = t.Kernel.HostNetwork != null;
        for (int off = 0; off + HeaderSize <= req.Length;)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(req.AsSpan(off));
            if (len < HeaderSize || len > req.Length - off)
            {
                break;
            }

            if (Protocol == GenericNetlink.NETLINK_GENERIC)
            {
                uint port;
                lock (_mu)
                {
                    port = _portId;
                }

                GenericNetlink.Answer(t, req.AsSpan(off, len), port, datagrams);
            }
            else if (!host || !AnswerFromHost(req.AsSpan(off, len), answer, datagrams))
            {
                Answer(req.AsSpan(off, len), answer);
            }

            off += Align(len);
        }

        if (answer.Count > 0)
        {
            datagrams.Add([.. answer]);
        }

        if (datagrams.Count > 0)
        {
            lock (_mu)
            {
                foreach (byte[] d in datagrams)
                {
                    _queue.Enqueue(d);
                }
            }

            Events.Notify();
        }

        return (long)total;
    }

    public long Receive(Task t, in IoSequence dst, int flags, out int msgFlags)
    {
        msgFlags = 0;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        while (true)
        {
            lock (_mu)
            {
                if (_queue.Count > 0)
                {
                    byte[] d = _queue.Peek();
                    int n = (int)Math.Min((ulong)d.Length, dst.Total);
                    if (dst.CopyOut(t.MM, 0, d.AsSpan(0, n)) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    if (n < d.Length)
                    {
                        msgFlags = InetSocket.MSG_TRUNC;
                    }

                    if ((flags & InetSocket.MSG_PEEK) == 0)
                    {
                        _queue.Dequeue();
                    }

                    return (flags & InetSocket.MSG_TRUNC) != 0 ? d.Length : n;
                }

                if ((StatusFlags & OpenFlags.O_NONBLOCK) != 0 || (flags & InetSocket.MSG_DONTWAIT) != 0)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = deadline.Wait(t, Events, _canRead);
            if (r < 0)
            {
                return r;
            }
        }
    }

    public override long Read(Task t, in IoSequence dst, long offset) => Receive(t, dst, 0, out _);

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) => Send(t, src);

    public override int Readiness(int events)
    {
        int r = PollEvents.POLLOUT | PollEvents.POLLWRNORM;
        lock (_mu)
        {
            if (_queue.Count > 0)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }
        }

        return r & events;
    }

    public override long Ioctl(Task t, uint request, ulong arg) => LoopbackInterface.Ioctl(t, request, arg);

    public override long Stat(out Stat st)
    {
        st = new Stat { st_mode = Abi.Stat.S_IFSOCK | 0x1FF, st_nlink = 1, st_blksize = 4096, st_dev = 0x8 };
        return 0;
    }

    private static int Align(int n) => (n + 3) & ~3;

    // With host networking, a dump of links, addresses or routes is the host namespace's (HostRouteDump): what
    // is answered so far becomes a datagram, then each of the host's. False for any other request.
    private bool AnswerFromHost(ReadOnlySpan<byte> msg, List<byte> answer, List<byte[]> datagrams)
    {
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(msg[6..]);
        if (type is not (RTM_GETLINK or RTM_GETADDR or RTM_GETROUTE) || (flags & NLM_F_DUMP) != NLM_F_DUMP || (flags & NLM_F_REQUEST) == 0)
        {
            return false;
        }

        uint seq = BinaryPrimitives.ReadUInt32LittleEndian(msg[8..]);
        uint port;
        lock (_mu)
        {
            port = _portId;
        }

        byte family = msg.Length > HeaderSize ? msg[HeaderSize] : (byte)0;
        List<byte[]>? dump = HostRouteDump.Dump(type, family, seq, port, out long error);
        if (answer.Count > 0)
        {
            datagrams.Add([.. answer]);
            answer.Clear();
        }

        if (dump == null)
        {
            byte[] err = new byte[4 + HeaderSize];
            BinaryPrimitives.WriteInt32LittleEndian(err, (int)error);
            msg[..HeaderSize].CopyTo(err.AsSpan(4));
            Message(answer, NLMSG_ERROR, 0, seq, port, err);
            return true;
        }

        datagrams.AddRange(dump);
        return true;
    }

    // Appends the answer to one request message.
    private void Answer(ReadOnlySpan<byte> msg, List<byte> answer)
    {
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(msg[6..]);
        uint seq = BinaryPrimitives.ReadUInt32LittleEndian(msg[8..]);
        uint port;
        lock (_mu)
        {
            port = _portId;
        }

        if ((flags & NLM_F_REQUEST) == 0)
        {
            return;
        }

        switch (type)
        {
            case RTM_GETLINK:
                Message(answer, RTM_NEWLINK, NLM_F_MULTI, seq, port, LinkPayload());
                Message(answer, NLMSG_DONE, NLM_F_MULTI, seq, port, new byte[4]);
                break;
            case RTM_GETADDR:
                Message(answer, RTM_NEWADDR, NLM_F_MULTI, seq, port, AddrPayload(v6: false));
                Message(answer, RTM_NEWADDR, NLM_F_MULTI, seq, port, AddrPayload(v6: true));
                Message(answer, NLMSG_DONE, NLM_F_MULTI, seq, port, new byte[4]);
                break;
            case RTM_GETROUTE when (flags & NLM_F_DUMP) == NLM_F_DUMP:
            {
                // The routes Linux gives a namespace whose only interface is lo, up: all in the local table.
                byte family = msg.Length > HeaderSize ? msg[HeaderSize] : (byte)0;
                if (family is 0 or InetAddr.AF_INET)
                {
                    Message(answer, RTM_NEWROUTE, NLM_F_MULTI, seq, port, RoutePayload4([127, 0, 0, 0], 8, RTN_LOCAL, RT_SCOPE_HOST));
                    Message(answer, RTM_NEWROUTE, NLM_F_MULTI, seq, port, RoutePayload4([127, 0, 0, 1], 32, RTN_LOCAL, RT_SCOPE_HOST));
                    Message(answer, RTM_NEWROUTE, NLM_F_MULTI, seq, port, RoutePayload4([127, 255, 255, 255], 32, RTN_BROADCAST, RT_SCOPE_LINK));
                }

                if (family is 0 or InetAddr.AF_INET6)
                {
                    Message(answer, RTM_NEWROUTE, NLM_F_MULTI, seq, port, RoutePayload6Local());
                }

                Message(answer, NLMSG_DONE, NLM_F_MULTI, seq, port, new byte[4]);
                break;
            }

            default:
                // NLMSG_ERROR: the errno, then the request's header.
                byte[] err = new byte[4 + HeaderSize];
                BinaryPrimitives.WriteInt32LittleEndian(err, -Errno.EOPNOTSUPP.Value);
                msg[..HeaderSize].CopyTo(err.AsSpan(4));
                Message(answer, NLMSG_ERROR, 0, seq, port, err);
                break;
        }
    }

    private static void Message(List<byte> answer, ushort type, ushort flags, uint seq, uint port, byte[] payload)
    {
        int len = HeaderSize + payload.Length;
        Span<byte> h = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)len);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], seq);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], port);
        answer.AddRange(h);
        answer.AddRange(payload);
        for (int i = len; i < Align(len); i++)
        {
            answer.Add(0);
        }
    }

    // struct ifinfomsg and the attributes of lo.
    private static byte[] LinkPayload()
    {
        var p = new List<byte>();
        Span<byte> info = stackalloc byte[16];
        info.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(info[2..], 772); // ARPHRD_LOOPBACK
        BinaryPrimitives.WriteInt32LittleEndian(info[4..], LoopbackInterface.Index);
        BinaryPrimitives.WriteUInt32LittleEndian(info[8..], LoopbackInterface.FlagsWithLowerUp);
        p.AddRange(info);
        Attr(p, 3, "lo\0"u8); // IFLA_IFNAME
        Attr(p, 1, new byte[6]); // IFLA_ADDRESS
        Attr(p, 2, new byte[6]); // IFLA_BROADCAST
        Attr(p, 4, U32(LoopbackInterface.Mtu)); // IFLA_MTU
        Attr(p, 13, U32(1000)); // IFLA_TXQLEN
        Attr(p, 16, [0]); // IFLA_OPERSTATE: unknown, as lo reports
        Attr(p, 17, [0]); // IFLA_LINKMODE
        return [.. p];
    }

    private const byte RTN_LOCAL = 2;
    private const byte RTN_BROADCAST = 3;
    private const byte RT_SCOPE_LINK = 253;
    private const byte RT_SCOPE_HOST = 254;
    private const byte RT_TABLE_LOCAL = 255;
    private const byte RTPROT_KERNEL = 2;

    // struct rtmsg and the attributes of an IPv4 route of lo in the local table, as fib_dump_info writes them.
    private static byte[] RoutePayload4(byte[] dst, byte dstLen, byte type, byte scope)
    {
        var p = new List<byte> { (byte)InetAddr.AF_INET, dstLen, 0, 0, RT_TABLE_LOCAL, RTPROT_KERNEL, scope, type, 0, 0, 0, 0 };
        Attr(p, 15, U32(RT_TABLE_LOCAL)); // RTA_TABLE
        Attr(p, 1, dst); // RTA_DST
        Attr(p, 7, [127, 0, 0, 1]); // RTA_PREFSRC
        Attr(p, 4, U32(LoopbackInterface.Index)); // RTA_OIF
        return [.. p];
    }

    // The local route of ::1 (rt6_fill_node): metric 0, medium preference.
    private static byte[] RoutePayload6Local()
    {
        var p = new List<byte> { (byte)InetAddr.AF_INET6, 128, 0, 0, RT_TABLE_LOCAL, RTPROT_KERNEL, 0, RTN_LOCAL, 0, 0, 0, 0 };
        byte[] loopback = new byte[16];
        loopback[15] = 1;
        Attr(p, 15, U32(RT_TABLE_LOCAL)); // RTA_TABLE
        Attr(p, 1, loopback); // RTA_DST
        Attr(p, 6, U32(0)); // RTA_PRIORITY
        Attr(p, 4, U32(LoopbackInterface.Index)); // RTA_OIF
        Attr(p, 12, new byte[32]); // RTA_CACHEINFO
        Attr(p, 20, [0]); // RTA_PREF: medium
        return [.. p];
    }

    // struct ifaddrmsg and the attributes of 127.0.0.1/8 or ::1/128 on lo.
    private static byte[] AddrPayload(bool v6)
    {
        var p = new List<byte>
        {
            (byte)(v6 ? InetAddr.AF_INET6 : InetAddr.AF_INET),
            (byte)(v6 ? 128 : 8),
            0x80, // IFA_F_PERMANENT
            254, // RT_SCOPE_HOST
        };
        p.AddRange(U32(LoopbackInterface.Index));
        byte[] addr = new byte[v6 ? 16 : 4];
        if (v6)
        {
            addr[15] = 1;
        }
        else
        {
            addr[0] = 127;
            addr[3] = 1;
        }

        Attr(p, 1, addr); // IFA_ADDRESS
        if (!v6)
        {
            Attr(p, 2, addr); // IFA_LOCAL
            Attr(p, 3, "lo\0"u8); // IFA_LABEL
        }

        return [.. p];
    }

    private static byte[] U32(int v)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, v);
        return b;
    }

    private static void Attr(List<byte> p, ushort type, ReadOnlySpan<byte> data)
    {
        int len = 4 + data.Length;
        Span<byte> h = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], type);
        p.AddRange(h);
        p.AddRange(data);
        for (int i = len; i < Align(len); i++)
        {
            p.Add(0);
        }
    }
}
