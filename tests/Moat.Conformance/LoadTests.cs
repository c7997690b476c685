using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// Load: rounds of 200 threads, 1000 short-lived processes and 10 000 files created and removed
/// (load/load.c) all complete, and the Sentry's memory does not grow from round to round: what the first
/// round takes (the GC heap and caches warming up, about 25 MB here) is reused by the next ones, not leaked.
/// </summary>
public sealed class LoadTests
{
    [Fact]
    public void ThreadsProcessesFiles_Complete_AndSentryMemoryStaysFlat()
    {
        const int Rounds = 3;
        string dir = HostScratch.NewDirectory("load");
        string exe = Path.Combine(dir, "load");
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-Wall", "-Werror", "-pthread", "-o", exe, Path.Combine(AppContext.BaseDirectory, "load", "load.c")], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        using Process moat = MoatCli.Start(dir, "./load", Rounds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            Assert.Equal("start", moat.StandardOutput.ReadLine());
            long[] rss = new long[Rounds];
            for (int round = 0; round < Rounds; round++)
            {
                moat.StandardInput.WriteLine("go");
                moat.StandardInput.Flush();
                Assert.Equal("threads: 200, sum 200000", moat.StandardOutput.ReadLine());
                Assert.Equal("processes: 1000", moat.StandardOutput.ReadLine());
                Assert.Equal("files: 10000 created, 10000 removed", moat.StandardOutput.ReadLine());
                Assert.Equal($"round {round + 1} done", moat.StandardOutput.ReadLine());
                rss[round] = RssKiB(moat.Id);
            }

            moat.StandardInput.WriteLine("go");
            moat.StandardInput.Flush();
            Assert.True(moat.WaitForExit(60_000));
            Assert.Equal(0, moat.ExitCode);
            long growth = rss[^1] - rss[0];
            Assert.True(growth < 8 * 1024, $"the Sentry grew by {growth} KiB from round 1 to round {Rounds} (RSS: {string.Join(", ", rss)} KiB)");
        }
        finally
        {
            if (!moat.HasExited)
            {
                moat.Kill();
            }
        }
    }

    private static long RssKiB(int pid)
    {
        string line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
