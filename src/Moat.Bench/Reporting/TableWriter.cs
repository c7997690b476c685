using System;
using System.Collections.Generic;
using System.IO;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Bench.Reporting;

/// <summary>
/// The terminal table: one row per workload, for each runner its median, and for each runner but native
/// its ratio to native. The spread (half the interquartile range, relative) says how far to trust a row.
/// </summary>
public static class TableWriter
{
    public static void Write(BenchResults results, TextWriter w)
    {
        var header = new List<string> { "workload", "unit" };
        foreach (Runner r in results.Runners)
        {
            header.Add(r.Name);
            if (!r.IsNative)
            {
                header.Add("ratio");
            }
        }

        header.Add("spread");
        var rows = new List<List<string>> { header };
        var notes = new List<string>();
        foreach (Workload wl in results.Workloads)
        {
            var row = new List<string> { wl.Name, wl.Unit };
            double worstSpread = 0;
            foreach (Runner r in results.Runners)
            {
                Summary s = results.Summary(wl, r);
                row.Add(s.HasValue ? Format.Value(s.Median) : results.NoValue(wl));
                if (!r.IsNative)
                {
                    row.Add(Format.Ratio(results.Ratio(wl, r)));
                }

                if (s.HasValue)
                {
                    worstSpread = Math.Max(worstSpread, s.Spread);
                }

                if (results.Failure(wl, r) is string why)
                {
                    notes.Add($"{wl.Name} under {r.Name}: {why}");
                }
            }

            if (results.NotRunReason(wl) is string notRun)
            {
                notes.Add($"{wl.Name}: not run: {notRun}");
            }

            row.Add(results.NotRunReason(wl) != null ? "-" : Format.Percent(worstSpread));
            rows.Add(row);
        }

        WriteAligned(rows, w);
        foreach (string n in notes)
        {
            w.WriteLine("  ! " + n);
        }

        w.WriteLine(results.LoadDescription);
    }

    private static void WriteAligned(List<List<string>> rows, TextWriter w)
    {
        int cols = rows[0].Count;
        var width = new int[cols];
        foreach (List<string> row in rows)
        {
            for (int c = 0; c < cols; c++)
            {
                width[c] = Math.Max(width[c], row[c].Length);
            }
        }

        foreach (List<string> row in rows)
        {
            for (int c = 0; c < cols; c++)
            {
                // Names left-aligned, numbers right-aligned.
                string cell = c < 2 ? row[c].PadRight(width[c]) : row[c].PadLeft(width[c]);
                w.Write(c == 0 ? cell : "  " + cell);
            }

            w.WriteLine();
        }
    }
}
