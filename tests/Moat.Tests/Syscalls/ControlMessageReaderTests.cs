using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Syscalls.Linux;

namespace Moat.Tests.Syscalls;

/// <summary>The cmsghdr walk every sendmsg shares: aligned steps, Linux's EINVAL on a bad length, a short tail ignored.</summary>
public sealed class ControlMessageReaderTests
{
    private static void Header(byte[] buf, int at, ulong length, int level, int type)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(at), length);
        BinaryPrimitives.WriteInt32LittleEndian(buf.AsSpan(at + 8), level);
        BinaryPrimitives.WriteInt32LittleEndian(buf.AsSpan(at + 12), type);
    }

    [Fact]
    public void TwoMessages_StepByAlignedLength_TailShorterThanAHeaderIgnored()
    {
        byte[] buf = new byte[24 + 20 + 8];
        Header(buf, 0, 21, 1, 1); // 5 bytes of data, the next header 24 bytes on
        buf[16] = 0xAB;
        Header(buf, 24, 20, 0, 2); // 4 bytes of data
        BinaryPrimitives.WriteInt32LittleEndian(buf.AsSpan(40), 64);

        var r = new ControlMessageReader(buf);
        Assert.True(r.Next(out int level, out int type, out ReadOnlySpan<byte> data, out long error));
        Assert.Equal((1, 1, 5, 0xAB, 0L), (level, type, data.Length, data[0], error));
        Assert.True(r.Next(out level, out type, out data, out error));
        Assert.Equal((0, 2, 64), (level, type, BinaryPrimitives.ReadInt32LittleEndian(data)));
        Assert.False(r.Next(out _, out _, out _, out error));
        Assert.Equal(0, error);
    }

    [Theory]
    [InlineData(15UL)] // shorter than its own header
    [InlineData(33UL)] // past the buffer
    [InlineData(ulong.MaxValue)]
    public void BadLength_IsEinval(ulong length)
    {
        byte[] buf = new byte[32];
        Header(buf, 0, length, 1, 1);
        var r = new ControlMessageReader(buf);
        Assert.False(r.Next(out _, out _, out _, out long error));
        Assert.Equal(-Errno.EINVAL.Value, error);
    }
}
