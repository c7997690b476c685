using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>--debug-log and --debug: Moat's own log, one file per process and command in a directory, never the program's stderr.</summary>
public sealed class DebugLogTests
{
    [Fact]
    public void Do_DebugLogDirectory_OneFilePerProcess()
    {
        string logs = Path.Combine(HostScratch.NewDirectory("logs"), "new") + "/";
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "echo out; echo err >&2"], "/", null, "--debug", "--debug-log", logs);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("out\n", r.StdoutText);
        Assert.Equal("err\n", r.Stderr);
        string[] files = [.. Directory.GetFiles(logs).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        string id = files[0]!.Split('.')[0];
        Assert.Equal(new[] { $"{id}.do.log", $"{id}.gofer.log", $"{id}.sentry.log" }, files);
        Assert.Contains("moat do --debug", File.ReadAllText(Path.Combine(logs, $"{id}.do.log")), StringComparison.Ordinal);
        Assert.Contains("serving root /", File.ReadAllText(Path.Combine(logs, $"{id}.gofer.log")), StringComparison.Ordinal);
        Assert.Contains("the sandbox ended with status 0", File.ReadAllText(Path.Combine(logs, $"{id}.sentry.log")), StringComparison.Ordinal);
    }

    [Fact]
    public void Do_DebugLogFile_AllProcessesAppendToIt()
    {
        string log = Path.Combine(HostScratch.NewDirectory("logs"), "moat.log");
        RunResult r = MoatCli.Do(["/bin/true"], "/", null, "--debug", "--debug-log=" + log);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string text = File.ReadAllText(log);
        Assert.Contains(" do[", text, StringComparison.Ordinal);
        Assert.Contains(" gofer[", text, StringComparison.Ordinal);
        Assert.Contains(" sentry[", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Do_PsAux_NothingOfMoatsOnStderr()
    {
        RunResult r = MoatCli.Do(["ps", "aux"], "/");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("PID", r.StdoutText, StringComparison.Ordinal);
        Assert.Equal(string.Empty, r.Stderr);
    }

    [Fact]
    public void Do_Strace_ToTheDebugLog_FilteredByName()
    {
        string log = Path.Combine(HostScratch.NewDirectory("logs"), "strace.log");
        RunResult r = MoatCli.Do(["/bin/echo", "hi"], "/", null, "--strace-syscalls", "write", "--debug-log", log);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("hi\n", r.StdoutText);
        Assert.Equal(string.Empty, r.Stderr);
        string[] traced = [.. File.ReadAllLines(log).Where(l => l.Contains("] ", StringComparison.Ordinal) && l.Contains('(', StringComparison.Ordinal))];
        Assert.Contains(traced, l => l.Contains("write(1, ", StringComparison.Ordinal) && l.Contains(") = 3", StringComparison.Ordinal));
        Assert.DoesNotContain(traced, l => l.Contains("openat(", StringComparison.Ordinal) || l.Contains("mmap(", StringComparison.Ordinal));

        // Without a debug log --strace keeps writing to moat's stderr.
        r = MoatCli.Do(["/bin/echo", "hi"], "/", null, "--strace-syscalls=write");
        Assert.Contains("write(1, ", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("openat(", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Oci_DebugLogDirectory_FilesForCreateStartExecAndTheSandbox()
    {
        string bundle = HostScratch.NewDirectory("bundle");
        string bin = Path.Combine(bundle, "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        foreach (string applet in OciImage.Applets)
        {
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        }

        Assert.Equal(0, ProcessRunner.Run("runc", ["spec"], bundle).ExitCode);
        string config = Path.Combine(bundle, "config.json");
        JsonNode spec = JsonNode.Parse(File.ReadAllText(config))!;
        spec["process"]!["terminal"] = false;
        spec["process"]!["args"] = new JsonArray("sleep", "60");
        File.WriteAllText(config, spec.ToJsonString());

        string state = HostScratch.NewDirectory("state");
        string logs = HostScratch.NewDirectory("logs") + "/";
        string id = "dbg-" + Guid.NewGuid().ToString("N")[..8];
        RunResult r = Oci(state, logs, "create", "--bundle", bundle, id);
        try
        {
            Assert.True(r.ExitCode == 0, r.Stderr);
            r = Oci(state, logs, "start", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            r = Oci(state, logs, "exec", id, "echo", "from exec");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("from exec\n", r.StdoutText);
        }
        finally
        {
            Oci(state, logs, "delete", "--force", id);
        }

        foreach (string command in new[] { "create", "start", "exec", "delete", "boot", "gofer", "sentry" })
        {
            Assert.True(File.Exists(Path.Combine(logs, $"{id}.{command}.log")), $"{id}.{command}.log in {string.Join(' ', Directory.GetFiles(logs))}");
        }

        Assert.Contains($"moat --root {state} --debug --debug-log {logs} create", File.ReadAllText(Path.Combine(logs, $"{id}.create.log")), StringComparison.Ordinal);
        Assert.Contains("exec ends with status 0", File.ReadAllText(Path.Combine(logs, $"{id}.exec.log")), StringComparison.Ordinal);
    }

    private static RunResult Oci(string state, string logs, params string[] args)
    {
        (string file, string[] prefix) = MoatCli.Command;
        string dir = HostScratch.NewDirectory("io");
        string[] all = ["-c", "exec \"$@\" </dev/null >'" + dir + "/out' 2>'" + dir + "/err'", "sh", file, .. prefix, "--root", state, "--debug", "--debug-log", logs, .. args];
        RunResult r = ProcessRunner.Run("/bin/sh", all, dir, null, 60_000);
        return new RunResult(File.ReadAllBytes(Path.Combine(dir, "out")), File.ReadAllText(Path.Combine(dir, "err")), r.ExitCode);
    }
}
