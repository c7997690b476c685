using System.IO;
using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>The host never runs the application: no host execve of it, and every syscall is the Sentry's.</summary>
[Collection(CProgramsCollection.Name)]
public sealed class IsolationTests
{
    private readonly CProgramsFixture _programs;

    public IsolationTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    [Fact]
    public void HostStrace_ShowsNoExecveOfTheProgram()
    {
        // -b execve lets go of each process at its execve, so strace does not hold the stub Moat must trace.
        string dir = _programs.Dir("static");
        string trace = Path.Combine(dir, "execve-trace.txt");
        (string moat, string[] prefix) = MoatCli.Command;
        RunResult r = ProcessRunner.Run(
            "strace",
            ["-f", "-b", "execve", "-e", "trace=execve,execveat", "-o", trace, moat, .. prefix, "do", "--", "./hello"],
            dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hello, world\n", r.StdoutText);

        // The file each execve ran: the first quoted argument.
        string[] execs = File.ReadAllLines(trace)
            .Where(l => l.Contains("execve(") || l.Contains("execveat("))
            .Select(l => l.Split('"')[1])
            .ToArray();
        Assert.NotEmpty(execs); // moat itself, its gofer and its stub
        Assert.DoesNotContain(execs, f => f.EndsWith("hello", System.StringComparison.Ordinal));
        Assert.Contains(execs, f => f.StartsWith("/proc/self/fd/", System.StringComparison.Ordinal)); // the stub, from its memfd
    }

    [Fact]
    public void Strace_LogsEachSyscallWithArgumentsAndResult()
    {
        RunResult r = MoatCli.Do(["./hello"], _programs.Dir("static"), null, "--strace");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hello, world\n", r.StdoutText);
        Assert.Contains("write(1, 0x", r.Stderr);
        Assert.Contains("\"hello, world\\n\", 13) = 13", r.Stderr);
        Assert.Contains("exit_group(0)", r.Stderr);
    }

    [Fact]
    public void UnimplementedSyscall_IsENOSYS_AndLoggedOnceByName()
    {
        string dir = _programs.Dir("static");
        string src = Path.Combine(dir, "enosys.c");
        File.WriteAllText(src, """
            #include <stdio.h>
            #include <errno.h>
            #include <unistd.h>
            #include <sys/syscall.h>
            int main(void) {
                for (int i = 0; i < 3; i++) {
                    long r = syscall(SYS_io_uring_setup, 1, NULL);
                    printf("%ld %d\n", r, errno);
                }
                return 0;
            }
            """);
        Assert.Equal(0, ProcessRunner.Run("gcc", ["-static", "-o", "enosys", src], dir).ExitCode);
        string logs = HostScratch.NewDirectory("debug-log") + "/";
        RunResult r = MoatCli.Do(["./enosys"], dir, null, "--debug-log", logs);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("-1 38\n-1 38\n-1 38\n", r.StdoutText);

        // Nothing of Moat's on the program's stderr: the notice is in the Sentry's debug log, once.
        Assert.Equal(string.Empty, r.Stderr);
        string sentryLog = File.ReadAllText(Directory.GetFiles(logs, "*.sentry.log").Single());
        Assert.Single(sentryLog.Split('\n'), l => l.Contains("unimplemented syscall io_uring_setup: returning ENOSYS"));

        // Without a debug log the notice is dropped, still never on stderr.
        r = MoatCli.Do(["./enosys"], dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(string.Empty, r.Stderr);
    }
}
