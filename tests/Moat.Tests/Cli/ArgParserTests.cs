using System.Collections.Generic;
using Moat.Cli;
using Moat.Cli.CommandLine;
using Moat.Cli.Oci;

namespace Moat.Tests.Cli;

/// <summary>The one grammar of every moat command (ArgParser), on the real command specs.</summary>
public sealed class ArgParserTests
{
    // Every option of moat do that takes a value, with one value it accepts.
    public static TheoryData<string, string> DoValues => new()
    {
        { "root", "/" },
        { "volume", "/tmp:/mnt" },
        { "pids", "5" },
        { "memory", "64M" },
        { "cpus", "1" },
        { "confine", "gofer" },
        { "platform", "ptrace" },
        { "hostname", "box" },
        { "network", "host" },
        { "profile", "/tmp/p" },
        { "strace-syscalls", "open,read" },
        { "debug-log", "/tmp/logs/" },
    };

    [Theory]
    [MemberData(nameof(DoValues))]
    public void Parse_DoOptionInBothForms_SameValue(string name, string value)
    {
        ParsedArgs? spaced = ArgParser.Parse(DoOptions.Spec, ["--" + name, value, "cmd", "-x"], out string e1);
        ParsedArgs? joined = ArgParser.Parse(DoOptions.Spec, ["--" + name + "=" + value, "--", "cmd", "-x"], out string e2);
        Assert.True(spaced != null, e1);
        Assert.True(joined != null, e2);
        Assert.Equal(value, spaced.Get(name));
        Assert.Equal(value, joined.Get(name));
        Assert.Equal(new List<string> { "cmd", "-x" }, spaced.Arguments);
        Assert.Equal(new List<string> { "cmd", "-x" }, joined.Arguments);
        Assert.NotNull(DoOptions.Read(spaced, out string error));
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData("strace")]
    [InlineData("debug")]
    public void Parse_DoSwitch_SetAndClearedByFalse(string name)
    {
        Assert.True(ArgParser.Parse(DoOptions.Spec, ["--" + name, "cmd"], out _)!.Has(name));
        Assert.True(ArgParser.Parse(DoOptions.Spec, ["--" + name + "=true", "cmd"], out _)!.Has(name));
        Assert.False(ArgParser.Parse(DoOptions.Spec, ["--" + name, "--" + name + "=false", "cmd"], out _)!.Has(name));
        Assert.Null(ArgParser.Parse(DoOptions.Spec, ["--" + name + "=maybe", "cmd"], out string error));
        Assert.Contains("takes no value", error);
    }

    [Theory]
    [InlineData("profile")]
    [InlineData("hostname")]
    [InlineData("root")]
    public void Parse_ValueOptionBeforeDoubleDash_IsAnErrorNotTheValue(string name)
    {
        Assert.Null(ArgParser.Parse(DoOptions.Spec, ["--" + name, "--", "cmd"], out string error));
        Assert.Equal($"option --{name} needs a value ({DoOptions.Spec.Find(name)!.Value})", error);
        Assert.Null(ArgParser.Parse(DoOptions.Spec, ["--" + name], out error));
        Assert.Contains("needs a value", error);
    }

    [Fact]
    public void Parse_ShortVolume_AllForms()
    {
        ParsedArgs p = ArgParser.Parse(DoOptions.Spec, ["-v", "/a:/b", "-v/c:/d:ro", "--volume=/e:/f", "ls"], out _)!;
        Assert.Equal(new[] { "/a:/b", "/c:/d:ro", "/e:/f" }, p.GetAll("volume"));
    }

    [Fact]
    public void Parse_FirstArgumentEndsOptions()
    {
        ParsedArgs p = ArgParser.Parse(DoOptions.Spec, ["--strace", "ls", "--strace", "--", "-l"], out _)!;
        Assert.Equal(new List<string> { "ls", "--strace", "--", "-l" }, p.Arguments);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("-z")]
    [InlineData("--strac")]
    public void Parse_UnknownOption_NamesIt(string option)
    {
        Assert.Null(ArgParser.Parse(DoOptions.Spec, [option, "cmd"], out string error));
        Assert.Equal($"unknown option '{option}'", error);
    }

    [Fact]
    public void Parse_Help_WinsOverEverythingAfterIt()
    {
        Assert.True(ArgParser.Parse(DoOptions.Spec, ["--strace", "-h", "--bogus"], out _)!.Help);
        Assert.True(ArgParser.Parse(DoOptions.Spec, ["--help"], out _)!.Help);
        Assert.False(ArgParser.Parse(DoOptions.Spec, ["cmd", "--help"], out _)!.Help); // the program's own --help
    }

    [Fact]
    public void Parse_MissingCommand_IsAnError()
    {
        Assert.Null(ArgParser.Parse(DoOptions.Spec, ["--strace"], out string error));
        Assert.Equal("missing COMMAND", error);
    }

