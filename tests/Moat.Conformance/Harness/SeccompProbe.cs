using System.IO;

namespace Moat.Conformance.Harness;

/// <summary>
/// A static probe for the seccomp tests: each call's errno (or ok), with arguments chosen so that unfiltered
/// calls answer the same under runc and moat; with "kill" it makes the call the tests' profile kills for.
/// </summary>
internal static class SeccompProbe
{
    private const string Source = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <sched.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        static void show(const char *what, long r) {
            if (r < 0) printf("%s: errno %d\n", what, errno);
            else printf("%s: ok\n", what);
        }
        int main(int argc, char **argv) {
            if (argc > 1 && strcmp(argv[1], "kill") == 0) {
                syscall(SYS_sysinfo, 0);
                printf("survived\n");
                return 0;
            }
            show("mkdir", syscall(SYS_mkdir, "/tmp/seccomp-d", 0755));
            show("mkdirat", syscall(SYS_mkdirat, AT_FDCWD, "/dev/shm/seccomp-d", 0755));
            show("unshare user", syscall(SYS_unshare, CLONE_NEWUSER));
            show("keyctl", syscall(SYS_keyctl, 0, -3, 0));
            show("add_key", syscall(SYS_add_key, "user", "moat", "x", 1, -3));
            show("getpgid 424242 (EQ)", syscall(SYS_getpgid, 424242));
            show("getpgid 424242 + 2^32 (EQ)", syscall(SYS_getpgid, 424242UL | (1UL << 32)));
            show("getsid 0 (NE)", syscall(SYS_getsid, 0));
            show("getsid 424242 (NE)", syscall(SYS_getsid, 424242));
            show("sched_getscheduler 0 (LT)", syscall(SYS_sched_getscheduler, 0));
            show("sched_getscheduler 424242 (LT)", syscall(SYS_sched_getscheduler, 424242));
            show("umask 0777 (MASKED_EQ)", syscall(SYS_umask, 0777));
            show("umask 022 (MASKED_EQ)", syscall(SYS_umask, 022));
            show("getpriority 0 424242 (LE, GE)", syscall(SYS_getpriority, 0, 424242));
            show("getpriority 0 0 (LE, GE)", syscall(SYS_getpriority, 0, 0));
            show("getpriority 1 424243 (LE, GE)", syscall(SYS_getpriority, 1, 424243));
            show("setpgid 0 424242 (GT)", syscall(SYS_setpgid, 424242, 0));
            show("dup 100 (EQ or EQ)", syscall(SYS_dup, 100));
            show("dup 101 (EQ or EQ)", syscall(SYS_dup, 101));
            show("dup 102 (EQ or EQ)", syscall(SYS_dup, 102));
            show("getppid (allowed)", syscall(SYS_getppid));
            return 0;
        }
        """;

    /// <summary>Compiles the probe (static) as <paramref name="dir"/>/probe.</summary>
    public static void Build(string dir)
    {
        string src = Path.Combine(HostScratch.NewDirectory("probe-src"), "probe.c");
        File.WriteAllText(src, Source);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", Path.Combine(dir, "probe"), src], dir);
        Assert.True(cc.ExitCode == 0, "gcc: " + cc.Stderr);
    }
}
