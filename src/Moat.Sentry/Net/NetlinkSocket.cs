using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// A NETLINK_ROUTE (or NETLINK_GENERIC, <see cref="GenericNetlink"/>) socket: it answers RTM_GETLINK (dump, or
/// one interface by index or name), and the RTM_GETADDR and RTM_GETROUTE dumps with the sandbox's own interfaces
/// (<see cref="NetInterfaces"/>: the netstack's lo and, with --network=sandbox, eth0; encoded by
/// <see cref="RouteMessages"/>); with host networking the dumps are the host namespace's
/// (<see cref="HostRouteDump"/>). Any other request gets an NLMSG_ERROR of EOPNOTSUPP. A dump's messages come in
/// datagrams of about a page, as the kernel's.
/// </summary>
internal sealed class NetlinkSocket : FileDescription, Moat.Sentry.Kernel.Ipc.INotifySink
{
    public const int AF_NETLINK = 16;
    public const int NETLINK_ROUTE = 0;
    public const int SockaddrNlSize = 12;

    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort RTM_BASE = 16;
    private const ushort RTM_MAX = 125;
    private const ushort RTM_GETLINK = 18;
    private const ushort RTM_GETADDR = 22;
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
                Answer(t, req.AsSpan(off, len), answer, datagrams);
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

    private static int Align(int n) => RouteMessages.Align(n);

    // With host networking, a dump of links, addresses or routes is the host namespace's (HostRouteDump): what
    // is answered so far becomes a datagram, then each of the host's. False for any other request.
    private bool AnswerFromHost(ReadOnlySpan<byte> msg, List<byte> answer, List<byte[]> datagrams)
    {
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(msg[6..]);
        if (type == RTM_GETLINK && (flags & NLM_F_DUMP) == 0 && (flags & NLM_F_REQUEST) != 0 && msg.Length >= HeaderSize + 16)
        {
            return HostLink(msg, answer);
        }

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
            answer.AddRange(RouteMessages.Message(NLMSG_ERROR, 0, seq, port, err));
            return true;
        }

