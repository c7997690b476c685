using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// Load: rounds of 200 threads, 1000 short-lived processes and 10 000 files created and removed
/// (load/load.c) all complete, and after each round, once the sandbox is idle, the Sentry's RSS returns
/// near what it was before the first round.
/// </summary>
/// <remarks>
/// Measured with the Native AOT binary (what ./test.sh runs): the Sentry starts at about 13 MB and a round
/// grows it by about 23 MB (the GC's gen0 regions, which an idle Sentry would keep). Half a second to a
/// second after a round the idle reclaim (Kernel/IdleReclaimer.cs) brings it back to start + 2.7 to 3.1 MB:
/// about 1.2 MB of moat's and libc's code read in for the first time (file pages, clean), 1.3 MB of the GC's
/// allocation region and 0.5 MB of its bookkeeping, 0.1 MB of MemoryFile pages the Sentry touched for the
/// still running program. Round to round the settled RSS varied by less than 0.3 MB on a quiet machine.
/// Re-measured with more of the kernel in the binary (permissions, SysV IPC, pidfds, CPU clocks) and the
/// machine busy with other builds: start 8.8 to 9.3 MB, a round peaks at 65 to 77 MB, idle settles at start
/// + 3.4 to 6.4 MB, and round to round it moved by up to 2.4 MB (the session-start binary too). The
/// tolerance, 12 MB, is a fifth of one round's growth, so a Sentry that keeps what a round took still fails;
/// flatness allows 4 MB.
/// On the JIT build (no MOAT_BINARY) the Sentry starts at 44 MB and keeps the code the JIT compiles for
/// paths the load runs first, and in round 2 their tier-1 recompiles: it settles at start + 11 MB after
/// round 1 and + 16 MB after the next ones (+32 to 38 MB without reclaim), so there the tolerance is 24 MB
/// and flatness is checked from round 2 on.
/// </remarks>
public sealed class LoadTests
{
    private const long ToleranceKiB = 12 * 1024;
    private const long JitToleranceKiB = 24 * 1024;
    private const long FlatKiB = 4 * 1024;

    // Reclaim follows a burst by one to two 500 ms periods; a slow shared machine gets more.
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void ThreadsProcessesFiles_Complete_AndSentryRssReturnsNearItsStart()
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
            int sentry = SentryProcess.Find(moat.Id) ?? throw new InvalidOperationException($"no Sentry below pid {moat.Id}");
            bool jit = SentryProcess.IsJit(sentry);
            long tolerance = jit ? JitToleranceKiB : ToleranceKiB;

            // The program waits for its first line: this is the Sentry before any load.
            Thread.Sleep(500);
            long start = Rss(sentry);
            long[] peak = new long[Rounds];
            long[] settled = new long[Rounds];
            for (int round = 0; round < Rounds; round++)
            {
                moat.StandardInput.WriteLine("go");
                moat.StandardInput.Flush();
                Assert.Equal("threads: 200, sum 200000", moat.StandardOutput.ReadLine());
                Assert.Equal("processes: 1000", moat.StandardOutput.ReadLine());
                Assert.Equal("files: 10000 created, 10000 removed", moat.StandardOutput.ReadLine());
                Assert.Equal($"round {round + 1} done", moat.StandardOutput.ReadLine());
                peak[round] = Rss(sentry);
                settled[round] = SettleBelow(sentry, start + tolerance);
            }

            moat.StandardInput.WriteLine("go");
            moat.StandardInput.Flush();
            Assert.True(moat.WaitForExit(60_000));
            Assert.Equal(0, moat.ExitCode);

            string report = $"{(jit ? "JIT" : "Native AOT")} Sentry RSS at start {start} KiB; after each round {string.Join(", ", peak)} KiB; once idle {string.Join(", ", settled)} KiB";
            Assert.True(settled.All(r => r - start <= tolerance), $"the Sentry did not give its memory back within {tolerance} KiB: {report}");
            Assert.True(settled[^1] - settled[jit ? 1 : 0] <= FlatKiB, $"the Sentry's idle RSS grew by more than {FlatKiB} KiB from round to round: {report}");
        }
        finally
        {
            if (!moat.HasExited)
            {
                moat.Kill();
            }
        }
    }

    private static long Rss(int pid) => SentryProcess.StatusKiB(pid, "VmRSS");

    // Waits, with the sandbox idle, until the RSS is at most target or the timeout passes; returns the last reading.
    private static long SettleBelow(int pid, long target)
    {
        var clock = Stopwatch.StartNew();
        long rss = Rss(pid);
        while (rss > target && clock.Elapsed < SettleTimeout)
        {
            Thread.Sleep(200);
            rss = Rss(pid);
        }

        return rss;
    }
}
