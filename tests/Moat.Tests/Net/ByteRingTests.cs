using System;
using Moat.Sentry.Net;
using Moat.Sentry.Vfs;

namespace Moat.Tests.Net;

/// <summary>The receive ring of loopback TCP: memory follows the queued data, bytes stay in order across growth and wrap.</summary>
public class ByteRingTests
{
    private static byte[] Pattern(int n, int seed)
    {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++)
        {
            b[i] = (byte)((i * 7) + seed);
        }

        return b;
    }

    private static void Append(ByteRing ring, byte[] data) =>
        Assert.Equal(0, ring.Append(null!, IoSequence.Sentry(data, data.Length), 0, data.Length));

    private static byte[] Take(ByteRing ring, int n)
    {
        byte[] b = new byte[n];
        Assert.Equal(0, ring.Take(null!, IoSequence.Sentry(b, n), 0, n, peek: false));
        return b;
    }

    [Fact]
    public void New_HoldsNoMemory_UntilDataQueues()
    {
        var ring = new ByteRing(6 << 20);
        Assert.Equal(0, ring.Allocated);
        Assert.Equal(6 << 20, ring.Free);
        Append(ring, Pattern(100, 1));
        Assert.InRange(ring.Allocated, 100, 2 * ByteRing.InitialSize);
    }

    [Fact]
    public void Append_BeyondTheArray_GrowsAndKeepsOrderAcrossTheWrap()
    {
        var ring = new ByteRing(1 << 20);
        byte[] a = Pattern(12000, 3);
        byte[] b = Pattern(10000, 5);
        byte[] c = Pattern(300000, 9);
        Append(ring, a);
        Assert.Equal(a[..8000], Take(ring, 8000));

        // b wraps around the first array's end; c forces growth with the queued bytes split in two.
        Append(ring, b);
        Append(ring, c);
        Assert.True(ring.Allocated >= 314000);
        Assert.Equal(a[8000..], Take(ring, 4000));
        Assert.Equal(b, Take(ring, b.Length));
        Assert.Equal(c, Take(ring, c.Length));
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void Drained_LargeRing_GivesItsMemoryBack()
    {
        var ring = new ByteRing(4 << 20);
        Append(ring, Pattern(1 << 20, 0));
        Assert.True(ring.Allocated >= 1 << 20);
        Take(ring, 1 << 20);
        Assert.Equal(0, ring.Allocated);
    }

    [Fact]
    public void Free_FollowsTheLimit_EvenWhenItShrinksBelowTheQueue()
    {
        var ring = new ByteRing(50000);
        Append(ring, Pattern(40000, 0));
        Assert.Equal(10000, ring.Free);
        ring.Limit = 30000;
        Assert.Equal(0, ring.Free);
    }

    [Fact]
    public void SteadyStream_AllocatesNothing()
    {
        var ring = new ByteRing(6 << 20);
        byte[] chunk = Pattern(4096, 1);
        byte[] sink = new byte[4096];
        for (int i = 0; i < 100; i++)
        {
            Append(ring, chunk);
            ring.Take(null!, IoSequence.Sentry(sink, sink.Length), 0, sink.Length, peek: false);
        }

        long failures = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            failures += ring.Append(null!, IoSequence.Sentry(chunk, chunk.Length), 0, chunk.Length);
            failures += ring.Append(null!, IoSequence.Sentry(chunk, chunk.Length), 0, chunk.Length);
            failures += ring.Take(null!, IoSequence.Sentry(sink, sink.Length), 0, sink.Length, peek: false);
            failures += ring.Take(null!, IoSequence.Sentry(sink, sink.Length), 0, sink.Length, peek: false);
        }

        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, failures);
        Assert.Equal(before, after);
    }
}
