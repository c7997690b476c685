using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>Shells under <c>moat do</c>: pipelines, subshells, background jobs, traps, command substitution.</summary>
public sealed class ShellTests
{
    private const string Script =
        "for i in 1 2 3; do echo $i | cat; done; sleep 0.1 & wait; (exit 3); echo $?; " +
        "trap \"echo got\" USR1; kill -USR1 $$; echo $(echo sub); echo hidden > /dev/null; " +
        "x=$(expr 2 + 3); echo $x; false || echo or; true && echo and";

    [Theory]
    [InlineData("/bin/sh")]
    [InlineData("/bin/busybox")]
    public void Script_UnderMoat_MatchesNative(string shell)
    {
        string[] args = shell.EndsWith("busybox", System.StringComparison.Ordinal) ? ["sh", "-c", Script] : ["-c", Script];
        string dir = Path.GetTempPath();

        RunResult native = ProcessRunner.Run(shell, args, dir);
        RunResult moat = MoatCli.Do([shell, .. args], dir);
        Assert.Equal(native.ExitCode, moat.ExitCode);
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void ExitStatus_OfTheShell_IsMoatsExitStatus()
    {
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "exit 42"], Path.GetTempPath());
        Assert.Equal(42, r.ExitCode);
    }

    [Fact]
    public void KilledChild_IsReportedToTheShell()
    {
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "sh -c 'kill -TERM $$'; echo status $?"], Path.GetTempPath());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("status 143\n", r.StdoutText);
    }

    [Fact]
    public void StoppedChild_ResumesAndDiesOfSigkill()
    {
        const string script = "sleep 3 & p=$!; kill -STOP $p; kill -CONT $p; kill -STOP $p; kill -KILL $p; wait $p; echo status $?";
        RunResult r = MoatCli.Do(["/bin/sh", "-c", script], Path.GetTempPath());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("status 137\n", r.StdoutText);
    }
}
