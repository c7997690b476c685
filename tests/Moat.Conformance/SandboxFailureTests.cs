using System;
using System.Diagnostics;
using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// When the sandbox itself dies (its gofer or its Sentry killed from outside), <c>moat do</c> says which, how
/// and where its log is, in one line, and exits 125: never a status the program could have given.
/// </summary>
public sealed class SandboxFailureTests
{
    [Theory]
    [InlineData("full")]
    [InlineData("gofer")]
    public void GoferKilled_OneLine_Status125(string confine)
    {
        string logs = HostScratch.NewDirectory("logs") + "/";
        using Process moat = Start("--confine=" + confine, "--debug-log", logs);
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        int gofer = Below(moat.Id, " gofer ");
        Assert.Equal(0, Kill(gofer));
        (int status, string stderr) = Finish(moat);
        Assert.Equal(125, status);
        string line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("moat: the gofer was killed by SIGKILL; the sandbox is stopped (debug log: " + Path.GetFullPath(logs), line, StringComparison.Ordinal);
        Assert.EndsWith(".gofer.log)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void SentryKilled_OneLine_Status125()
    {
        using Process moat = Start("--confine=full");
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        Assert.Equal(0, Kill(JailedSentry.Find(moat.Id)));
        (int status, string stderr) = Finish(moat);
        Assert.Equal(125, status);
        string line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("moat: the Sentry was killed by SIGKILL (", line, StringComparison.Ordinal);
    }

    // A Sentry thread that throws and nothing catches (MOAT_FAULT injects one once init runs): the runtime would
    // print the exception on the program's stderr and abort(), which the jailed Sentry, init of its PID namespace,
    // survives only to die of a general protection fault. Instead: the exception in the debug log, one line, 125.
    [Theory]
    [InlineData("full")]
    [InlineData("gofer")]
    public void SentryThreadThrows_ExceptionInTheLog_OneLine_Status125(string confine)
    {
        string logs = HostScratch.NewDirectory("logs") + "/";
        using Process moat = Start(["MOAT_FAULT=sentry-thread"], "--confine=" + confine, "--debug-log", logs);
        (int status, string stderr) = Finish(moat);
        Assert.Equal(125, status);
        string line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        string logFile = confine == "full" ? ".sentry.log" : ".do.log";
        Assert.StartsWith("moat: the Sentry ", line, StringComparison.Ordinal);
        Assert.Contains("(debug log: " + Path.GetFullPath(logs), line, StringComparison.Ordinal);
        Assert.EndsWith(logFile + ")", line, StringComparison.Ordinal);
        string log = File.ReadAllText(Assert.Single(Directory.GetFiles(logs, "*" + logFile)));
        Assert.Contains("the Sentry failed: System.InvalidOperationException on thread moat-fault: an injected fault", log, StringComparison.Ordinal);
        Assert.Contains("   at ", log, StringComparison.Ordinal); // the stack, for whoever reads the log
    }

    // The runtime's own last words (a FailFast, a stack overflow) are written raw on fd 2: in the jailed Sentry
    // that is the debug log's file, never the program's stderr, which the program still has.
    [Fact]
    public void SentryFailFast_TheRuntimesMessageInTheLog_NotOnTheProgramsStderr()
    {
        string logs = HostScratch.NewDirectory("logs") + "/";
        using Process moat = Start(["MOAT_FAULT=sentry-failfast"], "--confine=full", "--debug-log", logs);
        (int status, string stderr) = Finish(moat);
        Assert.Equal(125, status);
        string line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("moat: the Sentry ", line, StringComparison.Ordinal);
        string log = File.ReadAllText(Assert.Single(Directory.GetFiles(logs, "*.sentry.log")));
        Assert.Contains("an injected FailFast (MOAT_FAULT=sentry-failfast)", log, StringComparison.Ordinal);

        RunResult r = MoatCli.Do(["/bin/sh", "-c", "echo to-stderr >&2; echo to-stdout"], "/");
        Assert.Equal("to-stderr\n", r.Stderr);
        Assert.Equal("to-stdout\n", r.StdoutText);
    }

    [Fact]
    public void ProgramKilledBySignal_IsTheProgramsStatus_NotAFailure()
    {
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "kill -9 $$"], "/");
        Assert.Equal(128 + 9, r.ExitCode);
        Assert.Equal(string.Empty, r.Stderr);
        r = MoatCli.Do(["/bin/sh", "-c", "exit 125"], "/");
        Assert.Equal(125, r.ExitCode);
        Assert.Equal(string.Empty, r.Stderr);
    }

    // The process below moat whose command line holds marker (not its namespace launcher).
    private static int Below(int moat, string marker)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            foreach (int pid in JailedSentry.Descendants(moat))
            {
                string cmdline = HostProcesses.CmdLine(pid);
                if (cmdline.Contains(marker, StringComparison.Ordinal) && !cmdline.StartsWith("moat-launcher", StringComparison.Ordinal))
                {
                    return pid;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"no process with '{marker}' below moat");
            System.Threading.Thread.Sleep(50);
        }
    }

    private static int Kill(int pid) => ProcessRunner.Run("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], "/").ExitCode;

    // moat do OPTIONS -- sh -c 'echo ready; read x', with stdout and stderr kept for the test. The shell then
    // waits in a builtin: no file it opens through the gofer can fail with its own message on stderr.
    private static Process Start(params string[] options) => Start([], options);

    private static Process Start(string[] environment, params string[] options)
    {
        (string file, string[] prefix) = MoatCli.Command;
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = HostScratch.Root };
        foreach (string e in environment)
        {
            psi.Environment[e[..e.IndexOf('=', StringComparison.Ordinal)]] = e[(e.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }

        foreach (string a in (string[])[.. prefix, "do", .. options, "--", "/bin/sh", "-c", "echo ready; read x"])
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    private static (int Status, string Stderr) Finish(Process moat)
    {
        Assert.True(moat.WaitForExit(20_000), "moat did not end");
        return (moat.ExitCode, moat.StandardError.ReadToEnd());
    }
}
