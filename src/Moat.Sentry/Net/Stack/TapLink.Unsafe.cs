using System;
using System.Buffers.Binary;
using System.Text;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// An Ethernet link over a host TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR): frames the
/// stack writes go to the host's side of the device, and a reader thread delivers the frames the host sends.
/// Every frame carries a virtio_net_hdr (<see cref="VirtioNetHeader"/>) as a virtio-net device's: the host
/// sends TCP segments of up to 64 KiB whole (TSO4 offload: one read instead of some 45) and leaves checksums
/// partial (CSUM), and takes the same from the stack, so both directions move fewer, larger frames.
/// </summary>
internal sealed class TapLink : ILinkEndpoint, IDisposable
{
    private const ulong TUNSETIFF = 0x400454ca;
    private const ulong TUNSETOFFLOAD = 0x400454d0;
    private const ulong TUNSETVNETHDRSZ = 0x400454d8;
    private const short IFF_TAP = 0x0002;
    private const short IFF_NO_PI = 0x1000;
    private const short IFF_VNET_HDR = 0x4000;
    private const uint TUN_F_CSUM = 0x01;
    private const uint TUN_F_TSO4 = 0x02;
    private const int O_RDWR = 2;
    private const int O_NONBLOCK = 0x800;
    private const int O_CLOEXEC = 0x80000;
    private const int AT_FDCWD = -100;

    // The largest frame a read may return: a coalesced IPv4 datagram of 64 KiB behind its Ethernet header.
    private const int MaxFrame = NetworkStack.EthernetHeaderLength + ushort.MaxValue;
    // A frame this short is copied into a small buffer, so that the large one serves the next read.
    private const int SmallFrame = 2048 - PacketBuffer.Headroom;

    private readonly SafeFdHandle _fd;
    private Thread? _reader;
    private volatile bool _stopping;
    private ILinkDispatcher? _dispatcher;

    private TapLink(SafeFdHandle fd, string name, MacAddress address)
    {
        _fd = fd;
        Name = name;
        Address = address;
    }

    public string Name { get; }

    public int Mtu => 1500;

    public LinkKind Kind => LinkKind.Ethernet;

    public MacAddress Address { get; }

    /// <summary>The host completes partial checksums and cuts TSO segments of what the stack writes (tun_get_user).</summary>
    public LinkOffloads Offloads => LinkOffloads.TxChecksum | LinkOffloads.Tso;

    /// <summary>Creates TAP device <paramref name="name"/> in the caller's network namespace (needs CAP_NET_ADMIN).</summary>
    public static TapLink? Create(string name, MacAddress address, out Errno error)
    {
        SafeFdHandle? fd = OpenDevice(name, out error);
        return fd == null ? null : new TapLink(fd, name, address);
    }

    /// <summary>A link over a TAP device's fd opened elsewhere (by <c>moat do --network=sandbox</c> outside the Sentry's jail).</summary>
    public static TapLink FromFd(SafeFdHandle fd, string name, MacAddress address) => new(fd, name, address);

