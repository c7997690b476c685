using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary><c>moat do --metrics FILE</c>: the sandbox's counters at exit, in Prometheus's text format.</summary>
public sealed partial class MetricsTests
{
    [Theory]
    [InlineData("full")]
    [InlineData("gofer")]
    public void Metrics_CountersOfTheRun_InTextFormat(string confine)
    {
        string file = Path.Combine(HostScratch.NewDirectory("metrics"), "moat.prom");
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "/bin/true; /bin/true; cat /etc/hostname >/dev/null; head -c 100000 /dev/zero >/dev/null"], "/", null, "--confine=" + confine, "--metrics", file);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(string.Empty, r.Stderr);
        string[] lines = File.ReadAllLines(file);
        string[] samples = [.. lines.Where(l => !l.StartsWith('#'))];
        Assert.All(samples, l => Assert.Matches(Sample(), l));
        Assert.All(lines.Where(l => l.StartsWith('#')), l => Assert.Matches(@"^# (HELP|TYPE) moat_[a-z_]+ ", l));

        Assert.True(Value(samples, "moat_syscalls_total", "execve") >= 3); // sh, then two /bin/true
        Assert.True(Value(samples, "moat_syscalls_total", "wait4") >= 2);
        Assert.InRange(Value(samples, "moat_tasks_started_total"), 4, 5); // sh and its children (the last one may be exec'd in place)
        Assert.True(Value(samples, "moat_gofer_round_trips_total") > 0);
        Assert.True(Value(samples, "moat_page_faults_total") > 0);
        Assert.True(Value(samples, "moat_memory_file_peak_bytes") >= 4096);
        Assert.True(Value(samples, "moat_read_bytes_total") >= 100000); // head's reads of /dev/zero
        Assert.True(Value(samples, "moat_written_bytes_total") >= 100000);
    }

    private static long Value(string[] samples, string metric, string? name = null)
    {
        string line = samples.Single(l => l.StartsWith(metric + "{", System.StringComparison.Ordinal) && (name == null || l.Contains($",name=\"{name}\"}}", System.StringComparison.Ordinal)));
        return long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("^moat_[a-z_]+\\{sandbox=\"[0-9]+\"(,name=\"[a-z0-9_]+\")?\\} [0-9]+$")]
    private static partial Regex Sample();
}
