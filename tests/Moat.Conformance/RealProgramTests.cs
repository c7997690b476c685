using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>Real programs from the host, unmodified, under <c>moat do</c>.</summary>
public sealed class RealProgramTests
{
    private const string Busybox = "/bin/busybox";

    [Fact]
    public void BusyboxEcho_PrintsHello()
    {
        RunResult r = MoatCli.Do([Busybox, "echo", "hello"], Path.GetTempPath());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hello\n", r.StdoutText);
    }

    [Fact]
    public void BusyboxCat_ReadsAHostFile_LikeNative()
    {
        string file = Path.Combine(HostScratch.NewDirectory("cat"), "input.txt");
        File.WriteAllText(file, "first line\nsecond line\n");
        try
        {
            RunResult native = ProcessRunner.Run(Busybox, ["cat", file], Path.GetTempPath());
            RunResult moat = MoatCli.Do([Busybox, "cat", file], Path.GetTempPath());
            Assert.Equal(native.ExitCode, moat.ExitCode);
            Assert.Equal(native.StdoutText, moat.StdoutText);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void BusyboxCat_MissingFile_FailsLikeNative()
    {
        RunResult native = ProcessRunner.Run(Busybox, ["cat", "/nonexistent/moat"], "/");
        RunResult moat = MoatCli.Do([Busybox, "cat", "/nonexistent/moat"], "/");
        Assert.Equal(native.ExitCode, moat.ExitCode);
        Assert.Contains("No such file or directory", moat.Stderr);
    }

    [Fact]
    public void ProgramOnPath_IsFound()
    {
        // busybox-static installs /bin/busybox; PATH lookup happens inside the sandbox, through the gofer.
        RunResult r = MoatCli.Do(["busybox", "echo", "found"], "/");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("found\n", r.StdoutText);
    }
}
