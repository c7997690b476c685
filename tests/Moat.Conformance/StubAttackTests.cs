using System;
using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// The app attacks the platform's own code in its address space (attacks/stub_jump.c): it jumps into the
/// stub's injection site with registers asking the host to map the MemoryFile or the sysmsg file, and it
/// scrambles the systrap hand-off regions from a second thread. On both platforms the jump must come back
/// as an emulated syscall with no host mapping (the CPU checks: the target address still faults), and a
/// scrambled hand-off may cost the app its process, never the Sentry. Systrap's mapper thread takes requests
/// only from a page the app cannot write, and wake-ups the app forges make it run nothing.
/// </summary>
public sealed class StubAttackTests
{
    private static readonly Lazy<string> s_program = new(Build);

    [Theory]
    [InlineData("ptrace")]
    [PlatformData("systrap")]
    public void JumpIntoStub_GetsAnEmulatedSyscall_NotAHostMapping(string platform)
    {
        RunResult r = MoatCli.Do([s_program.Value], HostScratch.Root, null, "--platform=" + platform);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.StdoutText}\n{r.Stderr}");
        Assert.Equal(
            "mmap of fd 3 through the stub: EBADF; readable: no\n" +
            "mmap of fd 4 through the stub: EBADF; readable: no\n" +
            "getpid through the stub: the sandbox's pid\n",
            r.StdoutText);
    }

    [Theory]
    [InlineData("ptrace")]
    [PlatformData("systrap")]
    public void ScrambledHandOff_CostsTheProcessAtMost(string platform)
    {
        RunResult r = MoatCli.Do([s_program.Value, "scribble"], HostScratch.Root, null, "--platform=" + platform);

        // Either the scrambling never hit a live hand-off, or the Sentry killed the process for it.
        Assert.True(r.ExitCode == 0 || r.ExitCode == 128 + 9, $"exit {r.ExitCode}\n{r.StdoutText}\n{r.Stderr}");
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    [Theory]
    [InlineData("ptrace")]
    [PlatformData("systrap")]
    public void MapperRequests_CannotBeWrittenOrForged(string platform)
    {
        RunResult r = MoatCli.Do([s_program.Value, "mapper"], HostScratch.Root, null, "--platform=" + platform);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.StdoutText}\n{r.Stderr}");
        Assert.Equal(
            "mapper request page writable: no\n" +
            "forged wake-ups: fresh pages not zero: 0, unmapped pages readable: 0\n",
            r.StdoutText);
    }

    private static string Build()
    {
        string dir = HostScratch.NewDirectory("attacks");
        string src = Path.Combine(AppContext.BaseDirectory, "attacks", "stub_jump.c");
        string exe = Path.Combine(dir, "stub_jump");
        RunResult r = ProcessRunner.Run("gcc", ["-static", "-O1", "-pthread", "-o", exe, src], dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return exe;
    }
}
