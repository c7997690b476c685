using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Net;

/// <summary>
/// The sandbox's loopback interface, <c>lo</c> (index 1, 127.0.0.1/8 and ::1), and the SIOCGIF* ioctls of any
/// socket (glibc's if_nametoindex and friends use them), which report every interface of <see cref="NetInterfaces"/>.
/// </summary>
internal static class LoopbackInterface
{
    public const string Name = "lo";
    public const int Index = 1;
    public const int Mtu = 65536;

    // IFF_UP | IFF_LOOPBACK | IFF_RUNNING, and IFF_LOWER_UP beyond the short ifr_flags holds.
    public const int Flags = 0x49;
    public const int FlagsWithLowerUp = 0x10049;

    private const uint SIOCGIFNAME = 0x8910;
    private const uint SIOCGIFCONF = 0x8912;
    private const uint SIOCGIFFLAGS = 0x8913;
    private const uint SIOCGIFADDR = 0x8915;
    private const uint SIOCGIFNETMASK = 0x891B;
    private const uint SIOCGIFMTU = 0x8921;
    private const uint SIOCGIFHWADDR = 0x8927;
    private const uint SIOCGIFINDEX = 0x8933;
    private const uint SIOCGIFTXQLEN = 0x8942;
    private const int IfreqSize = 40;
    private const int IfNameSize = 16;
    /// <summary>ARPHRD_LOOPBACK: the interface's hardware type.</summary>
    public const ushort ArphrdLoopback = 772;

    private const uint SIOCGIFBRDADDR = 0x8919;

    /// <summary>
    /// Serves an interface ioctl about the sandbox's interfaces (<see cref="NetInterfaces"/>: lo, and eth0 with
    /// --network=sandbox), as the netlink dumps report them; other requests answer ENOTTY.
    /// </summary>
    public static long Ioctl(Task t, uint request, ulong arg)
    {
        if (request == SIOCGIFCONF)
        {
            return IfConf(t, arg);
        }

        if (request is not (SIOCGIFNAME or SIOCGIFFLAGS or SIOCGIFADDR or SIOCGIFNETMASK or SIOCGIFBRDADDR or SIOCGIFMTU or SIOCGIFHWADDR or SIOCGIFINDEX or SIOCGIFTXQLEN))
        {
            return -Errno.ENOTTY.Value;
        }

        Span<byte> req = stackalloc byte[IfreqSize];
        if (t.MM.CopyIn(arg, req) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        NetInterfaces all = NetInterfaces.Of(t.Kernel);
        Span<byte> u = req[IfNameSize..];
        if (request == SIOCGIFNAME)
        {
            NetInterface? byIndex = all.ByIndex(BinaryPrimitives.ReadInt32LittleEndian(u));
            if (byIndex == null)
            {
                return -Errno.ENODEV.Value;
            }

            req[..IfNameSize].Clear();
            System.Text.Encoding.ASCII.GetBytes(byIndex.Name, req);
            return t.MM.CopyOut(arg, req) < 0 ? -Errno.EFAULT.Value : 0;
        }

        req[IfNameSize - 1] = 0;
        int end = req[..IfNameSize].IndexOf((byte)0);
        NetInterface? i = all.ByName(req[..end]);
        if (i == null)
        {
            return -Errno.ENODEV.Value;
        }

        u.Clear();
        switch (request)
        {
            case SIOCGIFFLAGS:
                // ifr_flags is a short: IFF_LOWER_UP and above are left out.
                BinaryPrimitives.WriteInt16LittleEndian(u, (short)(i.Flags & 0xFFFF));
                break;
            case SIOCGIFADDR:
                new InetAddr(InetAddr.FromV4(i.Address.Value), 0).Encode(InetAddr.AF_INET, u);
                break;
            case SIOCGIFNETMASK:
                new InetAddr(InetAddr.FromV4(i.Netmask.Value), 0).Encode(InetAddr.AF_INET, u);
                break;
            case SIOCGIFBRDADDR:
                // devinet_ioctl answers ifa_broadcast, 0.0.0.0 on lo.
                new InetAddr(InetAddr.FromV4(i.Loopback ? 0 : i.Broadcast.Value), 0).Encode(InetAddr.AF_INET, u);
                break;
            case SIOCGIFMTU:
                BinaryPrimitives.WriteInt32LittleEndian(u, i.Mtu);
                break;
            case SIOCGIFHWADDR:
                BinaryPrimitives.WriteUInt16LittleEndian(u, i.HardwareType);
                i.Mac.Write(u[2..]);
                break;
            case SIOCGIFINDEX:
                BinaryPrimitives.WriteInt32LittleEndian(u, i.Index);
                break;
            case SIOCGIFTXQLEN:
                BinaryPrimitives.WriteInt32LittleEndian(u, NetInterface.TxQueueLength);
                break;
        }

        return t.MM.CopyOut(arg, req) < 0 ? -Errno.EFAULT.Value : 0;
    }

    // SIOCGIFCONF: one ifreq per IPv4 address, as many as fit; a NULL buffer asks for the length needed.
    private static long IfConf(Task t, ulong arg)
    {
        Span<byte> conf = stackalloc byte[16];
        if (t.MM.CopyIn(arg, conf) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        int len = BinaryPrimitives.ReadInt32LittleEndian(conf);
        ulong buf = BinaryPrimitives.ReadUInt64LittleEndian(conf[8..]);
        IReadOnlyList<NetInterface> all = NetInterfaces.Of(t.Kernel).Interfaces;
        int written = 0;
        if (buf == 0)
        {
            written = IfreqSize * all.Count;
        }
        else
        {
            Span<byte> req = stackalloc byte[IfreqSize];
            foreach (NetInterface i in all)
            {
                if (len - written < IfreqSize)
                {
                    break;
                }

                req.Clear();
                System.Text.Encoding.ASCII.GetBytes(i.Name, req);
                new InetAddr(InetAddr.FromV4(i.Address.Value), 0).Encode(InetAddr.AF_INET, req[IfNameSize..]);
                if (t.MM.CopyOut(buf + (ulong)written, req) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                written += IfreqSize;
            }
        }

        return t.MM.CopyOut(arg, written) < 0 ? -Errno.EFAULT.Value : 0;
    }
}