    [Fact]
    public void Read_StraceSyscalls_NumbersAndImpliesStrace()
    {
        DoOptions o = DoOptions.Read(ArgParser.Parse(DoOptions.Spec, ["--strace-syscalls=openat,read", "ls"], out _)!, out _)!;
        Assert.True(o.Strace);
        Assert.Equal(new[] { 257, 0 }, o.StraceSyscalls);
        Assert.Null(DoOptions.Read(ArgParser.Parse(DoOptions.Spec, ["--strace-syscalls", "nosuchcall", "ls"], out _)!, out string error));
        Assert.Contains("nosuchcall", error);
    }

    [Theory]
    [InlineData("--root", "/r")]
    [InlineData("-root", "/r")]
    [InlineData("--root=/r", null)]
    [InlineData("-root=/r", null)]
    [InlineData("--log", "/l")]
    [InlineData("--log-format", "json")]
    [InlineData("--criu", "/c")]
    [InlineData("--rootless", "auto")]
    [InlineData("--debug-log", "/d/")]
    [InlineData("--network", "host")]
    [InlineData("--network=sandbox", null)]
    [InlineData("-network=none", null)]
    public void Parse_RuncGlobalFlag_AnySpelling(string flag, string? value)
    {
        string[] args = value == null ? [flag, "state", "x"] : [flag, value, "state", "x"];
        ParsedArgs? p = ArgParser.Parse(RuntimeFlags.Global, args, out string error);
        Assert.True(p != null, error);
        Assert.Equal(new List<string> { "state", "x" }, p.Arguments);
        string name = flag.TrimStart('-').Split('=')[0];
        Assert.Equal(value ?? flag.Split('=')[1], p.Get(name));
    }

    [Theory]
    [InlineData("--debug")]
    [InlineData("--systemd-cgroup")]
    [InlineData("-debug")]
    public void Parse_RuncGlobalSwitch(string flag)
    {
        Assert.True(ArgParser.Parse(RuntimeFlags.Global, [flag, "list"], out _)!.Has(flag.TrimStart('-')));
    }

    [Fact]
    public void Parse_RuncVerbs_ShimSpellings()
    {
        ParsedArgs create = ArgParser.Parse(RuntimeFlags.Verbs["create"], ["--bundle", "/b", "--pid-file=/p", "--console-socket", "/s", "id"], out _)!;
        Assert.Equal("/b", create.Get("bundle"));
        Assert.Equal("/p", create.Get("pid-file"));
        Assert.Equal("/s", create.Get("console-socket"));
        Assert.Equal("id", create.Arguments[0]);
        Assert.Equal("/b", ArgParser.Parse(RuntimeFlags.Verbs["create"], ["-b", "/b", "id"], out _)!.Get("bundle"));
        Assert.Equal("/b", ArgParser.Parse(RuntimeFlags.Verbs["create"], ["-bundle", "/b", "id"], out _)!.Get("bundle"));
        ParsedArgs exec = ArgParser.Parse(RuntimeFlags.Verbs["exec"], ["--process", "/p.json", "--detach", "--pid-file", "/pid", "id"], out _)!;
        Assert.True(exec.Has("detach"));
        Assert.Equal("/p.json", exec.Get("process"));
        Assert.True(ArgParser.Parse(RuntimeFlags.Verbs["delete"], ["--force", "id"], out _)!.Has("force"));
        Assert.True(ArgParser.Parse(RuntimeFlags.Verbs["kill"], ["--all", "id", "9"], out _)!.Has("all"));
        Assert.Equal(new List<string> { "id", "ls", "-l" }, ArgParser.Parse(RuntimeFlags.Verbs["exec"], ["-t", "id", "ls", "-l"], out _)!.Arguments);
    }

    [Fact]
    public void Parse_RuncVerb_MisplacedOptionOrExtraArgument()
    {
        Assert.Null(ArgParser.Parse(RuntimeFlags.Verbs["create"], ["id", "--bundle", "/b"], out string error));
        Assert.Equal("option '--bundle' must come before the arguments", error);
        Assert.Null(ArgParser.Parse(RuntimeFlags.Verbs["start"], ["a", "b"], out error));
        Assert.Equal("unexpected argument 'b'", error);
        Assert.Null(ArgParser.Parse(RuntimeFlags.Verbs["start"], [], out error));
        Assert.Equal("missing ID", error);
    }

    [Fact]
    public void Parse_EveryVerbAndCommand_HasHelp()
    {
        foreach (CommandSpec spec in RuntimeFlags.Verbs.Values)
        {
            Assert.True(ArgParser.Parse(spec, ["--help"], out _)!.Help, spec.Name);
            Assert.True(ArgParser.Parse(spec, ["-h"], out _)!.Help, spec.Name);
        }

        foreach (CommandSpec spec in new[] { DoOptions.Spec, BenchCommand.Spec, GoferCommand.Spec, BootCommand.Spec, ExecProxyCommand.Spec })
        {
            Assert.True(ArgParser.Parse(spec, ["--help"], out _)!.Help, spec.Name);
        }
    }
}
