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
    public void Sentry_HasTheFilterAndNoNewPrivs_OnEveryThread()
    {
        (string file, string[] prefix) = MoatCli.Command;
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in prefix.Concat(["do", "--confine=full", "--", "/bin/sh", "-c", "echo ready; read line"]))
        {
            psi.ArgumentList.Add(a);
        }

        psi.RedirectStandardInput = true;
        using Process moat = Process.Start(psi)!;
        moat.ErrorDataReceived += (_, _) => { };
        moat.BeginErrorReadLine();
        try
        {
            Assert.Equal("ready", moat.StandardOutput.ReadLine());
            string[] threads = Directory.GetDirectories($"/proc/{moat.Id}/task");
            Assert.NotEmpty(threads);
            foreach (string t in threads)
            {
                string status = File.ReadAllText(Path.Combine(t, "status"));
                Assert.Contains("Seccomp:\t2", status);
                Assert.Contains("NoNewPrivs:\t1", status);
            }
        }
        finally
        {
            moat.Kill();
            moat.WaitForExit();
        }
    }
}
