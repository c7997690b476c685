using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Net;

/// <summary>
/// With host networking, what the namespace the Sentry runs in has: its links, addresses and routes, as the
/// host's NETLINK_ROUTE dumps give them (gVisor's hostinet reads the same at start). The Sentry writes each
/// request itself (a dump of one kind and address family, nothing from the application's bytes) on a socket of
/// its own, and hands back the host's messages, one datagram each, with the application's sequence number and
/// port id. Only dumps: nothing here changes the host's network.
/// </summary>
internal static class HostRouteDump
{
    private const int AF_NETLINK = 16;
    private const int SOCK_RAW = 3;
    private const int NETLINK_ROUTE = 0;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_DUMP = 0x300;
    private const int HeaderSize = 16;

    // How long a dump may take between two of the host's datagrams (each is made while the previous is read).
    private const int ReplyTimeoutMs = 1000;

    /// <summary>
    /// Dumps <paramref name="type"/> (RTM_GETLINK, RTM_GETADDR or RTM_GETROUTE) of <paramref name="family"/> from
    /// the host. Returns its datagrams rewritten for the asking socket, or null (with -errno) when the host refused.
    /// </summary>
    public static List<byte[]>? Dump(ushort type, byte family, uint seq, uint port, out long error)
    {
        // The family's header after nlmsghdr: ifinfomsg (16 bytes), ifaddrmsg (8) or rtmsg (12); zero but the family.
        int bodySize = type switch { 18 => 16, 22 => 8, _ => 12 };
        using SafeFdHandle? fd = HostNet.Socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, out error);
        if (fd == null)
        {
            return null;
        }

        Span<byte> req = stackalloc byte[HeaderSize + 16];
        req.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(req, (uint)(HeaderSize + bodySize));
        BinaryPrimitives.WriteUInt16LittleEndian(req[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(req[6..], NLM_F_REQUEST | NLM_F_DUMP);
        BinaryPrimitives.WriteUInt32LittleEndian(req[8..], 1);
        req[HeaderSize] = family;
        long r = HostNet.Send(fd, req[..(HeaderSize + bodySize)], 0, default);
        if (r < 0)
        {
            error = r;
            return null;
        }

        var datagrams = new List<byte[]>();
        byte[] buffer = new byte[65536];
        Span<HostPoll.PollFd> poll = stackalloc HostPoll.PollFd[1];
        while (true)
        {
            r = HostNet.Receive(fd, buffer, 0, default, out _);
            if (r == -Errno.EAGAIN.Value)
            {
                poll[0] = new HostPoll.PollFd { Fd = fd.Fd, Events = (short)PollEvents.POLLIN };
                if (HostPoll.Poll(poll, ReplyTimeoutMs) <= 0)
                {
                    error = -Errno.ETIMEDOUT.Value;
                    return null;
                }

                continue;
            }

            if (r <= 0)
            {
                error = r < 0 ? r : -Errno.EIO.Value;
                return null;
            }

            byte[] d = buffer.AsSpan(0, (int)r).ToArray();
            bool done = Rewrite(d, seq, port);
            datagrams.Add(d);
            if (done)
            {
                error = 0;
                return datagrams;
            }
        }
    }

    // Gives each message of a datagram the asker's sequence and port; true once the dump's last message is in it.
    private static bool Rewrite(byte[] d, uint seq, uint port)
    {
        bool done = false;
        for (int off = 0; off + HeaderSize <= d.Length;)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(off));
            if (len < HeaderSize || len > d.Length - off)
            {
                break;
            }

            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(off + 4));
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(off + 8), seq);
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(off + 12), port);
            done |= type is NLMSG_DONE or NLMSG_ERROR;
            off += (len + 3) & ~3;
        }

        return done;
    }
}
