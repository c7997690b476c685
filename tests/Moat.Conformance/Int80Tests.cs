using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// A 32-bit system call (<c>int 0x80</c>) from a 64-bit process is not served: it answers ENOSYS and the
/// program goes on, as under gVisor's amd64 Sentry (docs/sentry-notes.md). Linux itself would run the i386
/// call, so this cannot be compared with a native run: the answer is asserted here, on both platforms.
/// </summary>
public sealed class Int80Tests
{
    private const string Source = """
        #include <stdio.h>
        #include <unistd.h>
        static long int80(long nr, long a, long b) {
            long r;
            __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
            return r;
        }
        int main(void) {
            /* i386 kill(getpid(), SIGKILL) is 37, x86-64 alarm; i386 getpid is 20, x86-64 writev;
               i386 exit is 1, x86-64 write. None of them may run, in either meaning. */
            printf("kill: %ld\n", int80(37, getpid(), 9));
            printf("getpid: %ld\n", int80(20, 0, 0));
            printf("exit: %ld\n", int80(1, 3, 0));
            printf("alarm pending: %u\n", alarm(0));
            printf("alive\n");
            return 0;
        }
        """;

    [Theory]
    [InlineData("systrap")]
    [InlineData("ptrace")]
    public void Int80_AnswersEnosysAndRunsNothing(string platform)
    {
        string dir = HostScratch.NewDirectory("int80");
        string src = Path.Combine(dir, "int80.c");
        File.WriteAllText(src, Source);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", Path.Combine(dir, "int80"), src], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        string log = Path.Combine(dir, "debug-" + platform + ".log");
        RunResult r = MoatCli.Do([Path.Combine(dir, "int80")], dir, null, "--platform=" + platform, "--debug-log", log);
        Assert.Equal("kill: -38\ngetpid: -38\nexit: -38\nalarm pending: 0\nalive\n", r.StdoutText);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(string.Empty, r.Stderr);
        Assert.Contains("i386 #37", File.ReadAllText(log), System.StringComparison.Ordinal);
    }
}
