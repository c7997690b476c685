using System;
using System.Linq;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Pgalloc;

public class FreeRangeSetTests
{
    private static (ulong Start, ulong End)[] RangesOf(FreeRangeSet s) => s.Ranges.ToArray();

    [Fact]
    public void Add_Disjoint_KeepsSortedSeparateRanges()
    {
        var s = new FreeRangeSet();
        s.Add(0x5000, 0x6000);
        s.Add(0x1000, 0x2000);
        s.Add(0x3000, 0x4000);

        Assert.Equal(new[] { (0x1000UL, 0x2000UL), (0x3000UL, 0x4000UL), (0x5000UL, 0x6000UL) }, RangesOf(s));
        Assert.Equal(3, s.Count);
        Assert.Equal(0x3000UL, s.TotalBytes);
    }

    [Fact]
    public void Add_AdjacentOnLeft_MergesWithLeft()
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x2000);
        s.Add(0x2000, 0x3000);

        Assert.Equal(new[] { (0x1000UL, 0x3000UL) }, RangesOf(s));
        Assert.Equal(0x2000UL, s.TotalBytes);
    }

    [Fact]
    public void Add_AdjacentOnRight_MergesWithRight()
    {
        var s = new FreeRangeSet();
        s.Add(0x2000, 0x3000);
        s.Add(0x1000, 0x2000);

        Assert.Equal(new[] { (0x1000UL, 0x3000UL) }, RangesOf(s));
        Assert.Equal(0x2000UL, s.TotalBytes);
    }

    [Fact]
    public void Add_FillsGap_MergesBothSides()
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x2000);
        s.Add(0x3000, 0x4000);
        s.Add(0x8000, 0x9000);
        s.Add(0x2000, 0x3000);

        Assert.Equal(new[] { (0x1000UL, 0x4000UL), (0x8000UL, 0x9000UL) }, RangesOf(s));
        Assert.Equal(2, s.Count);
        Assert.Equal(0x4000UL, s.TotalBytes);
    }

    [Fact]
    public void Add_EmptyRange_IsIgnored()
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x1000);
        s.Add(0x2000, 0x1000);

        Assert.Equal(0, s.Count);
        Assert.Equal(0UL, s.TotalBytes);
    }

    [Theory]
    [InlineData(0x1000UL, 0x2000UL)] // exact duplicate
    [InlineData(0x1800UL, 0x2800UL)] // overlaps the end of an existing range
    [InlineData(0x0000UL, 0x1800UL)] // overlaps the start of an existing range
    [InlineData(0x0000UL, 0x4000UL)] // covers an existing range
    [InlineData(0x1400UL, 0x1800UL)] // inside an existing range
    public void Add_OverlappingFreeRange_ThrowsDoubleFree(ulong start, ulong end)
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x2000);

        Assert.Throws<InvalidOperationException>(() => s.Add(start, end));
        Assert.Equal(new[] { (0x1000UL, 0x2000UL) }, RangesOf(s));
        Assert.Equal(0x1000UL, s.TotalBytes);
    }

    [Fact]
    public void TryTake_Empty_ReturnsFalse()
    {
        var s = new FreeRangeSet();

        Assert.False(s.TryTake(0x1000, 0x1000, out ulong start));
        Assert.Equal(0UL, start);
    }

    [Fact]
    public void TryTake_ExactFit_RemovesRange()
    {
        var s = new FreeRangeSet();
        s.Add(0x4000, 0x6000);

        Assert.True(s.TryTake(0x2000, 0x1000, out ulong start));
        Assert.Equal(0x4000UL, start);
        Assert.Equal(0, s.Count);
        Assert.Equal(0UL, s.TotalBytes);
    }

    [Fact]
    public void TryTake_FromAlignedStart_KeepsTail()
    {
        var s = new FreeRangeSet();
        s.Add(0x4000, 0x9000);

        Assert.True(s.TryTake(0x2000, 0x1000, out ulong start));
        Assert.Equal(0x4000UL, start);
        Assert.Equal(new[] { (0x6000UL, 0x9000UL) }, RangesOf(s));
        Assert.Equal(0x3000UL, s.TotalBytes);
    }

    [Fact]
    public void TryTake_AlignedFitInMiddle_SplitsIntoHeadAndTail()
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x20_0000 + 0x3000);

        Assert.True(s.TryTake(0x1000, 0x10_0000, out ulong start));
        Assert.Equal(0x10_0000UL, start);
        Assert.Equal(new[] { (0x1000UL, 0x10_0000UL), (0x10_1000UL, 0x20_3000UL) }, RangesOf(s));
        Assert.Equal(0x20_3000UL - 0x1000UL - 0x1000UL, s.TotalBytes);
    }

    [Fact]
    public void TryTake_AlignedFitAtEnd_KeepsHead()
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x20_0000);

        Assert.True(s.TryTake(0x10_0000, 0x10_0000, out ulong start));
        Assert.Equal(0x10_0000UL, start);
        Assert.Equal(new[] { (0x1000UL, 0x10_0000UL) }, RangesOf(s));
        Assert.Equal(0x10_0000UL - 0x1000UL, s.TotalBytes);
    }

    [Fact]
    public void TryTake_FirstRangeTooSmallOnceAligned_UsesLowestLaterFit()
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x20_0000); // big enough unaligned, but no aligned 2 MiB in it
        s.Add(0x40_0000, 0x80_0000);
        s.Add(0x100_0000, 0x140_0000);

        Assert.True(s.TryTake(0x20_0000, 0x20_0000, out ulong start));
        Assert.Equal(0x40_0000UL, start);
        Assert.Equal(new[] { (0x1000UL, 0x20_0000UL), (0x60_0000UL, 0x80_0000UL), (0x100_0000UL, 0x140_0000UL) }, RangesOf(s));
    }

    [Fact]
    public void TryTake_NoAlignedFit_ReturnsFalseAndLeavesSetUnchanged()
    {
        var s = new FreeRangeSet();
        s.Add(0x1000, 0x20_1000); // 2 MiB long, but the only 2 MiB-aligned start leaves 0x1000 bytes

        Assert.False(s.TryTake(0x20_0000, 0x20_0000, out _));
        Assert.Equal(new[] { (0x1000UL, 0x20_1000UL) }, RangesOf(s));
        Assert.Equal(0x20_0000UL, s.TotalBytes);
    }

    [Fact]
    public void TryTake_ThenAddBack_RestoresSingleRange()
    {
        var s = new FreeRangeSet();
        s.Add(0, 0x40_0000);

        Assert.True(s.TryTake(0x1000, 0x20_0000, out ulong a));
        Assert.True(s.TryTake(0x1000, 0x20_0000, out ulong b));
        Assert.Equal(0UL, a);
        Assert.Equal(0x20_0000UL, b);
        s.Add(b, b + 0x1000);
        s.Add(a, a + 0x1000);

        Assert.Equal(new[] { (0UL, 0x40_0000UL) }, RangesOf(s));
        Assert.Equal(0x40_0000UL, s.TotalBytes);
    }

    [Fact]
    public void TryTake_AlignmentOverflowsNearTop_DoesNotWrapToZero()
    {
        var s = new FreeRangeSet();
        s.Add(0xFFFF_FFFF_FFFF_D000UL, 0xFFFF_FFFF_FFFF_F000UL);

        // Rounding 0x...D000 up to 64 KiB overflows to 0; that must not be treated as a fit.
        Assert.False(s.TryTake(0x1000, 0x1_0000, out _));
        Assert.Equal(1, s.Count);
        Assert.Equal(0x2000UL, s.TotalBytes);
    }
}
