using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// Calls into the vsyscall page (0xffffffffff600000, ...400, ...800: gettimeofday, time, getcpu), which old
/// static binaries make, answer under Moat as natively on both platforms. What the page does is the host
/// kernel's choice (vsyscall=xonly, the default, or emulate: both emulate the calls; none: no page), so the
/// test runs only where the host has the page, and compares with a native run.
/// </summary>
public sealed class VsyscallTests
{
    private const string Source = """
        #include <stdio.h>
        #include <time.h>
        #include <sys/time.h>
        typedef long (*gtod_fn)(struct timeval *, void *);
        typedef long (*time_fn)(long *);
        typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            struct timeval tv = {0};
            long now = time(NULL);
            long r = ((gtod_fn)0xffffffffff600000UL)(&tv, NULL);
            printf("gettimeofday: %ld, now: %s\n", r, tv.tv_sec >= now - 2 && tv.tv_sec <= now + 2 ? "yes" : "no");
            long stored = 0;
            long t = ((time_fn)0xffffffffff600400UL)(&stored);
            printf("time: now %s, stored %s\n", t >= now - 2 && t <= now + 2 ? "yes" : "no", stored == t ? "yes" : "no");
            printf("time NULL: %s\n", ((time_fn)0xffffffffff600400UL)(NULL) >= now ? "yes" : "no");
            unsigned cpu = ~0u, node = ~0u;
            r = ((getcpu_fn)0xffffffffff600800UL)(&cpu, &node, NULL);
            printf("getcpu: %ld, cpu %s, node %s\n", r, cpu < 4096 ? "ok" : "bad", node < 1024 ? "ok" : "bad");
            printf("gettimeofday bad pointer: %ld\n", ((gtod_fn)0xffffffffff600000UL)((struct timeval *)8, NULL));
            return 0;
        }
        """;

    // The same calls under the application's own seccomp filter: it sees them as the syscalls they stand for,
    // with the page's address as the instruction pointer, and its errno returns to the caller as it is.
    private const string FilteredSource = """
        #include <linux/filter.h>
        #include <linux/seccomp.h>
        #include <stddef.h>
        #include <stdio.h>
        #include <sys/prctl.h>
        #include <sys/syscall.h>
        #include <sys/time.h>
        #include <unistd.h>
        typedef long (*gtod_fn)(struct timeval *, void *);
        typedef long (*time_fn)(long *);
        typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_gettimeofday, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 14),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_time, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 18),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getcpu, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xff600800u, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 7),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog p = {sizeof f / sizeof f[0], f};
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            printf("install: %ld\n", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p));
            struct timeval tv = {0};
            printf("vsyscall gettimeofday ERRNO(EFAULT): %ld\n", ((gtod_fn)0xffffffffff600000UL)(&tv, NULL));
            printf("vsyscall time ERRNO(EXDEV): %ld\n", ((time_fn)0xffffffffff600400UL)(NULL));
            unsigned cpu = ~0u, node = ~0u;
            printf("vsyscall getcpu, ip in the page: %ld\n", ((getcpu_fn)0xffffffffff600800UL)(&cpu, &node, NULL));
            printf("getcpu as a syscall: %ld\n", syscall(SYS_getcpu, &cpu, &node, NULL));
            return 0;
        }
        """;

    [VsyscallTheory]
    [PlatformData("systrap")]
    [InlineData("ptrace")]
    public void VsyscallCalls_MatchNative(string platform) => CompareWithNative(Source, platform);

    [VsyscallTheory]
    [PlatformData("systrap")]
    [InlineData("ptrace")]
    public void VsyscallCalls_UnderASeccompFilter_MatchNative(string platform) => CompareWithNative(FilteredSource, platform);

    private static void CompareWithNative(string source, string platform)
    {
        string dir = HostScratch.NewDirectory("vsyscall");
        string src = Path.Combine(dir, "vsyscall.c");
        string exe = Path.Combine(dir, "vsyscall");
        File.WriteAllText(src, source);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", exe, src], dir);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        RunResult native = ProcessRunner.Run(exe, [], dir);
        RunResult moat = MoatCli.Do([exe], dir, null, "--platform=" + platform);
        Assert.Equal(native.StdoutText, moat.StdoutText);
        Assert.Equal(native.ExitCode, moat.ExitCode);
    }

    /// <summary>A theory that is skipped, with the reason, where the host maps no vsyscall page.</summary>
    private sealed class VsyscallTheoryAttribute : TheoryAttribute
    {
        public VsyscallTheoryAttribute()
        {
            if (!File.ReadAllText("/proc/self/maps").Contains("[vsyscall]", System.StringComparison.Ordinal))
            {
                Skip = "the host maps no vsyscall page (booted with vsyscall=none): calls into it fault natively too";
            }
        }
    }
}
