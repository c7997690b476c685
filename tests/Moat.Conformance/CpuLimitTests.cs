using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat do --cpus N</c>: every thread of the Sentry, the gofer and the stubs runs on N CPUs (an affinity
/// mask set before anything is spawned; this host's cgroup v2 has no cpu controller to give cpu.max), so
/// two threads spinning in the sandbox get one CPU's worth of time under --cpus 1, and the host keeps the rest.
/// </summary>
public sealed class CpuLimitTests
{
    [Fact]
    public void Cpus1_TwoSpinningThreads_GetOneCpu_AndEveryProcessIsOnIt()
    {
        if (Environment.ProcessorCount < 2)
        {
            return; // nothing to hold back on one CPU
        }

        string dir = HostScratch.NewDirectory("cpus");
        string src = Path.Combine(dir, "spin2.c");
        File.WriteAllText(src, """
            #include <pthread.h>
            #include <stdio.h>
            #include <time.h>
            static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
            static double until;
            static void *spin(void *a) { volatile unsigned long n = 0; while (now() < until) n++; return a; }
            int main(void) {
                setvbuf(stdout, NULL, _IONBF, 0);
                pthread_t t[2];
                until = now() + 2.0;
                printf("start\n");
                for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, spin, NULL);
                for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
                printf("spun\n");
                char c;
                return fread(&c, 1, 1, stdin) == 1 ? 0 : 1;
            }
            """);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-pthread", "-o", Path.Combine(dir, "spin2"), src], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        (string file, string[] prefix) = MoatCli.Command;
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir };
        foreach (string a in prefix.Concat(["do", "--cpus", "1", "--", "./spin2"]))
        {
            psi.ArgumentList.Add(a);
        }

        using Process moat = Process.Start(psi)!;
        moat.ErrorDataReceived += (_, _) => { };
        moat.BeginErrorReadLine();
        try
        {
            Assert.Equal("start", moat.StandardOutput.ReadLine());
            var wall = Stopwatch.StartNew();
            int[] sandbox = [moat.Id, .. HostProcesses.Descendants(moat.Id)];
            foreach (int pid in sandbox)
            {
                foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
                {
                    string list = File.ReadAllLines(Path.Combine(task, "status")).Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
                    Assert.Matches(@":\t\d+$", list); // one CPU
                }
            }

            Assert.Equal("spun", moat.StandardOutput.ReadLine());
            double seconds = wall.Elapsed.TotalSeconds + 0.1;
            double cpu = HostProcesses.Descendants(moat.Id).Sum(CpuSeconds);
            Assert.True(cpu < 1.3 * seconds, $"the sandbox used {cpu:F2} s of CPU in {seconds:F2} s under --cpus 1");
            moat.StandardInput.Write('x');
            moat.StandardInput.Close();
            Assert.True(moat.WaitForExit(30_000));
            Assert.Equal(0, moat.ExitCode);
        }
        finally
        {
            if (!moat.HasExited)
            {
                moat.Kill();
            }
        }
    }

    // utime + stime of a process (all its threads), in seconds.
    private static double CpuSeconds(int pid)
    {
        string[]? f = HostProcesses.Stat(pid);
        return f == null ? 0 : (long.Parse(f[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(f[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
    }
}
