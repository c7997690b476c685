using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Net;

/// <summary>
/// The one network interface of the sandbox, <c>lo</c> (index 1, 127.0.0.1/8 and ::1), as the SIOCGIF* ioctls
/// of any socket report it (glibc's if_nametoindex and friends use them).
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

    /// <summary>Serves an interface ioctl; other requests answer ENOTTY.</summary>
    public static long Ioctl(Task t, uint request, ulong arg)
    {
        if (request == SIOCGIFCONF)
        {
            return IfConf(t, arg);
        }

        if (request is not (SIOCGIFNAME or SIOCGIFFLAGS or SIOCGIFADDR or SIOCGIFNETMASK or SIOCGIFMTU or SIOCGIFHWADDR or SIOCGIFINDEX or SIOCGIFTXQLEN))
        {
            return -Errno.ENOTTY.Value;
        }

        Span<byte> req = stackalloc byte[IfreqSize];
        if (t.MM.CopyIn(arg, req) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        Span<byte> u = req[IfNameSize..];
        if (request == SIOCGIFNAME)
        {
            if (BinaryPrimitives.ReadInt32LittleEndian(u) != Index)
            {
                return -Errno.ENODEV.Value;
            }

            req[..IfNameSize].Clear();
            "lo"u8.CopyTo(req);
            return t.MM.CopyOut(arg, req) < 0 ? -Errno.EFAULT.Value : 0;
        }

        req[IfNameSize - 1] = 0;
        int end = req[..IfNameSize].IndexOf((byte)0);
        if (!req[..end].SequenceEqual("lo"u8))
        {
            return -Errno.ENODEV.Value;
        }

        u.Clear();
        switch (request)
        {
            case SIOCGIFFLAGS:
                BinaryPrimitives.WriteInt16LittleEndian(u, Flags);
                break;
            case SIOCGIFADDR:
                new InetAddr(InetAddr.V4Loopback, 0).Encode(InetAddr.AF_INET, u);
                break;
            case SIOCGIFNETMASK:
                new InetAddr(InetAddr.FromV4(0xFF000000), 0).Encode(InetAddr.AF_INET, u);
                break;
            case SIOCGIFMTU:
                BinaryPrimitives.WriteInt32LittleEndian(u, Mtu);
                break;
            case SIOCGIFHWADDR:
                BinaryPrimitives.WriteUInt16LittleEndian(u, ArphrdLoopback);
                break;
            case SIOCGIFINDEX:
                BinaryPrimitives.WriteInt32LittleEndian(u, Index);
                break;
            case SIOCGIFTXQLEN:
                BinaryPrimitives.WriteInt32LittleEndian(u, 1000);
                break;
        }

        return t.MM.CopyOut(arg, req) < 0 ? -Errno.EFAULT.Value : 0;
    }

    // SIOCGIFCONF: one ifreq per IPv4 address; a NULL buffer asks for the length needed.
    private static long IfConf(Task t, ulong arg)
    {
        Span<byte> conf = stackalloc byte[16];
        if (t.MM.CopyIn(arg, conf) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        int len = BinaryPrimitives.ReadInt32LittleEndian(conf);
        ulong buf = BinaryPrimitives.ReadUInt64LittleEndian(conf[8..]);
        int written = IfreqSize;
        if (buf != 0)
        {
            if (len < IfreqSize)
            {
                written = 0;
            }
            else
            {
                Span<byte> req = stackalloc byte[IfreqSize];
                req.Clear();
                "lo"u8.CopyTo(req);
                new InetAddr(InetAddr.V4Loopback, 0).Encode(InetAddr.AF_INET, req[IfNameSize..]);
                if (t.MM.CopyOut(buf, req) < 0)
                {
                    return -Errno.EFAULT.Value;
                }
            }
        }

        return t.MM.CopyOut(arg, written) < 0 ? -Errno.EFAULT.Value : 0;
    }
}
