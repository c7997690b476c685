using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>Debian's strace and gdb run inside the sandbox, tracing with the Sentry's ptrace(2).</summary>
public sealed class DebuggerTests
{
    private const string Strace = "/usr/bin/strace";
    private const string Gdb = "/usr/bin/gdb";

    [ToolTheory(Strace, "strace")]
    [PlatformData("systrap")]
    [InlineData("ptrace")]
    public void StraceFollowingForks_ShowsExecveAndExitGroup(string platform)
    {
        RunResult r = MoatCli.Do([Strace, "-f", "/bin/true"], Path.GetTempPath(), null, "--platform=" + platform);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("execve(\"/bin/true\", [\"/bin/true\"]", r.Stderr);
        Assert.Contains("exit_group(0)", r.Stderr);
        Assert.Contains("+++ exited with 0 +++", r.Stderr);
    }

    [ToolTheory(Gdb, "gdb")]
    [PlatformData("systrap")]
    [InlineData("ptrace")]
    public void GdbRunAndBacktrace_ShowsTheCrashingFunction(string platform)
    {
        string dir = HostScratch.NewDirectory("gdb");
        File.WriteAllText(Path.Combine(dir, "crasher.c"), """
            __attribute__((noinline)) void crash_here(int *p) { *p = 42; }
            int main(void) { crash_here((int *)16); return 0; }
            """);
        RunResult cc = ProcessRunner.Run("/usr/bin/gcc", ["-g", "-O0", "-o", "crasher", "crasher.c"], dir);
        Assert.Equal(0, cc.ExitCode);
        RunResult r = MoatCli.Do([Gdb, "-batch", "-nx", "-ex", "run", "-ex", "bt", "./crasher"], dir, null, "--platform=" + platform);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Program received signal SIGSEGV", r.StdoutText);
        Assert.Matches(@"#0 +(0x[0-9a-f]+ in )?crash_here \(p=0x10\) at crasher\.c:1", r.StdoutText);
        Assert.Matches(@"#1 +0x[0-9a-f]+ in main \(\) at crasher\.c:2", r.StdoutText);
    }

    /// <summary>A theory that is skipped, with the reason, where the debugger is not installed.</summary>
    private sealed class ToolTheoryAttribute : TheoryAttribute
    {
        public ToolTheoryAttribute(string path, string package)
        {
            if (!File.Exists(path))
            {
                Skip = path + " is not installed (Debian's " + package + " package)";
            }
        }
    }
}
