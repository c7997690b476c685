using System.IO;
using System.Text;
using System.Text.Json;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Bench.Reporting;

/// <summary>CSV and JSON of every summary (and, in JSON, every raw value), for machines.</summary>
public static class MachineReadable
{
    public const string CsvHeader = "workload,class,unit,runner,median,min,max,spread,count,ratio";

    public static void WriteCsv(BenchResults results, TextWriter w)
    {
        w.WriteLine(CsvHeader);
        foreach (Workload wl in results.Workloads)
        {
            foreach (Runner r in results.Runners)
            {
                Summary s = results.Summary(wl, r);
                w.WriteLine(string.Join(',',
                    wl.Name, wl.Class, wl.Unit, Csv(r.Name),
                    Num(s.Median), Num(s.Min), Num(s.Max), Num(s.Spread), s.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Num(results.Ratio(wl, r))));
            }
        }
    }

    public static void WriteJson(BenchResults results, Stream output)
    {
        using var j = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        j.WriteStartObject();
        j.WriteNumber("load", results.Load);
        j.WriteStartArray("runners");
        foreach (Runner r in results.Runners)
        {
            j.WriteStartObject();
            j.WriteString("name", r.Name);
            j.WriteString("prefix", string.Join(' ', r.Prefix));
            j.WriteEndObject();
        }

        j.WriteEndArray();
        j.WriteStartArray("workloads");
        foreach (Workload wl in results.Workloads)
        {
            j.WriteStartObject();
            j.WriteString("name", wl.Name);
            j.WriteString("class", wl.Class);
            j.WriteString("description", wl.Description);
            j.WriteString("unit", wl.Unit);
            if (results.NotRunReason(wl) is string notRun)
            {
                j.WriteString("not_run", notRun);
            }

            j.WriteStartObject("results");
            foreach (Runner r in results.Runners)
            {
                Summary s = results.Summary(wl, r);
                j.WriteStartObject(r.Name);
                WriteNumber(j, "median", s.Median);
                WriteNumber(j, "min", s.Min);
                WriteNumber(j, "max", s.Max);
                WriteNumber(j, "spread", s.Spread);
                WriteNumber(j, "ratio", results.Ratio(wl, r));
                j.WriteStartArray("values");
                foreach (double v in results.Values(wl, r))
                {
                    j.WriteNumberValue(v);
                }

                j.WriteEndArray();
                if (results.Failure(wl, r) is string why)
                {
                    j.WriteString("failure", why);
                }

                j.WriteEndObject();
            }

            j.WriteEndObject();
            j.WriteEndObject();
        }

        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter j, string name, double v)
    {
        if (double.IsNaN(v))
        {
            j.WriteNull(name);
        }
        else
        {
            j.WriteNumber(name, v);
        }
    }

    private static string Num(double v) => double.IsNaN(v) ? string.Empty : Format.Invariant(v);

    private static string Csv(string s) =>
        s.IndexOfAny([',', '"', '\n']) < 0 ? s : "\"" + s.Replace("\"", "\"\"", System.StringComparison.Ordinal) + "\"";
}
