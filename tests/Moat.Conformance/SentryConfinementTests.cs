using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat do --confine=full</c>: the Sentry runs under its own seccomp allow-list (and no_new_privs on
/// every thread). Every conformance program (static flavour), a shell pipeline and python3 with threads
/// run under it and must still match native: the allow-list is measured, and this is where a missing
/// entry shows (the Sentry is killed with SIGSYS).
/// </summary>
[Collection(CProgramsCollection.Name)]
public sealed class SentryConfinementTests
{
    private readonly CProgramsFixture _programs;

    public SentryConfinementTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        // The dynamic flavour passes too (run by hand); CI keeps to one flavour, as timing-sensitive programs
        // (jobctl's native side races on a loaded machine) would otherwise run twice more.
        foreach (string flavour in new[] { "static" })
        {
            foreach ((string name, string[] args) in CProgramsFixture.Cases())
            {
                data.Add(flavour, name, string.Join(' ', args));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Program_UnderSentryFilter_MatchesNative(string flavour, string name, string args)
    {
        string dir = _programs.Dir(flavour);
        string[] argv = args.Length == 0 ? [] : args.Split(' ');
        RunResult native = ProcessRunner.Run(Path.Combine(dir, name), argv, dir);
        RunResult moat = MoatCli.Do([$"./{name}", .. argv], dir, null, "--confine=full");
        Assert.True(native.ExitCode == moat.ExitCode, $"exit status: native {native.ExitCode}, moat {moat.ExitCode}\nmoat stderr:\n{moat.Stderr}");
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void ShellPipelineAndPythonThreads_RunUnderTheFilter()
    {
        RunResult r = MoatCli.Do(
            ["/bin/sh", "-c", "echo abc | tr a-z A-Z; ls / | grep -c . >/dev/null && echo listed; python3 -c 'import threading; t = threading.Thread(target=print, args=(42,)); t.start(); t.join()'"],
            HostScratch.Root,
            null,
            "--confine=full");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("ABC\nlisted\n42\n", r.StdoutText);
    }

    [Fact]
    public void Sentry_IsJailed_FilterNamespacesEmptyRootNoCapabilities()
    {
        using Process moat = StartSleeper();
        try
        {
            Assert.Equal("ready", moat.StandardOutput.ReadLine());
            JailedSentry.AssertJailed(JailedSentry.Find(moat.Id));
        }
        finally
        {
            moat.Kill();
            moat.WaitForExit();
        }
    }

    [Fact]
    public void JailedSentry_SignalsAreForwarded_AndStatusPassesThrough()
    {
        using Process moat = MoatCli.StartWithOptions(HostScratch.Root, ["--confine=full"], "/bin/sh", "-c", "trap 'echo got TERM; exit 5' TERM; echo ready; read line");
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        Assert.Equal(0, ProcessRunner.Run("kill", ["-TERM", moat.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], HostScratch.Root).ExitCode);
        Assert.Equal("got TERM", moat.StandardOutput.ReadLine());
        Assert.True(moat.WaitForExit(30_000));
        Assert.Equal(5, moat.ExitCode);
    }

    [Fact]
    public void JailedSentry_SigkillOfMoat_LeavesNoProcessBehind()
    {
        using Process moat = StartSleeper();
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        int[] tree = JailedSentry.Descendants(moat.Id).ToArray();
        Assert.NotEmpty(tree);
        ProcessRunner.Run("kill", ["-KILL", moat.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], HostScratch.Root);
        moat.WaitForExit();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (tree.Any(Alive) && DateTime.UtcNow < deadline)
        {
            System.Threading.Thread.Sleep(50);
        }

        Assert.DoesNotContain(tree, Alive);
    }

    private static Process StartSleeper() => MoatCli.StartWithOptions(HostScratch.Root, ["--confine=full"], "/bin/sh", "-c", "echo ready; read line");

    private static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
}
