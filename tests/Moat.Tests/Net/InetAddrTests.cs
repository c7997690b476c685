using System;
using Moat.Abi;
using Moat.Sentry.Net;

namespace Moat.Tests.Net;

public class InetAddrTests
{
    private static byte[] SockaddrIn(ushort family, ushort port, byte a, byte b, byte c, byte d) =>
        [(byte)family, (byte)(family >> 8), (byte)(port >> 8), (byte)port, a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0];

    [Fact]
    public void Parse_SockaddrIn_GivesMappedAddressAndPort()
    {
        Assert.Equal(0, InetAddr.Parse(SockaddrIn(2, 8080, 127, 0, 0, 1), InetAddr.AF_INET, false, out InetAddr a));
        Assert.True(a.IsV4);
        Assert.True(a.IsLoopback);
        Assert.Equal(0x7F000001u, a.V4);
        Assert.Equal(8080, a.Port);
    }

    [Fact]
    public void Parse_ShortOrForeign_AnswersLikeLinux()
    {
        Assert.Equal(-Errno.EINVAL.Value, InetAddr.Parse(SockaddrIn(2, 1, 127, 0, 0, 1).AsSpan(0, 8), InetAddr.AF_INET, false, out _));
        Assert.Equal(-Errno.EAFNOSUPPORT.Value, InetAddr.Parse(SockaddrIn(10, 1, 127, 0, 0, 1), InetAddr.AF_INET, false, out _));
        Assert.Equal(-Errno.EINVAL.Value, InetAddr.Parse(SockaddrIn(10, 1, 0, 0, 0, 0), InetAddr.AF_INET6, false, out _));
    }

    [Fact]
    public void Parse_UnspecAny_IsAcceptedOnlyWhereBindAllowsIt()
    {
        Assert.Equal(0, InetAddr.Parse(SockaddrIn(0, 5, 0, 0, 0, 0), InetAddr.AF_INET, true, out InetAddr a));
        Assert.True(a.IsAny);
        Assert.Equal(-Errno.EAFNOSUPPORT.Value, InetAddr.Parse(SockaddrIn(0, 5, 127, 0, 0, 1), InetAddr.AF_INET, true, out _));
        Assert.Equal(-Errno.EAFNOSUPPORT.Value, InetAddr.Parse(SockaddrIn(0, 5, 0, 0, 0, 0), InetAddr.AF_INET, false, out _));
    }

    [Fact]
    public void Encode_V6Socket_ReportsTheMappedForm()
    {
        var a = new InetAddr(InetAddr.V4Loopback, 80);
        Span<byte> b = stackalloc byte[28];
        Assert.Equal(28, a.Encode(InetAddr.AF_INET6, b));
        Assert.Equal(0, InetAddr.Parse(b, InetAddr.AF_INET6, false, out InetAddr back));
        Assert.Equal(a, back);
        Assert.Equal(16, a.Encode(InetAddr.AF_INET, b));
    }

    [Fact]
    public void ProcHex_MatchesProcNetTcp()
    {
        Assert.Equal("0100007F:0050", new InetAddr(InetAddr.V4Loopback, 80).ProcHex(v6: false));
        Assert.Equal("00000000000000000000000001000000:0016", new InetAddr(InetAddr.V6Loopback, 22).ProcHex(v6: true));
    }
}
