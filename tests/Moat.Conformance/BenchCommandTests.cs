using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat bench</c> end to end: builds the workloads, runs them natively and under Moat, prints the table
/// and writes a report. Only the shape is checked; timings are never asserted.
/// </summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void BenchQuick_TwoWorkloads_TableWithPositiveRatiosAndReport()
    {
        (string file, string[] prefix) = MoatCli.Command;
        string report = Path.Combine(HostScratch.Root, "bench-report");
        var args = new List<string>(prefix) { "bench", "--quick", "--reps", "2", "--workloads", "getpid,start-true", "--report", report };
        RunResult r = ProcessRunner.Run(file, args, HostScratch.Root, timeoutMs: 300_000);
        Assert.True(r.ExitCode == 0, r.Stderr);

        // moat-systrap only where the host can run it (FSGSBASE); bench says so on stderr where it cannot.
        string[] moat = HostPlatforms.SystrapSupported ? ["moat-systrap", "moat-ptrace"] : ["moat-ptrace"];
        Assert.Equal(!HostPlatforms.SystrapSupported, r.Stderr.Contains("measuring ptrace only", StringComparison.Ordinal));
        string[] lines = r.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] expected = ["workload", "unit", "native", .. moat.SelectMany(m => new[] { m, "ratio" }), "spread"];
        Assert.Equal(expected, header);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("getpid ", lines[1]);
        Assert.StartsWith("start-true ", lines[2]);
        Assert.StartsWith("load: none", lines[3]); // the table says the load it was measured under
        foreach (string row in lines.Skip(1).Take(2))
        {
            string[] cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(double.Parse(cells[2], CultureInfo.InvariantCulture) > 0, row);
            Assert.Equal(header.Length, cells.Length);
            for (int at = 3; at < cells.Length - 1; at += 2)
            {
                Assert.True(double.Parse(cells[at], CultureInfo.InvariantCulture) > 0, row);
                Assert.EndsWith("×", cells[at + 1]);
                Assert.True(double.Parse(cells[at + 1].TrimEnd('×'), CultureInfo.InvariantCulture) > 0, row);
            }
        }

        Assert.True(File.Exists(Path.Combine(report, "report.md")));
        Assert.True(File.Exists(Path.Combine(report, "ratios-syscalls.png")));
        Assert.Equal(1 + (2 * (1 + moat.Length)), File.ReadAllLines(Path.Combine(report, "results.csv")).Length); // header + 2 workloads x runners
    }

    [Fact]
    public void DoProfile_WritesPerSyscallCounts()
    {
        string profile = Path.Combine(HostScratch.Root, "profile.txt");
        RunResult r = MoatCli.Do(["/bin/busybox", "true"], HostScratch.Root, null, "--profile", profile);
        Assert.Equal(0, r.ExitCode);
        string[] lines = File.ReadAllLines(profile);
        Assert.StartsWith("# moat profile:", lines[0]);
        Assert.StartsWith("event", lines[1]);
        string exitRow = lines.Single(l => l.StartsWith("exit_group ", StringComparison.Ordinal));
        Assert.Equal("1", exitRow.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }
}
