using System;
using System.Buffers.Binary;
using System.Text;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// An Ethernet link over a host TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI): frames the stack writes go
/// to the host's side of the device, and a reader thread delivers the frames the host sends. Used to test the
/// stack against the real Linux kernel; the sandbox's own interfaces will use an AF_PACKET link the same way.
/// </summary>
internal sealed class TapLink : ILinkEndpoint, IDisposable
{
    private const ulong TUNSETIFF = 0x400454ca;
    private const short IFF_TAP = 0x0002;
    private const short IFF_NO_PI = 0x1000;
    private const int O_RDWR = 2;
    private const int O_CLOEXEC = 0x80000;
    private const int AT_FDCWD = -100;

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

    /// <summary>Creates TAP device <paramref name="name"/> in the caller's network namespace (needs CAP_NET_ADMIN).</summary>
    public static TapLink? Create(string name, MacAddress address, out Errno error)
    {
        SafeFdHandle? fd = OpenDevice(name, out error);
        return fd == null ? null : new TapLink(fd, name, address);
    }

    /// <summary>A link over a TAP device's fd opened elsewhere (by <c>moat do --network=sandbox</c> outside the Sentry's jail).</summary>
    public static TapLink FromFd(SafeFdHandle fd, string name, MacAddress address) => new(fd, name, address);

    /// <summary>Opens (creating it) TAP device <paramref name="name"/>: the fd, or null with the error.</summary>
    public static unsafe SafeFdHandle? OpenDevice(string name, out Errno error)
    {
        long fd = HostPath.Openat(AT_FDCWD, "/dev/net/tun", O_RDWR | O_CLOEXEC);
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
        BinaryPrimitives.WriteInt16LittleEndian(new Span<byte>(ifr + 16, 2), IFF_TAP | IFF_NO_PI);
        // SAFETY: ifr points at 40 bytes of stack, the size of struct ifreq, alive for the call.
        long r = HostFile.Ioctl(handle.Fd, TUNSETIFF, ifr);
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
        while (!_stopping)
        {
            pfd[0] = new HostPoll.PollFd { Fd = _fd.Fd, Events = (short)PollEvents.POLLIN };
            // A short poll so that Dispose can stop the thread; a read would not wake when the fd closes.
            if (HostPoll.Poll(pfd, 50) <= 0)
            {
                continue;
            }
            PacketBuffer p = PacketBuffer.Rent(Mtu + NetworkStack.EthernetHeaderLength);
            long n;
            // SAFETY: the array is pinned for the call; the read stays within its free tail.
            fixed (byte* b = p.Data)
            {
                n = HostFile.Read(_fd.Fd, b + p.Start, (ulong)(p.Data.Length - p.Start));
            }
            if (n <= 0)
            {
                p.Release();
                continue;
            }
            p.Append((int)n);
            _dispatcher?.DeliverPacket(p);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _reader?.Join();
        _fd.Dispose();
    }
}
