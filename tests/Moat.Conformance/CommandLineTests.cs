using System;
using System.Collections.Generic;
using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>The command line of the moat binary: help on every command without side effects, errors, --version.</summary>
public sealed class CommandLineTests
{
    private static RunResult Moat(string dir, params string[] args)
    {
        (string file, string[] prefix) = MoatCli.Command;
        return ProcessRunner.Run(file, [.. prefix, .. args], dir);
    }

    public static TheoryData<string> Commands => new()
    {
        "do", "bench", "gofer", "oci-boot", "oci-exec-proxy",
        "create", "start", "run", "state", "kill", "delete", "exec", "ps", "list", "features", "spec", "pause", "resume", "events", "update",
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_PrintsTheCommandsUsage_AndDoesNothingElse(string command)
    {
        string dir = HostScratch.NewDirectory("help");
        string state = Path.Combine(dir, "state");
        foreach (string help in new[] { "--help", "-h" })
        {
            // Arguments after --help that would otherwise act (a bundle, an id) are not looked at.
            RunResult r = Moat(dir, "--root", state, command, help, "--bundle", dir, "some-id");
            if (command is "do" or "bench" or "gofer" or "oci-boot" or "oci-exec-proxy")
            {
                r = Moat(dir, command, help, "--bundle", dir, "some-id");
            }

            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.StartsWith($"usage: moat {command}", r.StdoutText, StringComparison.Ordinal);
            Assert.Contains("--help", r.StdoutText, StringComparison.Ordinal);
            Assert.Equal(string.Empty, r.Stderr);
        }

        // No config.json from spec, no state directory from create or run.
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Help_Overview_ListsEveryCommand()
    {
        foreach (string[] args in new[] { new[] { "--help" }, ["-h"], ["help"] })
        {
            RunResult r = Moat("/", args);
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("moat do", r.StdoutText, StringComparison.Ordinal);
            Assert.Contains("--systemd-cgroup", r.StdoutText, StringComparison.Ordinal);
        }

        RunResult verb = Moat("/", "help", "delete");
        Assert.StartsWith("usage: moat delete", verb.StdoutText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("-v")]
    [InlineData("version")]
    public void Version_PrintsVersionAndCommit(string arg)
    {
        RunResult r = Moat("/", arg);
        Assert.Equal(0, r.ExitCode);
        string[] lines = r.StdoutText.Split('\n');
        Assert.StartsWith("moat version ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("commit: ", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("unknown", lines[1], StringComparison.Ordinal); // the tests run from a git checkout
    }

    [Fact]
    public void Version_AfterRuncGlobalFlags()
    {
        RunResult r = Moat("/", "--root", "/nonexistent-state", "--log-format=json", "--version");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("moat version ", r.StdoutText, StringComparison.Ordinal);
    }

    public static TheoryData<string[]> UnknownOptions => new()
    {
        new[] { "do", "--no-such-option", "--", "/bin/true" },
        new[] { "do", "-Z", "/bin/true" },
        new[] { "bench", "--no-such-option" },
        new[] { "gofer", "--no-such-option" },
        new[] { "--no-such-option", "list" },
        new[] { "list", "--no-such-option" },
        new[] { "create", "--no-such-option", "x" },
        new[] { "create", "x", "--bundle", "/" },
        new[] { "start", "a", "b" },
        new[] { "start" },
        new[] { "no-such-command" },
    };

    [Theory]
    [MemberData(nameof(UnknownOptions))]
    public void WrongCommandLine_OneLineError_Status2(string[] args)
    {
        string dir = HostScratch.NewDirectory("wrong");
        RunResult r = Moat(dir, ["--root", Path.Combine(dir, "state"), .. args]);
        if (args[0] is "do" or "bench" or "gofer")
        {
            r = Moat(dir, args);
        }

        Assert.Equal(2, r.ExitCode);
        Assert.Equal(string.Empty, r.StdoutText);
        Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("moat", r.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Theory]
    [InlineData("--profile")]
    [InlineData("--hostname")]
    [InlineData("--debug-log")]
    public void ValueOption_NeverTakesTheDoubleDash(string option)
    {
        string dir = HostScratch.NewDirectory("dashdash");
        RunResult r = Moat(dir, "do", option, "--", "hostname");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"option {option} needs a value", r.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "--")));
    }

    [Theory]
    [InlineData("--hostname", "box")]
    [InlineData("--hostname=box", null)]
    public void Do_HostnameInBothForms(string option, string? value)
    {
        string[] options = value == null ? [option] : [option, value];
        RunResult r = MoatCli.Do(["hostname"], "/", null, options);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("box\n", r.StdoutText);
    }

    [Fact]
    public void Do_EveryValueOptionInBothForms_Runs()
    {
        string dir = HostScratch.NewDirectory("forms");
        string vol = HostScratch.NewDirectory("vol");
        File.WriteAllText(Path.Combine(vol, "f"), "in the volume\n");
        var options = new List<(string Name, string Value)>
        {
            ("root", "/"), ("volume", vol + ":/mnt/v:ro"), ("pids", "50"), ("memory", "512M"), ("cpus", "1"),
            ("confine", "gofer"), ("platform", "ptrace"), ("hostname", "box"), ("network", "none"),
            ("profile", Path.Combine(dir, "profile.txt")), ("strace-syscalls", "uname"), ("debug-log", Path.Combine(dir, "logs") + "/"),
        };
        foreach (bool joined in new[] { false, true })
        {
            var args = new List<string>();
            foreach ((string name, string value) in options)
            {
                if (joined)
                {
                    args.Add($"--{name}={value}");
                }
                else
                {
                    args.AddRange(["--" + name, value]);
                }
            }

            RunResult r = MoatCli.Do(["/bin/sh", "-c", "hostname; cat /mnt/v/f"], "/", null, [.. args]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("box\nin the volume\n", r.StdoutText);
            Assert.Equal(string.Empty, r.Stderr); // --strace went to the debug log
            Assert.True(File.Exists(Path.Combine(dir, "profile.txt")));
            Assert.Contains(Directory.GetFiles(Path.Combine(dir, "logs"), "*.do.log"), f => File.ReadAllText(f).Contains("uname(", StringComparison.Ordinal));
            File.Delete(Path.Combine(dir, "profile.txt"));
            Directory.Delete(Path.Combine(dir, "logs"), recursive: true);
        }
    }

    [Fact]
    public void Oci_MissingBundle_ErrorInLinuxsWords()
    {
        string dir = HostScratch.NewDirectory("nobundle");
        RunResult r = Moat(dir, "--root", Path.Combine(dir, "state"), "create", "--bundle", "/nonexistent", "x");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("open /nonexistent/config.json: no such file or directory\n", r.Stderr);
    }
}
