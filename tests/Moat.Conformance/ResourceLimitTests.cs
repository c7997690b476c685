using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary><c>moat do --pids N</c>: a process that forks without end is stopped at N tasks with EAGAIN.</summary>
public sealed class ResourceLimitTests
{
    [Fact]
    public void Pids_ForkLoopStopsAtTheLimit_WithEAGAIN_AndRecovers()
    {
        string dir = HostScratch.NewDirectory("pids");
        string src = Path.Combine(dir, "forkloop.c");
        File.WriteAllText(src, """
            #include <errno.h>
            #include <signal.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/wait.h>
            #include <unistd.h>
            int main(void) {
                int n = 0, e = 0;
                pid_t kids[1000];
                for (;;) {
                    pid_t p = fork();
                    if (p < 0) { e = errno; break; }
                    if (p == 0) { pause(); _exit(0); }
                    kids[n++] = p;
                    if (n == 1000) break;
                }
                printf("children: %d, then %s\n", n, e == EAGAIN ? "EAGAIN" : strerror(e));
                for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
                for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
                pid_t p = fork();
                if (p == 0) _exit(0);
                printf("fork after reaping: %s\n", p > 0 ? "ok" : "failed");
                waitpid(p, NULL, 0);
                return 0;
            }
            """);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", Path.Combine(dir, "forkloop"), src], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        RunResult r = MoatCli.Do(["./forkloop"], dir, null, "--pids", "20");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("children: 19, then EAGAIN\nfork after reaping: ok\n", r.StdoutText);
    }

    [Fact]
    public void Pids_NotAPositiveNumber_IsAClearError()
    {
        RunResult r = MoatCli.Do(["/bin/true"], HostScratch.Root, null, "--pids", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--pids", r.Stderr);
    }
}
