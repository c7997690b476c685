using System.Collections.Generic;
using Moat.Bench.Running;

namespace Moat.Tests.Bench;

public sealed class StatisticsTests
{
    [Fact]
    public void Summarize_OddCount_MedianIsMiddleValue()
    {
        Summary s = Statistics.Summarize([5.0, 1.0, 3.0]);
        Assert.Equal(3.0, s.Median);
        Assert.Equal(1.0, s.Min);
        Assert.Equal(5.0, s.Max);
        Assert.Equal(3, s.Count);
    }

    [Fact]
    public void Summarize_EvenCount_MedianIsMeanOfMiddlePair()
    {
        Assert.Equal(2.5, Statistics.Summarize([4.0, 1.0, 2.0, 3.0]).Median);
    }

    [Fact]
    public void Summarize_SpreadIsInterquartileRangeOverMedian()
    {
        // Quartiles of 1..5 (linear interpolation): 2 and 4; median 3.
        Summary s = Statistics.Summarize([1.0, 2.0, 3.0, 4.0, 5.0]);
        Assert.Equal(2.0 / 3.0, s.Spread, 10);
    }

    [Fact]
    public void Summarize_OneOutlier_MedianUnmoved()
    {
        Assert.Equal(10.0, Statistics.Summarize([10.0, 10.0, 10.0, 10.0, 1e9]).Median);
    }

    [Fact]
    public void Summarize_Empty_HasNoValue()
    {
        Summary s = Statistics.Summarize(new List<double>());
        Assert.False(s.HasValue);
        Assert.True(double.IsNaN(s.Median));
    }

    [Fact]
    public void Ratio_IsRunnerOverNative_NaNWhenMissing()
    {
        Summary native = Statistics.Summarize([2.0]);
        Assert.Equal(5.0, Statistics.Ratio(Statistics.Summarize([10.0]), native));
        Assert.True(double.IsNaN(Statistics.Ratio(Summary.Empty, native)));
        Assert.True(double.IsNaN(Statistics.Ratio(native, Summary.Empty)));
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(1.0, 4.0)]
    [InlineData(0.5, 2.5)]
    [InlineData(0.25, 1.75)]
    public void Quantile_InterpolatesBetweenRanks(double q, double expected)
    {
        Assert.Equal(expected, Statistics.Quantile([1.0, 2.0, 3.0, 4.0], q), 10);
    }
}
