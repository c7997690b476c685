using System;
using System.Linq;
using Moat.Sentry.Vfs;

namespace Moat.Tests.Vfs;

/// <summary>A pipe's ring grows with what it holds, up to its capacity, and keeps the bytes in order through growth, wrap-around and F_SETPIPE_SZ.</summary>
public sealed class PipeStorageTests
{
    private static byte[] Bytes(int start, int count) => Enumerable.Range(start, count).Select(i => (byte)(i * 7)).ToArray();

    private static byte[] Drain(Pipe p, int n)
    {
        byte[] got = new byte[n];
        Assert.Equal(n, p.PeekLocked(got));
        p.ConsumeLocked(n);
        return got;
    }

    [Fact]
    public void SmallWrites_StayInOrder_ThroughWrapAndGrowth()
    {
        var p = new Pipe();
        Assert.Equal(0, p.PushLocked(ReadOnlySpan<byte>.Empty));
        p.ConsumeLocked(0);

        // Fill most of the first page, drain part of it, so the next write wraps around the ring's end...
        Assert.Equal(3000, p.PushLocked(Bytes(0, 3000)));
        Assert.Equal(Bytes(0, 2000), Drain(p, 2000));
        Assert.Equal(2500, p.PushLocked(Bytes(3000, 2500)));

        // ...then grow past a page while wrapped: the data must come out in order.
        Assert.Equal(20000, p.PushLocked(Bytes(5500, 20000)));
        Assert.Equal(Bytes(2000, 23500), Drain(p, 23500));
        Assert.Equal(0, p.CountLocked);
    }

    [Fact]
    public void Capacity_LimitsWhatAWriteTakes_AndResizeKeepsTheData()
    {
        var p = new Pipe();
        Assert.Equal(Pipe.DefaultCapacity, p.Capacity);
        Assert.Equal(Pipe.DefaultCapacity, p.PushLocked(Bytes(0, Pipe.DefaultCapacity + 100)));
        Assert.Equal(0, p.RoomLocked);
        Assert.Equal(Bytes(0, 1000), Drain(p, 1000));

        Assert.Equal(-Moat.Abi.Errno.EBUSY.Value, p.Resize(4096));
        Assert.Equal(1 << 17, p.Resize(100_000));
        Assert.Equal(1 << 17, p.Capacity);
        Assert.Equal(Bytes(1000, Pipe.DefaultCapacity - 1000), Drain(p, Pipe.DefaultCapacity - 1000));

        // Shrinking an empty pipe below what its storage grew to.
        Assert.Equal(4096, p.Resize(1));
        Assert.Equal(4096, p.PushLocked(Bytes(0, 5000)));
        Assert.Equal(Bytes(0, 4096), Drain(p, 4096));
    }
}