        datagrams.AddRange(dump);
        return true;
    }

    // With host networking, RTM_GETLINK of one interface (by index or IFLA_IFNAME): its message from the host's
    // link dump, as a single answer; ENODEV when the host has none, EINVAL for neither.
    private bool HostLink(ReadOnlySpan<byte> msg, List<byte> answer)
    {
        uint seq = BinaryPrimitives.ReadUInt32LittleEndian(msg[8..]);
        uint port;
        lock (_mu)
        {
            port = _portId;
        }

        int index = BinaryPrimitives.ReadInt32LittleEndian(msg[(HeaderSize + 4)..]);
        byte[] name = LinkName(msg[(HeaderSize + 16)..]).ToArray();
        if (index <= 0 && name.Length == 0)
        {
            Error(msg, -Errno.EINVAL.Value, seq, port, answer);
            return true;
        }

        List<byte[]>? dump = HostRouteDump.Dump(RTM_GETLINK, 0, seq, port, out long error);
        if (dump == null)
        {
            Error(msg, error, seq, port, answer);
            return true;
        }

        foreach (byte[] d in dump)
        {
            for (int off = 0; off + HeaderSize + 16 <= d.Length;)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(off));
                if (len < HeaderSize || len > d.Length - off)
                {
                    break;
                }

                ReadOnlySpan<byte> m = d.AsSpan(off, len);
                if (BinaryPrimitives.ReadUInt16LittleEndian(m[4..]) == 16 && len >= HeaderSize + 16 &&
                    (index > 0 ? BinaryPrimitives.ReadInt32LittleEndian(m[(HeaderSize + 4)..]) == index : LinkName(m[(HeaderSize + 16)..]).SequenceEqual(name)))
                {
                    byte[] one = m.ToArray();
                    BinaryPrimitives.WriteUInt16LittleEndian(one.AsSpan(6), 0);
                    answer.AddRange(one);
                    for (int i = len; i < Align(len); i++)
                    {
                        answer.Add(0);
                    }

                    return true;
                }

                off += Align(len);
            }
        }

        Error(msg, -Errno.ENODEV.Value, seq, port, answer);
        return true;
    }

    // IFLA_IFNAME (or IFLA_ALT_IFNAME) among a link message's attributes, without its NUL.
    private static ReadOnlySpan<byte> LinkName(ReadOnlySpan<byte> attrs)
    {
        ReadOnlySpan<byte> name = RouteMessages.FindAttr(attrs, 3);
        if (name.IsEmpty)
        {
            name = RouteMessages.FindAttr(attrs, 53);
        }

        int nul = name.IndexOf((byte)0);
        return nul >= 0 ? name[..nul] : name;
    }

    // Linux fills a dump's datagrams up to about a page (NLMSG_GOODSIZE): glibc's getifaddrs reads with a
    // page-sized buffer and gives up on a truncated datagram.
    private const int DumpDatagramSize = 3776;

    // Queues the answer to one request message from the sandbox's own interfaces (NetInterfaces).
    private void Answer(Task t, ReadOnlySpan<byte> msg, List<byte> answer, List<byte[]> datagrams)
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

        bool dump = (flags & NLM_F_DUMP) == NLM_F_DUMP;
        byte family = msg.Length > HeaderSize ? msg[HeaderSize] : (byte)0;
        switch (type)
        {
            case RTM_GETLINK when dump:
            {
                var list = new List<byte[]>();
                foreach (NetInterface i in NetInterfaces.Of(t.Kernel).Interfaces)
                {
                    list.Add(family == InetAddr.AF_INET6 ? RouteMessages.Link6(i, seq, port) : RouteMessages.Link(i, NLM_F_MULTI, seq, port));
                }

                Dump(list, seq, port, answer, datagrams);
                break;
            }

            case RTM_GETLINK:
            {
                // rtnl_getlink: by ifi_index, else by IFLA_IFNAME (or IFLA_ALT_IFNAME); one message, not a dump.
                if (msg.Length < HeaderSize + 16)
                {
                    Error(msg, -Errno.EINVAL.Value, seq, port, answer);
                    break;
                }

                NetInterfaces n = NetInterfaces.Of(t.Kernel);
                int index = BinaryPrimitives.ReadInt32LittleEndian(msg[(HeaderSize + 4)..]);
                ReadOnlySpan<byte> name = LinkName(msg[(HeaderSize + 16)..]);

                NetInterface? found = index > 0 ? n.ByIndex(index) : !name.IsEmpty ? n.ByName(name) : null;
                if (index <= 0 && name.IsEmpty)
                {
                    Error(msg, -Errno.EINVAL.Value, seq, port, answer);
                }
                else if (found == null)
                {
                    Error(msg, -Errno.ENODEV.Value, seq, port, answer);
                }
                else
                {
                    answer.AddRange(RouteMessages.Link(found, 0, seq, port));
                }

                break;
            }

            case RTM_GETADDR when dump:
                Dump(RouteMessages.Addresses(NetInterfaces.Of(t.Kernel), family, seq, port), seq, port, answer, datagrams);
                break;
            case RTM_GETROUTE when dump:
                Dump(RouteMessages.Routes(NetInterfaces.Of(t.Kernel), family, seq, port), seq, port, answer, datagrams);
                break;
            case RTM_GETROUTE when family == InetAddr.AF_INET && msg.Length >= HeaderSize + 12:
            {
                // `ip route get`: the route to RTA_DST (0.0.0.0 without one).
                ReadOnlySpan<byte> dst = RouteMessages.FindAttr(msg[(HeaderSize + 12)..], 1);
                var to = dst.Length == 4 ? Stack.Ip4Address.Read(dst) : Stack.Ip4Address.Any;
                byte[]? route = RouteMessages.RouteTo(NetInterfaces.Of(t.Kernel), to.IsUnspecified ? Stack.Ip4Address.Loopback : to, t.Credentials.RealUid, seq, port);
                if (route == null)
                {
                    Error(msg, -Errno.ENETUNREACH.Value, seq, port, answer);
                }
                else
                {
                    answer.AddRange(route);
                }

                break;
            }
            default:
                // rtnetlink_rcv_msg: past RTM_MAX EOPNOTSUPP; anything but a GET (a change) needs CAP_NET_ADMIN first.
                bool change = type >= RTM_BASE && type <= RTM_MAX && (type & 3) != 2;
                bool permitted = !change || t.Credentials.HasCapability(Credentials.CAP_NET_ADMIN);
                Error(msg, permitted ? -Errno.EOPNOTSUPP.Value : -Errno.EPERM.Value, seq, port, answer);
                break;
        }
    }

    // A dump: what is answered so far becomes a datagram, then the messages and NLMSG_DONE in datagrams of about a page.
    private static void Dump(List<byte[]> messages, uint seq, uint port, List<byte> answer, List<byte[]> datagrams)
    {
        if (answer.Count > 0)
        {
            datagrams.Add([.. answer]);
            answer.Clear();
        }

        var d = new List<byte>();
        foreach (byte[] m in messages)
        {
            if (d.Count > 0 && d.Count + m.Length > DumpDatagramSize)
            {
                datagrams.Add([.. d]);
                d.Clear();
            }

            d.AddRange(m);
        }

        byte[] done = RouteMessages.Message(NLMSG_DONE, NLM_F_MULTI, seq, port, new byte[4]);
        if (d.Count > 0 && d.Count + done.Length > DumpDatagramSize)
        {
            datagrams.Add([.. d]);
            d.Clear();
        }

        d.AddRange(done);
        datagrams.Add([.. d]);
    }

    // NLMSG_ERROR: the errno, then the request's header.
    private static void Error(ReadOnlySpan<byte> msg, long errno, uint seq, uint port, List<byte> answer)
    {
        byte[] err = new byte[4 + HeaderSize];
        BinaryPrimitives.WriteInt32LittleEndian(err, (int)errno);
        msg[..HeaderSize].CopyTo(err.AsSpan(4));
        answer.AddRange(RouteMessages.Message(NLMSG_ERROR, 0, seq, port, err));
    }
}
