using System;
using System.Buffers;
using System.Collections.Generic;
using System.Buffers.Binary;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;
using Ready = Moat.Sentry.Net.Stack.Readiness;

namespace Moat.Sentry.Net;

/// <summary>
/// An AF_PACKET socket (SOCK_RAW or SOCK_DGRAM) over the netstack's PacketEndpoint, as Linux's af_packet.c
/// without PACKET_MMAP rings: it reads the frames of the sandbox's interfaces with their sockaddr_ll, and
/// writes frames to one. Only with --net-raw and CAP_NET_RAW (SysSocketRaw.cs); the socket calls are in
/// SysSocketPacket.cs.
/// </summary>
internal sealed class StackPacketSocket : FileDescription, IReadinessListener, ISocketTimeouts, IDatagramQueue<PacketSource>
{
    public const int AF_PACKET = 17;
    public const int SockaddrLlSize = 20;

    /// <summary>offsetof(struct sockaddr_ll, sll_addr).</summary>
    public const int SllAddrOffset = 12;

    private const int MaxFrame = 65536 + 14;
    private const int MsgDontwait = 0x40;

    private readonly PacketEndpoint _ep;
    private readonly Func<bool> _canRead;

    public StackPacketSocket(PacketEndpoint ep, int type, int flags)
    {
        _ep = ep;
        Type = type;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
        _canRead = () => (_ep.Events & Ready.Readable) != 0;
        ep.Listener = this;
    }

    /// <summary>SOCK_RAW or SOCK_DGRAM.</summary>
    public int Type { get; }

    public PacketEndpoint Endpoint => _ep;

    /// <summary>Pollers and blocked readers.</summary>
    public WaitQueue Events { get; } = new();

    public long ReceiveTimeoutUs { get; set; }

    public long SendTimeoutUs { get; set; }

    /// <summary>SO_SNDBUF as getsockopt reports it.</summary>
    public int SendBuffer { get; set; } = StackDatagramSocket.DefaultBuffer;

    /// <summary>SOL_SOCKET flags set and read back only (SO_DEBUG, SO_BROADCAST, ...), keyed by name. Protected by _optionsMu.</summary>
    public Dictionary<int, int> Options { get; } = [];

    private readonly Lock _optionsMu = new();

    public int GetOption(int name)
    {
        lock (_optionsMu)
        {
            return Options.GetValueOrDefault(name);
        }
    }

    public void SetOption(int name, int value)
    {
        lock (_optionsMu)
        {
            Options[name] = value;
        }
    }

    public void OnReadinessChanged(int events) => Events.Notify();

    /// <summary>Encodes a sockaddr_ll (20 bytes, the address zero-padded, as packet_recvmsg returns it).</summary>
    public static void EncodeAddress(Span<byte> b, in PacketSource from)
    {
        b[..SockaddrLlSize].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, AF_PACKET);
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], from.Protocol);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], from.IfIndex);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], from.HaType);
        b[10] = from.PktType;
        b[11] = 6;
        from.Address.Write(b[SllAddrOffset..]);
    }

    /// <summary>getsockname(2): the bound interface and protocol, with its hardware type and address. The length: 12 + the address's.</summary>
    public int LocalName(Span<byte> b)
    {
        int ifIndex = _ep.IfIndex;
        bool known = _ep.InterfaceInfo(ifIndex, out ushort haType, out MacAddress mac);
        EncodeAddress(b, new PacketSource(ifIndex, _ep.Protocol, known ? haType : (ushort)0, 0, mac));
        if (!known)
        {
            b[11] = 0;
            return SllAddrOffset;
        }

        return SllAddrOffset + 6;
    }

    /// <summary>
    /// Sends <paramref name="data"/> on interface <paramref name="ifIndex"/> (a cooked frame of
    /// <paramref name="protocol"/> to <paramref name="dst"/>). Returns the bytes sent or -errno.
    /// </summary>
    public long Send(int ifIndex, ushort protocol, MacAddress dst, ReadOnlySpan<byte> data)
    {
        Errno err = _ep.Send(ifIndex, protocol, dst, data);
        return err == Errno.None ? data.Length : -err.Value;
    }

    /// <summary>Reads one frame into <paramref name="dst"/>: its length (the full one with MSG_TRUNC), or -errno.</summary>
    public long Receive(Task t, in IoSequence dst, int flags, out PacketSource from, out int msgFlags) =>
        DatagramReceive.Receive<StackPacketSocket, PacketSource>(this, t, dst, flags, (StatusFlags & OpenFlags.O_NONBLOCK) != 0 || (flags & MsgDontwait) != 0,
            ReceiveTimeoutUs, MaxFrame, Events, _canRead, out from, out msgFlags);

    public Errno Dequeue(Span<byte> buffer, bool peek, out int length, out PacketSource origin) => _ep.Receive(buffer, out length, out origin, peek);

    /// <summary>A packet socket has no shutdown (EOPNOTSUPP): its queue is never shut.</summary>
    public bool ReadShut => false;

    public override long Read(Task t, in IoSequence dst, long offset) => dst.Total == 0 ? 0 : Receive(t, dst, 0, out _, out _);

    /// <summary>write(2): a frame on the bound interface, of the bound protocol (ENXIO when unbound).</summary>
    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) =>
        SendFrom(t, src, _ep.IfIndex, _ep.Protocol, MacAddress.Zero);

    /// <summary>Copies <paramref name="src"/> in and sends it (see <see cref="Send"/>).</summary>
    public long SendFrom(Task t, in IoSequence src, int ifIndex, ushort protocol, MacAddress dst)
    {
        if (src.Total > MaxFrame)
        {
            return -Errno.EMSGSIZE.Value;
        }

        int len = (int)src.Total;
        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(len, 1));
        try
        {
            if (len > 0 && src.CopyIn(t.MM, 0, buf.AsSpan(0, len)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return Send(ifIndex, protocol, dst, buf.AsSpan(0, len));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    public override long Ioctl(Task t, uint request, ulong arg)
    {
        const uint FIONREAD = 0x541B;
        const uint TIOCOUTQ = 0x5411;
        const uint SIOCGSTAMP = 0x8906;
        const uint SIOCGSTAMPNS = 0x8907;
        return request switch
        {
            // Frames go out at once: nothing waits in a send queue.
            FIONREAD or TIOCOUTQ => t.MM.CopyOut(arg, request == FIONREAD ? _ep.NextLength : 0) < 0 ? -Errno.EFAULT.Value : 0,
            SIOCGSTAMP or SIOCGSTAMPNS => -Errno.ENOENT.Value,
            _ => LoopbackInterface.Ioctl(t, request, arg),
        };
    }

    public override int Readiness(int events) => _ep.Events & (events | PollEvents.POLLHUP | PollEvents.POLLERR);

    public override WaitQueue? ReadinessQueue => Events;

    public override long Stat(out Stat st)
    {
        st = new Stat { st_mode = Abi.Stat.S_IFSOCK | 0x1FF, st_nlink = 1, st_blksize = 4096, st_dev = 0x8 };
        return 0;
    }

    protected override void Release()
    {
        _ep.Listener = null;
        _ep.Close();
        Events.Notify();
    }
}
