using System;
using System.Buffers.Binary;
using System.Text;
using Moat.Gofer;

namespace Moat.Tests.Gofer;

public class GoferProtocolTests
{
    [Theory]
    [InlineData(GoferOp.Open, 0, "etc/passwd")]
    [InlineData(GoferOp.Open, 0x220000, "/usr/lib/x86_64-linux-gnu/libc.so.6")]
    [InlineData(GoferOp.ReadLink, -1, "")]
    [InlineData(GoferOp.ReadLink, int.MinValue, "dir with spaces/ünïcødé ✓")]
    public void Request_EncodeThenDecode_RoundTrips(GoferOp op, int flags, string path)
    {
        byte[] buf = new byte[GoferProtocol.MaxMessage];

        int len = GoferProtocol.EncodeRequest(buf, op, flags, path);

        Assert.Equal(GoferProtocol.HeaderSize + Encoding.UTF8.GetByteCount(path), len);
        Assert.True(GoferProtocol.TryDecodeRequest(buf.AsSpan(0, len), out GoferOp op2, out int flags2, out string path2));
        Assert.Equal(op, op2);
        Assert.Equal(flags, flags2);
        Assert.Equal(path, path2);
    }

    [Fact]
    public void EncodeRequest_WritesDocumentedLayout()
    {
        byte[] buf = new byte[64];
        buf.AsSpan().Fill(0xEE);

        int len = GoferProtocol.EncodeRequest(buf, GoferOp.ReadLink, 0x01020304, "ab");

        Assert.Equal(42, len);
        byte[] expected = new byte[42];
        expected[0] = 2;
        expected[4] = 0x04;
        expected[5] = 0x03;
        expected[6] = 0x02;
        expected[7] = 0x01;
        expected[40] = (byte)'a';
        expected[41] = (byte)'b';
        Assert.Equal(expected, buf.AsSpan(0, len).ToArray());
    }

    [Fact]
    public void VolumeRequest_WithTwoPathsAndArguments_RoundTrips()
    {
        byte[] buf = new byte[GoferProtocol.MaxMessage];
        var req = new GoferRequest(GoferOp.Rename, 3, 1, -1, long.MaxValue, 7, long.MinValue, "dir/old name", "ünï/new");

        int len = GoferProtocol.EncodeRequest(buf, req);

        Assert.Equal(GoferProtocol.HeaderSize + GoferProtocol.PathBytes(req.Path, req.Path2), len);
        Assert.True(GoferProtocol.TryDecodeRequest(buf.AsSpan(0, len), out GoferRequest back));
        Assert.Equal(req, back);
        Assert.False(GoferProtocol.TryDecodeRequest(buf.AsSpan(0, len), out _, out _, out _)); // not a root-0 single-path request
    }

    [Fact]
    public void EncodeRequest_DestinationTooSmall_Throws()
    {
        byte[] buf = new byte[GoferProtocol.HeaderSize + 3];

        Assert.Throws<ArgumentException>(() => GoferProtocol.EncodeRequest(buf, GoferOp.Open, 0, "toolong"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(39)]
    public void TryDecodeRequest_ShorterThanHeader_Rejected(int length)
    {
        byte[] msg = new byte[length];
        if (length > 0)
        {
            msg[0] = (byte)GoferOp.Open;
        }

        Assert.False(GoferProtocol.TryDecodeRequest(msg, out _, out _, out _));
    }

    [Theory]
    [InlineData(1)] // a volume's root: not for the root-only decoder
    [InlineData(2)]
    [InlineData(3)]
    public void TryDecodeRequest_NonzeroPadding_Rejected(int paddingByte)
    {
        byte[] msg = new byte[GoferProtocol.HeaderSize + 1];
        GoferProtocol.EncodeRequest(msg, GoferOp.Open, 0, "a");
        msg[paddingByte] = 1;

        Assert.False(GoferProtocol.TryDecodeRequest(msg, out _, out _, out _));
    }

    [Theory]
    [InlineData("a\0b")]
    [InlineData("\0")]
    [InlineData("inside\0/../../etc/passwd")]
    [InlineData("trailing\0")]
    public void TryDecodeRequest_NulInPath_Rejected(string path)
    {
        byte[] msg = new byte[64];
        int len = GoferProtocol.EncodeRequest(msg, GoferOp.Open, 0, path);

        Assert.False(GoferProtocol.TryDecodeRequest(msg.AsSpan(0, len), out _, out _, out _));
    }

    [Fact]
    public void TryDecodeRequest_HeaderOnly_IsEmptyPath()
    {
        byte[] msg = new byte[GoferProtocol.HeaderSize];
        msg[0] = (byte)GoferOp.Open;

        Assert.True(GoferProtocol.TryDecodeRequest(msg, out GoferOp op, out int flags, out string path));
        Assert.Equal(GoferOp.Open, op);
        Assert.Equal(0, flags);
        Assert.Equal(string.Empty, path);
    }

    [Theory]
    [InlineData(0, "../outside")]
    [InlineData(-2, null)]
    [InlineData(-40, "")]
    public void Reply_EncodeThenDecode_RoundTrips(int result, string? payload)
    {
        byte[] buf = new byte[GoferProtocol.MaxMessage];

        int len = GoferProtocol.EncodeReply(buf, result, payload);

        Assert.Equal(4 + Encoding.UTF8.GetByteCount(payload ?? string.Empty), len);
        Assert.Equal(result, BinaryPrimitives.ReadInt32LittleEndian(buf));
        Assert.True(GoferProtocol.TryDecodeReply(buf.AsSpan(0, len), out int r2, out string p2));
        Assert.Equal(result, r2);
        Assert.Equal(payload ?? string.Empty, p2);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void TryDecodeReply_ShorterThanResult_Rejected(int length)
    {
        Assert.False(GoferProtocol.TryDecodeReply(new byte[length], out _, out _));
    }
}
