using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Moat.Bench.Reporting;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Tests.Bench;

public sealed class ReportTests
{
    private static readonly Runner s_moat = new("moat-ptrace", ["moat", "do", "--"]);

    private static BenchResults Sample()
    {
        Workload getpid = new("getpid", "syscalls", "getpid", "ns/op", MeasureKind.Reported, ["x"], ["x"]);
        Workload start = new("start-true", "programs", "true", "ms", MeasureKind.WallClock, ["x"], ["x"]);
        var r = new BenchResults([getpid, start], [Runner.Native, s_moat]);
        foreach (double v in new[] { 100.0, 110.0, 90.0 })
        {
            r.Add(getpid, Runner.Native, v);
            r.Add(getpid, s_moat, v * 20);
            r.Add(start, Runner.Native, v / 100);
        }

        r.Fail(start, s_moat, "exit status 1: boom");
        return r;
    }

    [Fact]
    public void Table_HasHeaderRatioAndFailure()
    {
        var w = new StringWriter();
        TableWriter.Write(Sample(), w);
        string[] lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("workload", lines[0]);
        Assert.Contains("moat-ptrace", lines[0]);
        Assert.Contains("20×", lines[1]);
        Assert.Contains("failed", lines[2]);
        Assert.Contains("start-true under moat-ptrace: exit status 1: boom", lines[3]);
        Assert.Equal("load: none (no CPU-bound threads beside the runs)", lines[4].TrimEnd());
    }

    [Fact]
    public void Load_SaidByTableMarkdownAndJson()
    {
        BenchResults idle = Sample();
        var r = new BenchResults(idle.Workloads, idle.Runners) { Load = 2 };
        const string Said = "load: 2 CPU-bound host threads beside every run (--load 2)";

        var table = new StringWriter();
        TableWriter.Write(r, table);
        Assert.Contains(Said, table.ToString());

        var md = new StringWriter();
        ReportWriter.WriteMarkdown(r, md, "test machine", (_, _) => null);
        Assert.Contains("Host " + Said + ".", md.ToString());

        var ms = new MemoryStream();
        MachineReadable.WriteJson(r, ms);
        using JsonDocument doc = JsonDocument.Parse(ms.ToArray());
        Assert.Equal(2, doc.RootElement.GetProperty("load").GetInt32());
    }

    [Fact]
    public void Csv_OneRowPerWorkloadAndRunner()
    {
        var w = new StringWriter();
        MachineReadable.WriteCsv(Sample(), w);
        string[] lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(MachineReadable.CsvHeader, lines[0]);
        Assert.Equal(5, lines.Length);
        Assert.Equal("getpid,syscalls,ns/op,moat-ptrace,2000,1800,2200,0.1,3,20", lines[2]);
        Assert.Equal("start-true,programs,ms,moat-ptrace,,,,,0,", lines[4]);
    }

    [Fact]
    public void Json_ParsesAndCarriesRawValues()
    {
        var ms = new MemoryStream();
        MachineReadable.WriteJson(Sample(), ms);
        using JsonDocument doc = JsonDocument.Parse(ms.ToArray());
        JsonElement getpid = doc.RootElement.GetProperty("workloads")[0];
        Assert.Equal("getpid", getpid.GetProperty("name").GetString());
        JsonElement moat = getpid.GetProperty("results").GetProperty("moat-ptrace");
        Assert.Equal(20.0, moat.GetProperty("ratio").GetDouble(), 10);
        Assert.Equal(3, moat.GetProperty("values").GetArrayLength());
        JsonElement failed = doc.RootElement.GetProperty("workloads")[1].GetProperty("results").GetProperty("moat-ptrace");
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("median").ValueKind);
        Assert.Equal("exit status 1: boom", failed.GetProperty("failure").GetString());
    }

    [Fact]
    public void Markdown_OneSectionAndChartPerClass()
    {
        var w = new StringWriter();
        ReportWriter.WriteMarkdown(Sample(), w, "test machine", (cls, workloads) => $"chart-{cls}-{workloads.Count}.svg");
        string md = w.ToString();
        Assert.Contains("## syscalls", md);
        Assert.Contains("## programs", md);
        Assert.Contains("![syscalls](chart-syscalls-1.svg)", md);
        Assert.Contains("| getpid | ns/op | 100 ±5% | 2000 ±5% | 20× |", md);
        Assert.Contains("start-true under moat-ptrace failed: exit status 1: boom", md);
    }

    [Fact]
    public void Write_ProducesPngCsvJsonAndMarkdown()
    {
        string dir = Path.Combine(Path.GetTempPath(), "moat-report-test-" + Environment.ProcessId);
        try
        {
            ReportWriter.Write(Sample(), dir, "test machine");
            Assert.True(File.Exists(Path.Combine(dir, "report.md")));
            Assert.True(File.Exists(Path.Combine(dir, "results.csv")));
            Assert.True(File.Exists(Path.Combine(dir, "results.json")));
            byte[] png = File.ReadAllBytes(Path.Combine(dir, "ratios-syscalls.png"));
            Assert.True(png.Length > 1000);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
