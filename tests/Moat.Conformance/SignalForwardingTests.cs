using System.Diagnostics;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// SIGINT and SIGTERM sent to <c>moat do</c> reach the sandboxed program, also while it waits in a read
/// of the host's stdin (which the Sentry must not sit in as an uninterruptible host read).
/// </summary>
public sealed class SignalForwardingTests
{
    [Fact]
    public void Sigint_ReachesAShellWaitingInRead_ItsTrapRuns()
    {
        using Process moat = MoatCli.Start(HostScratch.Root, "/bin/sh", "-c", "trap 'echo got INT; exit 3' INT; echo ready; read line; echo no signal");
        Assert.Equal("ready", ReadLine(moat));
        Send("INT", moat.Id);
        Assert.Equal("got INT", ReadLine(moat));
        Assert.True(moat.WaitForExit(30_000));
        Assert.Equal(3, moat.ExitCode);
    }

    [Fact]
    public void Sigterm_DefaultActionEndsTheProgram_StatusIs143()
    {
        using Process moat = MoatCli.Start(HostScratch.Root, "/bin/sh", "-c", "echo ready; read line");
        Assert.Equal("ready", ReadLine(moat));
        Send("TERM", moat.Id);
        Assert.True(moat.WaitForExit(30_000));
        Assert.Equal(128 + 15, moat.ExitCode);
    }

    // A line of the program's output, or a failure after 30 s (never a hung test run).
    private static string? ReadLine(Process moat)
    {
        System.Threading.Tasks.Task<string?> line = moat.StandardOutput.ReadLineAsync();
        if (!line.Wait(30_000))
        {
            moat.Kill(entireProcessTree: true);
            Assert.Fail("no line from the program within 30 s");
        }

        return line.Result;
    }

    private static void Send(string signal, int pid)
    {
        RunResult r = ProcessRunner.Run("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], HostScratch.Root);
        Assert.Equal(0, r.ExitCode);
    }
}
