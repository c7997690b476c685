using Moat.Abi;
using Moat.Sentry.Net;

namespace Moat.Tests.Net;

/// <summary>Linux's bind and listen rules over the loopback network's port tables.</summary>
public class LoopbackStackTests
{
    private const ushort Port = 5000;
    private readonly LoopbackStack _stack = new();

    private TcpSocket Tcp(int family = InetAddr.AF_INET) => new(_stack, family, 0, 0);

    private static InetAddr V4(ushort port) => new(InetAddr.V4Loopback, port);

    private static InetAddr Any6(ushort port) => new(0, port);

    [Fact]
    public void Bind_SameAddressTwice_SecondIsEaddrinuse()
    {
        Assert.Equal(0, Tcp().Bind(V4(Port)));
        Assert.Equal(-Errno.EADDRINUSE.Value, Tcp().Bind(V4(Port)));
        Assert.Equal(-Errno.EADDRINUSE.Value, Tcp().Bind(new InetAddr(InetAddr.V4Any, Port)));
    }

    [Fact]
    public void Bind_TcpAndUdp_HaveTheirOwnPorts()
    {
        Assert.Equal(0, Tcp().Bind(V4(Port)));
        Assert.Equal(0, new UdpSocket(_stack, InetAddr.AF_INET, 0, 0).Bind(V4(Port)));
        Assert.Equal(0, new UdpSocket(_stack, InetAddr.AF_INET, 0, 0, lite: true).Bind(V4(Port)));
    }

    [Fact]
    public void Bind_DualStackWildcard_OverlapsIpv4_UnlessV6Only()
    {
        Assert.Equal(0, Tcp().Bind(V4(Port)));
        Assert.Equal(-Errno.EADDRINUSE.Value, Tcp(InetAddr.AF_INET6).Bind(Any6(Port)));
        TcpSocket only = Tcp(InetAddr.AF_INET6);
        only.V6Only = true;
        Assert.Equal(0, only.Bind(Any6(Port)));
        Assert.Equal(-Errno.EADDRINUSE.Value, Tcp(InetAddr.AF_INET6).Bind(new InetAddr(InetAddr.V6Loopback, Port)));
    }

    [Fact]
    public void ReuseAddr_BothBound_OnlyOneMayListen()
    {
        TcpSocket a = Tcp(), b = Tcp();
        a.ReuseAddr = b.ReuseAddr = true;
        Assert.Equal(0, a.Bind(V4(Port)));
        Assert.Equal(0, b.Bind(V4(Port)));
        Assert.Equal(0, a.Listen(1));
        Assert.Equal(-Errno.EADDRINUSE.Value, b.Listen(1));
        TcpSocket c = Tcp();
        c.ReuseAddr = true;
        Assert.Equal(-Errno.EADDRINUSE.Value, c.Bind(V4(Port)));
    }

    [Fact]
    public void ReusePort_SameUser_BothListen()
    {
        TcpSocket a = Tcp(), b = Tcp();
        a.ReusePort = b.ReusePort = true;
        Assert.Equal(0, a.Bind(V4(Port)));
        Assert.Equal(0, a.Listen(1));
        Assert.Equal(0, b.Bind(V4(Port)));
        Assert.Equal(0, b.Listen(1));
    }

    [Fact]
    public void BindPortZero_PicksAnEphemeralPort()
    {
        TcpSocket a = Tcp();
        Assert.Equal(0, a.Bind(V4(0)));
        Assert.InRange(a.Local.Port, LoopbackStack.EphemeralLow, LoopbackStack.EphemeralHigh);
    }

    [Fact]
    public void Bind_ForeignAddress_IsEaddrnotavail()
    {
        Assert.Equal(-Errno.EADDRNOTAVAIL.Value, Tcp().Bind(new InetAddr(InetAddr.FromV4(0xC0000201), Port)));
    }

    [Fact]
    public void FindListener_PrefersExactAddressOverWildcard()
    {
        TcpSocket wild = Tcp(), exact = Tcp();
        wild.ReusePort = exact.ReusePort = true;
        Assert.Equal(0, wild.Bind(new InetAddr(InetAddr.V4Any, Port)));
        Assert.Equal(0, wild.Listen(1));
        Assert.Equal(0, exact.Bind(V4(Port)));
        Assert.Equal(0, exact.Listen(1));
        Assert.Same(exact, _stack.FindListener(V4(Port)));
        Assert.Same(wild, _stack.FindListener(new InetAddr(InetAddr.FromV4(0x7F000002), Port)));
        Assert.Null(_stack.FindListener(new InetAddr(InetAddr.V6Loopback, Port)));
    }
}