    /// <summary>
    /// Opens (creating it) TAP device <paramref name="name"/>, non-blocking, with a virtio_net_hdr on every frame
    /// and the host's checksum and TCPv4 segmentation offloads turned on: the fd, or null with the error.
    /// </summary>
    public static unsafe SafeFdHandle? OpenDevice(string name, out Errno error)
    {
        long fd = HostPath.Openat(AT_FDCWD, "/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
        {
            error = Errno.FromValue((int)-fd);
            return null;
        }
        var handle = new SafeFdHandle((int)fd);
        // struct ifreq: the name in 16 bytes, then the flags.
        byte* ifr = stackalloc byte[40];
        new Span<byte>(ifr, 40).Clear();
        Encoding.ASCII.GetBytes(name.AsSpan(0, Math.Min(name.Length, 15)), new Span<byte>(ifr, 15));
        BinaryPrimitives.WriteInt16LittleEndian(new Span<byte>(ifr + 16, 2), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
        // SAFETY: ifr points at 40 bytes of stack, the size of struct ifreq, alive for the call.
        long r = HostFile.Ioctl(handle.Fd, TUNSETIFF, ifr);
        int hdrSize = VirtioNetHeader.Length;
        if (r >= 0)
        {
            // SAFETY: the kernel reads one int from hdrSize, a local alive for the call.
            r = HostFile.Ioctl(handle.Fd, TUNSETVNETHDRSZ, &hdrSize);
        }
        if (r >= 0)
        {
            // TUNSETOFFLOAD takes its flags as the argument's value, not through a pointer.
            r = HostFile.Ioctl(handle.Fd, TUNSETOFFLOAD, (void*)(nuint)(TUN_F_CSUM | TUN_F_TSO4));
        }
        if (r < 0)
        {
            handle.Dispose();
            error = Errno.FromValue((int)-r);
            return null;
        }
        error = Errno.None;
        return handle;
    }

    public void Attach(ILinkDispatcher dispatcher)
    {
        _dispatcher = dispatcher;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "tap " + Name };
        _reader.Start();
    }

    public unsafe void WritePacket(PacketBuffer packet)
    {
        VirtioNetHeader h = VirtioNetHeader.ForFrame(packet.Span, packet.ChecksumPartial, packet.GsoSize);
        if (packet.Start < VirtioNetHeader.Length)
        {
            // Every frame the stack builds has headroom; one that had none is copied behind some.
            PacketBuffer copy = PacketBuffer.CopyOf(packet.Span);
            packet.Release();
            packet = copy;
        }
        h.Write(packet.Prepend(VirtioNetHeader.Length));
        // SAFETY: the array is pinned for the call and the view lies inside it.
        fixed (byte* b = packet.Data)
        {
            HostFile.Write(_fd.Fd, b + packet.Start, (ulong)packet.Length);
        }
        packet.Release();
    }

    private unsafe void ReadLoop()
    {
        Span<HostPoll.PollFd> pfd = stackalloc HostPoll.PollFd[1];
        PacketBuffer? large = null;
        while (!_stopping)
        {
            large ??= PacketBuffer.Rent(MaxFrame);
            // The header lands in the headroom, the frame at the buffer's start.
            int at = large.Start - VirtioNetHeader.Length;
            long n;
            // SAFETY: the array is pinned for the call; the read stays within it, from the headroom on.
            fixed (byte* b = large.Data)
            {
                n = HostFile.Read(_fd.Fd, b + at, (ulong)(large.Data.Length - at));
            }
            if (n == -(long)Errno.EAGAIN.Value)
            {
                pfd[0] = new HostPoll.PollFd { Fd = _fd.Fd, Events = (short)PollEvents.POLLIN };
                // A short poll so that Dispose can stop the thread; a read would not wake when the fd closes.
                HostPoll.Poll(pfd, 50);
                continue;
            }
            if (n < VirtioNetHeader.Length)
            {
                if (n < 0)
                {
                    Thread.Sleep(10); // not expected of a TAP device; never spin on it
                }
                continue;
            }
            var h = VirtioNetHeader.Read(large.Data.AsSpan(at, VirtioNetHeader.Length));
            int length = (int)n - VirtioNetHeader.Length;
            PacketBuffer p;
            if (length <= SmallFrame)
            {
                p = PacketBuffer.CopyOf(large.Data.AsSpan(large.Start, length));
            }
            else
            {
                p = large;
                large = null;
                p.Append(length);
            }
            if (!h.ApplyTo(p))
            {
                p.Release();
                continue;
            }
            _dispatcher?.DeliverPacket(p);
        }
        large?.Release();
    }

    public void Dispose()
    {
        _stopping = true;
        _reader?.Join();
        _fd.Dispose();
    }
}
