using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Bench.Reporting;

/// <summary>
/// <c>--report DIR</c>: report.md (tables and charts by workload class), one PNG chart per class,
/// results.csv and results.json.
/// </summary>
public static class ReportWriter
{
    public static void Write(BenchResults results, string dir, string machine)
    {
        Directory.CreateDirectory(dir);
        using (var csv = new StreamWriter(Path.Combine(dir, "results.csv")))
        {
            MachineReadable.WriteCsv(results, csv);
        }

        using (FileStream json = File.Create(Path.Combine(dir, "results.json")))
        {
            MachineReadable.WriteJson(results, json);
        }

        using var md = new StreamWriter(Path.Combine(dir, "report.md"));
        WriteMarkdown(results, md, machine, (cls, workloads) =>
        {
            string file = $"ratios-{cls}.png";
            RatioChart.Save(results, workloads, $"{cls}: cost relative to native", Path.Combine(dir, file));
            return file;
        });
    }

    /// <summary>The Markdown report; <paramref name="chart"/> draws a class's chart and returns its file name (or null).</summary>
    public static void WriteMarkdown(BenchResults results, TextWriter w, string machine, Func<string, IReadOnlyList<Workload>, string?> chart)
    {
        w.WriteLine("# moat bench");
        w.WriteLine();
        w.WriteLine($"Machine: {machine}. Runners: {string.Join(", ", results.Runners.Select(r => r.IsNative ? r.Name : $"{r.Name} (`{string.Join(' ', r.Prefix)}`)"))}.");
        w.WriteLine($"Host {results.LoadDescription}.");
        w.WriteLine("Each value is the median of the runs; the ratio is the runner's median over native's (2× = twice the time or memory).");
        w.WriteLine();
        foreach (IGrouping<string, Workload> cls in results.Workloads.GroupBy(x => x.Class))
        {
            List<Workload> workloads = cls.ToList();
            w.WriteLine($"## {cls.Key}");
            w.WriteLine();
            if (chart(cls.Key, workloads) is string file)
            {
                w.WriteLine($"![{cls.Key}]({file})");
                w.WriteLine();
            }

            w.Write("| workload | unit |");
            foreach (Runner r in results.Runners)
            {
                w.Write(r.IsNative ? $" {r.Name} |" : $" {r.Name} | ratio |");
            }

            w.WriteLine(" what one operation is |");
            w.Write("|---|---|");
            foreach (Runner r in results.Runners)
            {
                w.Write(r.IsNative ? "---:|" : "---:|---:|");
            }

            w.WriteLine("---|");
            foreach (Workload wl in workloads)
            {
                w.Write($"| {wl.Name} | {wl.Unit} |");
                foreach (Runner r in results.Runners)
                {
                    Summary s = results.Summary(wl, r);
                    string cell = s.HasValue ? $"{Format.Value(s.Median)} {Format.Percent(s.Spread)}" : results.NoValue(wl);
                    w.Write(r.IsNative ? $" {cell} |" : $" {cell} | {Format.Ratio(results.Ratio(wl, r))} |");
                }

                w.WriteLine($" {wl.Description} |");
            }

            w.WriteLine();
            foreach (Workload wl in workloads)
            {
                if (results.NotRunReason(wl) is string notRun)
                {
                    w.WriteLine($"- {wl.Name} not run: {notRun}");
                }

                foreach (Runner r in results.Runners)
                {
                    if (results.Failure(wl, r) is string why)
                    {
                        w.WriteLine($"- {wl.Name} under {r.Name} failed: {why}");
                    }
                }

                if (results.Profiles.TryGetValue(wl.Name, out string? profile))
                {
                    w.WriteLine($"Where Moat's time goes in {wl.Name}:");
                    w.WriteLine();
                    w.WriteLine("```");
                    w.Write(profile);
                    w.WriteLine("```");
                    w.WriteLine();
                }
            }
        }

        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC."));
    }
}
