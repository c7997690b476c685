using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// An Ethernet link over a host AF_PACKET socket bound to an interface the sandbox took over from a pod's network
/// namespace (oci-boot opened it: <see cref="HostPacketSocket"/>). The frames are plain Ethernet frames, as on the
/// TAP device. A reader thread delivers what arrives; frames the host itself sent on the interface (PACKET_OUTGOING)
/// are dropped, and a large frame the kernel assembled (a veth peer's GSO) is taken whole.
/// </summary>
internal sealed class PacketLink : ILinkEndpoint, IDisposable
{
    // The most a frame from the host can be: a 64 KiB GSO packet and its Ethernet header.
    private const int LargestFrame = 65536 + NetworkStack.EthernetHeaderLength;

    // Frames read per poll before polling again.
    private const int Batch = 64;

    private readonly SafeFdHandle _fd;
    private readonly byte[] _overflow = new byte[LargestFrame];
    private Thread? _reader;
    private volatile bool _stopping;
    private ILinkDispatcher? _dispatcher;

    public PacketLink(SafeFdHandle fd, string name, MacAddress address, int mtu)
    {
        _fd = fd;
        Name = name;
        Address = address;
        Mtu = mtu;
    }

    public string Name { get; }

    public int Mtu { get; }

    public LinkKind Kind => LinkKind.Ethernet;

    public MacAddress Address { get; }

    /// <summary>None: a plain packet socket sends frames as they are (PACKET_VNET_HDR would let it hand over TSO frames).</summary>
    public LinkOffloads Offloads => LinkOffloads.None;

    public void Attach(ILinkDispatcher dispatcher)
    {
        _dispatcher = dispatcher;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "packet " + Name };
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

    private void ReadLoop()
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

            for (int i = 0; i < Batch; i++)
            {
                long r = ReadOne();
                if (r == -Errno.EAGAIN.Value)
                {
                    break;
                }

                if (r < 0)
                {
                    // The interface went down or away (a socket error is reported once, then poll is quiet): no spinning.
                    Thread.Sleep(10);
                    break;
                }
            }
        }
    }

    // Reads one frame and delivers it (or drops one the host sent): its length, or -errno (EAGAIN: none waited).
    private unsafe long ReadOne()
    {
        PacketBuffer p = PacketBuffer.Rent(Mtu + NetworkStack.EthernetHeaderLength);
        int room = p.Data.Length - p.Start;
        long n;
        byte type;
        bool checksumDone;
        // SAFETY: both arrays are pinned for the call; the reads stay within the buffer's free tail and the overflow.
        fixed (byte* b = p.Data)
        fixed (byte* o = _overflow)
        {
            n = HostPacketSocket.Receive(_fd.Fd, b + p.Start, room, o, _overflow.Length, out type, out checksumDone);
        }
        if (n <= 0 || type == HostPacketSocket.PACKET_OUTGOING)
        {
            p.Release();
            return n == 0 ? -Errno.EAGAIN.Value : n;
        }
        if (n > room)
        {
            // Larger than the interface's MTU: the kernel handed a whole GSO packet; one copy puts it together.
            PacketBuffer large = PacketBuffer.Rent((int)n);
            p.Data.AsSpan(p.Start, room).CopyTo(large.Append(room));
            _overflow.AsSpan(0, (int)n - room).CopyTo(large.Append((int)n - room));
            p.Release();
            p = large;
        }
        else
        {
            p.Append((int)n);
        }
        // The kernel checked the transport checksum, or it is still partial (a veth peer left it to "hardware").
        p.ChecksumPartial = checksumDone;
        _dispatcher?.DeliverPacket(p);
        return n;
    }

    public void Dispose()
    {
        _stopping = true;
        _reader?.Join();
        _fd.Dispose();
    }
}
