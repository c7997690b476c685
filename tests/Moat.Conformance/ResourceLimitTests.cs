using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat do --pids N</c>: a process that forks without end is stopped at N tasks with EAGAIN.
/// <c>moat do --memory SIZE</c>: a process that touches more than SIZE is killed; one that stays below runs.
/// </summary>
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
    public void Memory_HogIsKilled_ProgramWithinTheLimitRuns()
    {
        string dir = HostScratch.NewDirectory("memory");
        string src = Path.Combine(dir, "hog.c");
        File.WriteAllText(src, """
            #include <stdio.h>
            #include <stdlib.h>
            #include <sys/mman.h>
            int main(int argc, char **argv) {
                long mib = atol(argv[1]);
                char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) { printf("mmap failed\n"); return 1; }
                for (long i = 0; i < (mib << 20); i += 4096) p[i] = 1;
                printf("touched %ld MiB\n", mib);
                return 0;
            }
            """);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", Path.Combine(dir, "hog"), src], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        string log = Path.Combine(dir, "debug.log");
        RunResult hog = MoatCli.Do(["./hog", "1024"], dir, null, "--memory", "128M", "--debug-log", log);
        Assert.Equal(128 + 9, hog.ExitCode);
        Assert.Equal(string.Empty, hog.StdoutText);
        Assert.Contains("memory limit", File.ReadAllText(log)); // the debug log's, never the program's stderr

        RunResult small = MoatCli.Do(["./hog", "32"], dir, null, "--memory", "128M");
        Assert.Equal(0, small.ExitCode);
        Assert.Equal("touched 32 MiB\n", small.StdoutText);
    }

    [Fact]
    public void Memory_ACloneVmChildBeyondIt_KillsEveryProcessOfThatMemory()
    {
        // Linux's OOM killer kills every process that uses the victim's mm: the parent sharing it dies with the
        // child that touched too much, while the sandbox's init (a fork, memory of its own) lives on.
        string dir = HostScratch.NewDirectory("memory-shared");
        string src = Path.Combine(dir, "sharedhog.c");
        File.WriteAllText(src, """
            #define _GNU_SOURCE
            #include <sched.h>
            #include <signal.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <sys/mman.h>
            #include <sys/wait.h>
            #include <unistd.h>
            static char stack[1 << 16];
            static int hog(void *arg) {
                (void)arg;
                char *p = mmap(NULL, 1024L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                for (long i = 0; p != MAP_FAILED && i < (1024L << 20); i += 4096) p[i] = 1;
                return 0;
            }
            int main(void) {
                pid_t mid = fork();
                if (mid == 0) {
                    pid_t c = clone(hog, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
                    int st;
                    waitpid(c, &st, 0);
                    printf("the parent survived its child (status %#x)\n", st);
                    return 0;
                }
                int st;
                waitpid(mid, &st, 0);
                printf("parent of the hog: %s %d\n", WIFSIGNALED(st) ? "killed by" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                return 0;
            }
            """);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", Path.Combine(dir, "sharedhog"), src], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        RunResult r = MoatCli.Do(["./sharedhog"], dir, null, "--memory", "128M");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("parent of the hog: killed by 9\n", r.StdoutText);
    }

    [Theory]
    [InlineData("12X")]
    [InlineData("0")]
    [InlineData("")]
    public void Memory_BadSize_IsAClearError(string size)
    {
        RunResult r = MoatCli.Do(["/bin/true"], HostScratch.Root, null, "--memory", size);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--memory", r.Stderr);
    }

    [Fact]
    public void Pids_NotAPositiveNumber_IsAClearError()
    {
        RunResult r = MoatCli.Do(["/bin/true"], HostScratch.Root, null, "--pids", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--pids", r.Stderr);
    }
}
