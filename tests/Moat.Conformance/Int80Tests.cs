using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// A 32-bit system call (<c>int 0x80</c>) from a 64-bit process is not served: it answers ENOSYS and the
/// program goes on, as under gVisor's amd64 Sentry (docs/sentry-notes.md). Linux itself would run the i386
/// call, so this cannot be compared with a native run: the answer is asserted here, on both platforms. On a host
/// kernel without IA32 emulation int 0x80 faults natively (SIGSEGV); under Moat it answers the same as elsewhere.
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

    // Under the application's own seccomp filter an i386 call is seen first, as Linux shows it (arch
    // AUDIT_ARCH_I386, the i386 number, 32-bit argument registers): where the filter answers every i386 call,
    // Moat and Linux agree. Linux's answer is written out below, and the run is also compared with a native one
    // where the host kernel has 32-bit system calls.
    private const string FilteredSource = """
        #include <linux/audit.h>
        #include <linux/filter.h>
        #include <linux/seccomp.h>
        #include <stddef.h>
        #include <stdio.h>
        #include <sys/prctl.h>
        #include <sys/syscall.h>
        #include <sys/wait.h>
        #include <unistd.h>
        static long int80(long nr, long a, long b) {
            long r;
            __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
            return r;
        }
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            /* i386 calls: 20 (getpid) with ebx 0x1234 gets E2BIG, other i386 calls EXDEV, i386 27 (alarm) kills. */
            struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 8),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 27, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 20, 0, 2),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x1234, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 18),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 7),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog p = {sizeof f / sizeof f[0], f};
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            printf("install: %ld\n", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p));
            printf("i386 getpid(0x1234): %ld\n", int80(20, 0x1234, 0));
            printf("i386 getpid(0x1234 + 2^32): %ld\n", int80(20, 0x100001234L, 0));
            printf("i386 getpid(0): %ld\n", int80(20, 0, 0));
            printf("i386 kill: %ld\n", int80(37, getpid(), 9));
            printf("x86-64 getpid works: %d\n", syscall(SYS_getpid) > 0);
            pid_t c = fork();
            if (c == 0) {
                int80(27, 1, 0);
                printf("survived\n");
                _exit(0);
            }
            int st;
            waitpid(c, &st, 0);
            printf("i386 alarm: signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
            return 0;
        }
        """;

    // Linux's run of FilteredSource: E2BIG for getpid(0x1234) (the filter sees only the low 32 bits), EXDEV for
    // the other i386 calls, and the kill action for i386 alarm.
    private const string FilteredAnswer = """
        install: 0
        i386 getpid(0x1234): -7
        i386 getpid(0x1234 + 2^32): -7
        i386 getpid(0): -18
        i386 kill: -18
        x86-64 getpid works: 1
        i386 alarm: signal 31

        """;

    [Theory]
    [PlatformData("systrap")]
    [InlineData("ptrace")]
    public void Int80_UnderASeccompFilter_TheFilterAnswersAsNatively(string platform)
    {
        string dir = HostScratch.NewDirectory("int80");
        string src = Path.Combine(dir, "int80_filtered.c");
        string exe = Path.Combine(dir, "int80_filtered");
        File.WriteAllText(src, FilteredSource);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", exe, src], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        RunResult moat = MoatCli.Do([exe], dir, null, "--platform=" + platform);
        Assert.Equal(FilteredAnswer, moat.StdoutText);
        Assert.Equal(0, moat.ExitCode);

        // A host kernel without IA32 emulation has no gate for int 0x80: natively the first call is a SIGSEGV
        // (the filter never sees it), so there is no native run to compare with; Moat answers the same on any host.
        RunResult native = ProcessRunner.Run(exe, [], dir);
        if (native.ExitCode == 128 + 11 && native.StdoutText == "install: 0\n")
        {
            return;
        }

        Assert.Equal(native.StdoutText, moat.StdoutText);
        Assert.Equal(native.ExitCode, moat.ExitCode);
    }

    [Theory]
    [PlatformData("systrap")]
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
