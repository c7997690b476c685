using System;
using System.Collections.Generic;
using Moat.Sentry.Mm;

namespace Moat.Tests.Mm;

public class SegmentSetTests
{
    private static Pma P(ulong start, ulong end, long off = 0) => new(start, end, off);

    private static SegmentSet<Pma> Make(params Pma[] items)
    {
        var s = new SegmentSet<Pma>();
        foreach (Pma p in items)
        {
            s.Insert(p);
        }

        return s;
    }

    private static List<Pma> Items(SegmentSet<Pma> s)
    {
        var l = new List<Pma>();
        for (int i = 0; i < s.Count; i++)
        {
            l.Add(s[i]);
        }

        return l;
    }

    [Fact]
    public void Insert_OutOfOrder_KeepsSortedByStart()
    {
        SegmentSet<Pma> s = Make(P(0x5000, 0x6000), P(0x1000, 0x2000), P(0x3000, 0x4000));

        Assert.Equal(new[] { P(0x1000, 0x2000), P(0x3000, 0x4000), P(0x5000, 0x6000) }, Items(s));
    }

    [Fact]
    public void Insert_Adjacent_IsAllowed()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000), P(0x2000, 0x3000));

        Assert.Equal(2, s.Count);
    }

    [Theory]
    [InlineData(0x1000UL, 0x2000UL)]
    [InlineData(0x0000UL, 0x1001UL)]
    [InlineData(0x1FFFUL, 0x3000UL)]
    [InlineData(0x0000UL, 0x9000UL)]
    [InlineData(0x1400UL, 0x1800UL)]
    public void Insert_Overlapping_Throws(ulong start, ulong end)
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000));

        Assert.Throws<InvalidOperationException>(() => s.Insert(P(start, end)));
        Assert.Equal(1, s.Count);
    }

    [Fact]
    public void IndexOf_FindsContainingSegmentOnly()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000), P(0x3000, 0x4000));

        Assert.Equal(-1, s.IndexOf(0x0FFF));
        Assert.Equal(0, s.IndexOf(0x1000));
        Assert.Equal(0, s.IndexOf(0x1FFF));
        Assert.Equal(-1, s.IndexOf(0x2000)); // End is exclusive
        Assert.Equal(-1, s.IndexOf(0x2FFF));
        Assert.Equal(1, s.IndexOf(0x3000));
        Assert.Equal(-1, s.IndexOf(0x4000));
        Assert.Equal(-1, new SegmentSet<Pma>().IndexOf(0));
    }

    [Fact]
    public void FirstEndingAfter_ReturnsFirstSegmentWithEndAboveAddress()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000), P(0x3000, 0x4000));

        Assert.Equal(0, s.FirstEndingAfter(0));
        Assert.Equal(0, s.FirstEndingAfter(0x1FFF));
        Assert.Equal(1, s.FirstEndingAfter(0x2000));
        Assert.Equal(1, s.FirstEndingAfter(0x3FFF));
        Assert.Equal(2, s.FirstEndingAfter(0x4000));
    }

    [Theory]
    [InlineData(0x0000UL, 0x1000UL, false)] // ends where the segment starts
    [InlineData(0x2000UL, 0x3000UL, false)] // the hole
    [InlineData(0x4000UL, 0x9000UL, false)] // after everything
    [InlineData(0x0000UL, 0x1001UL, true)]
    [InlineData(0x1FFFUL, 0x2000UL, true)]
    [InlineData(0x2000UL, 0x3001UL, true)]
    [InlineData(0x0000UL, 0x9000UL, true)]
    [InlineData(0x1800UL, 0x1900UL, true)]
    public void Overlaps_ReportsIntersectionOfHalfOpenRanges(ulong start, ulong end, bool expected)
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000), P(0x3000, 0x4000));

        Assert.Equal(expected, s.Overlaps(start, end));
    }

    [Fact]
    public void SplitAt_InsideSegment_SplitsAndSlicesPayload()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x5000, 0x10000));

        s.SplitAt(0x3000);

        Assert.Equal(new[] { P(0x1000, 0x3000, 0x10000), P(0x3000, 0x5000, 0x12000) }, Items(s));
    }

    [Fact]
    public void SplitAt_AtBoundaryOrHole_DoesNothing()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000), P(0x3000, 0x4000));

        s.SplitAt(0x1000);
        s.SplitAt(0x2000);
        s.SplitAt(0x2800);
        s.SplitAt(0x9000);

        Assert.Equal(new[] { P(0x1000, 0x2000), P(0x3000, 0x4000) }, Items(s));
    }

    [Fact]
    public void Remove_MiddleOfSegment_SplitsAtBothEnds()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x9000, 0x100000));
        var removed = new List<Pma>();

        s.Remove(0x3000, 0x5000, removed);

        Assert.Equal(new[] { P(0x1000, 0x3000, 0x100000), P(0x5000, 0x9000, 0x104000) }, Items(s));
        Assert.Equal(new[] { P(0x3000, 0x5000, 0x102000) }, removed);
    }

    [Fact]
    public void Remove_SpanningSeveralSegments_TrimsEndsAndDropsMiddle()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x3000, 0), P(0x4000, 0x5000, 0x8000), P(0x6000, 0x8000, 0x20000));
        var removed = new List<Pma>();

        s.Remove(0x2000, 0x7000, removed);

        Assert.Equal(new[] { P(0x1000, 0x2000, 0), P(0x7000, 0x8000, 0x21000) }, Items(s));
        Assert.Equal(new[] { P(0x2000, 0x3000, 0x1000), P(0x4000, 0x5000, 0x8000), P(0x6000, 0x7000, 0x20000) }, removed);
    }

    [Fact]
    public void Remove_Hole_RemovesNothing()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000), P(0x3000, 0x4000));
        var removed = new List<Pma>();

        s.Remove(0x2000, 0x3000, removed);

        Assert.Equal(2, s.Count);
        Assert.Empty(removed);
    }

    [Fact]
    public void Remove_Everything_WithNullList_EmptiesSet()
    {
        SegmentSet<Pma> s = Make(P(0x1000, 0x2000), P(0x3000, 0x4000));

        s.Remove(0, ulong.MaxValue, null);

        Assert.Equal(0, s.Count);
    }

    [Fact]
    public void Replace_ChangesPayloadInPlace()
    {
        var v = new Vma(0x1000, 0x2000, 1, 7, false, false, VmaKind.Anonymous, null);
        var s = new SegmentSet<Vma>();
        s.Insert(v);

        s.Replace(0, v with { Prot = 3 });

        Assert.Equal(3, s[0].Prot);
    }

    [Fact]
    public void SplitAt_Vma_KeepsAttributesOnBothHalves()
    {
        var v = new Vma(0x1000, 0x5000, 3, 7, true, false, VmaKind.Anonymous, "[heap]");
        var s = new SegmentSet<Vma>();
        s.Insert(v);

        s.SplitAt(0x2000);

        Assert.Equal(2, s.Count);
        Assert.Equal(v with { End = 0x2000 }, s[0]);
        Assert.Equal(v with { Start = 0x2000 }, s[1]);
        Assert.Equal(0x1000UL, s[0].Length);
    }
}
