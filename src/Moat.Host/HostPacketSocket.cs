using System;
using System.Runtime.InteropServices;

namespace Moat.Host;

/// <summary>
/// An AF_PACKET socket bound to one interface: how the Sentry's stack moves the Ethernet frames of an interface it
/// took over from a pod's network namespace (runsc's way). oci-boot opens it (CAP_NET_RAW in that namespace); the
/// jailed Sentry only reads and writes it. Every call returns Linux's raw convention: a non-negative value, or -errno.
/// </summary>
public static unsafe class HostPacketSocket
{
    /// <summary>sll_pkttype of a frame this host sent on the interface (the packet socket sees those too).</summary>
    public const byte PACKET_OUTGOING = 4;

    private const int AF_PACKET = 17;
    private const int SOCK_RAW = 3;
    private const int SOCK_CLOEXEC = 0x80000;
    private const ushort ETH_P_ALL = 0x0003;
    private const int SOL_SOCKET = 1;
    private const int SO_SNDBUFFORCE = 32;
    private const int SO_RCVBUFFORCE = 33;
    private const int SOL_PACKET = 263;
    private const int PACKET_AUXDATA = 8;
    private const int PACKET_IGNORE_OUTGOING = 23;
    private const int MSG_DONTWAIT = 0x40;
    private const int EINTR = 4;

    // tp_status bits of PACKET_AUXDATA: the checksum is not filled in yet (the sender left it to "hardware", as on a
    // veth), or the kernel already checked it.
    private const uint TP_STATUS_CSUMNOTREADY = 0x8;
    private const uint TP_STATUS_CSUM_VALID = 0x80;

    // The buffers runsc gives its packet sockets, so a burst does not drop frames.
    private const int BufferBytes = 4 << 20;

    // struct cmsghdr followed by struct tpacket_auxdata.
    [StructLayout(LayoutKind.Sequential)]
    private struct AuxCmsg
    {
        public nuint Len;
        public int Level;
        public int Type;
        public uint Status;
        public uint FrameLength;
        public uint SnapLength;
        public ushort Mac;
        public ushort Net;
        public ushort VlanTci;
        public ushort VlanTpid;
    }

    /// <summary>
    /// Opens a blocking, close-on-exec packet socket for every protocol, bound to interface <paramref name="ifindex"/>
    /// of the caller's network namespace, that reports each frame's checksum state (PACKET_AUXDATA) and, where the
    /// kernel can (4.20+), leaves out the frames the host itself sends. Null with -errno.
    /// </summary>
    public static SafeFdHandle? Open(int ifindex, out long error)
    {
        int proto = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(ETH_P_ALL); // htons
        long r = HostResult.FromInt(Interop.Libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, proto));
        if (r < 0)
        {
            error = r;
            return null;
        }

        var fd = new SafeFdHandle((int)r);
        // struct sockaddr_ll: family, protocol (network order), ifindex, then hardware fields bind ignores.
        Span<byte> sll = stackalloc byte[20];
        sll.Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(sll, AF_PACKET);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(sll[2..], ETH_P_ALL);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(sll[4..], ifindex);
        fixed (byte* a = sll)
        {
            r = HostResult.FromInt(Interop.Libc.bind(fd.Fd, a, sll.Length));
        }

        int one = 1;
        if (r == 0)
        {
            r = HostResult.FromInt(Interop.Libc.setsockopt(fd.Fd, SOL_PACKET, PACKET_AUXDATA, (byte*)&one, sizeof(int)));
        }

        if (r < 0)
        {
            fd.Dispose();
            error = r;
            return null;
        }

        // Best effort: an older kernel has no PACKET_IGNORE_OUTGOING (Receive drops those frames anyway), and the
        // forced buffer sizes need CAP_NET_ADMIN.
        Interop.Libc.setsockopt(fd.Fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, (byte*)&one, sizeof(int));
        int size = BufferBytes;
        Interop.Libc.setsockopt(fd.Fd, SOL_SOCKET, SO_RCVBUFFORCE, (byte*)&size, sizeof(int));
        Interop.Libc.setsockopt(fd.Fd, SOL_SOCKET, SO_SNDBUFFORCE, (byte*)&size, sizeof(int));
        error = 0;
        return fd;
    }

    /// <summary>
    /// Receives one frame without blocking: its first bytes into <paramref name="head"/>, the rest (a large frame the
    /// kernel assembled, GRO or a veth peer's GSO) into <paramref name="tail"/>. Returns its length or -errno (EAGAIN
    /// when none waits); <paramref name="packetType"/> is its sll_pkttype and <paramref name="checksumUnchecked"/>
    /// says the transport checksum is not to be verified (the kernel checked it, or it is still partial).
    /// </summary>
    public static long Receive(int fd, byte* head, int headLength, byte* tail, int tailLength, out byte packetType, out bool checksumUnchecked)
    {
        IoVec* iov = stackalloc IoVec[2];
        iov[0] = new IoVec { Base = head, Len = (nuint)headLength };
        iov[1] = new IoVec { Base = tail, Len = (nuint)tailLength };
        byte* sll = stackalloc byte[20];
        var aux = default(AuxCmsg);
        var msg = new MsgHdr { Name = sll, NameLen = 20, Iov = iov, IovLen = 2, Control = &aux, ControlLen = (nuint)sizeof(AuxCmsg) };
        long r;
        do
        {
            r = HostResult.FromNint(Interop.Libc.recvmsg(fd, &msg, MSG_DONTWAIT));
        }
        while (r == -EINTR);

        packetType = msg.NameLen >= 11 ? sll[10] : (byte)0;
        checksumUnchecked = r >= 0 && msg.ControlLen >= (nuint)sizeof(AuxCmsg) && aux.Level == SOL_PACKET && aux.Type == PACKET_AUXDATA &&
            (aux.Status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID)) != 0;
        return r;
    }
}
