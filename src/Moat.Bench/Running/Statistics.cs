using System;
using System.Collections.Generic;

namespace Moat.Bench.Running;

/// <summary>The summary of repeated measurements of one workload under one runner.</summary>
/// <param name="Median">The median: robust against the odd slow run of a noisy machine.</param>
/// <param name="Min">The fastest run.</param>
/// <param name="Max">The slowest run.</param>
/// <param name="Spread">Interquartile range relative to the median (0.05 = the middle half lies within 5 %).</param>
/// <param name="Count">How many runs gave a value.</param>
public readonly record struct Summary(double Median, double Min, double Max, double Spread, int Count)
{
    public static Summary Empty => new(double.NaN, double.NaN, double.NaN, double.NaN, 0);

    public bool HasValue => Count > 0;
}

public static class Statistics
{
    public static Summary Summarize(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return Summary.Empty;
        }

        double[] sorted = new double[values.Count];
        for (int i = 0; i < sorted.Length; i++)
        {
            sorted[i] = values[i];
        }

        Array.Sort(sorted);
        double median = Quantile(sorted, 0.5);
        double iqr = Quantile(sorted, 0.75) - Quantile(sorted, 0.25);
        return new Summary(median, sorted[0], sorted[^1], median == 0 ? 0 : iqr / median, sorted.Length);
    }

    /// <summary>The q-quantile of sorted values, interpolating linearly between ranks (type 7, as R and numpy).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        double pos = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /// <summary>Cost relative to native: 2 means twice as slow (or twice the memory). NaN when either is missing.</summary>
    public static double Ratio(Summary runner, Summary native)
    {
        if (!runner.HasValue || !native.HasValue || native.Median <= 0)
        {
            return double.NaN;
        }

        return runner.Median / native.Median;
    }
}
