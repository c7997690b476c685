using System;
using System.Collections.Generic;
using System.Linq;
using Moat.Bench.Running;
using Moat.Bench.Workloads;
using ScottPlot;

namespace Moat.Bench.Reporting;

/// <summary>
/// One horizontal bar chart per workload class: for each workload, one bar per sandbox runner, its length
/// the ratio to native on a log scale (1× at the axis: native speed). Short bars are close to Linux.
/// </summary>
public static class RatioChart
{
    private static readonly Color[] s_palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"),
        Color.FromHex("#d62728"), Color.FromHex("#9467bd"), Color.FromHex("#8c564b"),
    ];

    /// <summary>Writes the chart of <paramref name="workloads"/> as PNG to <paramref name="path"/>.</summary>
    public static void Save(BenchResults results, IReadOnlyList<Workload> workloads, string title, string path)
    {
        List<Runner> runners = results.Runners.Where(r => !r.IsNative).ToList();
        var plot = new Plot();
        var bars = new List<Bar>();
        double maxLog = 1;
        double group = runners.Count + 1;
        for (int wi = 0; wi < workloads.Count; wi++)
        {
            for (int ri = 0; ri < runners.Count; ri++)
            {
                double ratio = results.Ratio(workloads[wi], runners[ri]);
                if (double.IsNaN(ratio))
                {
                    continue;
                }

                // log10: 0 is native speed, 1 is ten times slower; faster than native goes left of the axis.
                double log = Math.Log10(ratio);
                maxLog = Math.Max(maxLog, log);
                bars.Add(new Bar
                {
                    // Workloads top to bottom, in suite order.
                    Position = (workloads.Count - 1 - wi) * group + (runners.Count - 1 - ri),
                    Value = log,
                    FillColor = s_palette[ri % s_palette.Length],
                    Label = Format.Ratio(ratio),
                    Size = 0.9,
                });
            }
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.Horizontal = true;

        var yTicks = new ScottPlot.TickGenerators.NumericManual();
        for (int wi = 0; wi < workloads.Count; wi++)
        {
            yTicks.AddMajor((workloads.Count - 1 - wi) * group + (runners.Count - 1) / 2.0, workloads[wi].Name);
        }

        plot.Axes.Left.TickGenerator = yTicks;
        var xTicks = new ScottPlot.TickGenerators.NumericManual();
        for (int p = 0; p <= Math.Ceiling(maxLog); p++)
        {
            xTicks.AddMajor(p, p == 0 ? "native" : Format.Ratio(Math.Pow(10, p)));
        }

        plot.Axes.Bottom.TickGenerator = xTicks;
        plot.Axes.SetLimitsX(Math.Min(0, bars.Count == 0 ? 0 : bars.Min(b => b.Value)) - 0.05, Math.Ceiling(maxLog) + 0.15);
        plot.Axes.SetLimitsY(-1, workloads.Count * group - 1);
        plot.Add.VerticalLine(0, 1, Colors.Black);
        plot.Title(title);
        plot.XLabel("time (or memory) relative to native, log scale");
        for (int ri = 0; ri < runners.Count; ri++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = runners[ri].Name, FillColor = s_palette[ri % s_palette.Length] });
        }

        plot.Legend.IsVisible = runners.Count > 0;
        plot.Legend.Alignment = Alignment.LowerRight;
        plot.SavePng(path, 900, 120 + (workloads.Count * (runners.Count + 1) * 14));
    }
}
