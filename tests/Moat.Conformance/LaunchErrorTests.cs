using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>What <c>moat do</c> says, and returns, when the program cannot run.</summary>
public sealed class LaunchErrorTests
{
    [Fact]
    public void MissingProgram_Exits127()
    {
        RunResult r = MoatCli.Do(["/no/such/program"], "/");
        Assert.Equal(127, r.ExitCode);
        Assert.Contains("No such file or directory", r.Stderr);
    }

    [Fact]
    public void UnknownCommand_Exits127()
    {
        RunResult r = MoatCli.Do(["moat-no-such-command"], "/");
        Assert.Equal(127, r.ExitCode);
        Assert.Contains("command not found", r.Stderr);
    }

    [Fact]
    public void NonElfExecutable_Exits126WithReason()
    {
        string file = WriteExecutable("garbage", [1, 2, 3, 4, 5, 6, 7, 8]);
        RunResult r = MoatCli.Do([file], "/");
        Assert.Equal(126, r.ExitCode);
        Assert.Contains("not an ELF file", r.Stderr);
    }

    [Fact]
    public void WrongArchitecture_Exits126WithReason()
    {
        byte[] elf = new byte[64];
        elf[0] = 0x7f;
        elf[1] = (byte)'E';
        elf[2] = (byte)'L';
        elf[3] = (byte)'F';
        elf[4] = 2;
        elf[5] = 1;
        elf[6] = 1;
        elf[16] = 2; // ET_EXEC
        elf[18] = 183; // EM_AARCH64
        string file = WriteExecutable("aarch64", elf);
        RunResult r = MoatCli.Do([file], "/");
        Assert.Equal(126, r.ExitCode);
        Assert.Contains("wrong architecture", r.Stderr);
    }

    [Fact]
    public void TruncatedElf_Exits126WithReason()
    {
        byte[] elf = File.ReadAllBytes("/bin/busybox")[..200];
        string file = WriteExecutable("truncated", elf);
        RunResult r = MoatCli.Do([file], "/");
        Assert.Equal(126, r.ExitCode);
        Assert.Contains("truncated", r.Stderr);
    }

    [Fact]
    public void Script_RunsItsInterpreter()
    {
        string file = WriteExecutable("script", System.Text.Encoding.ASCII.GetBytes("#!/bin/busybox echo\n"));
        RunResult r = MoatCli.Do([file, "arg"], "/");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(file + " arg\n", r.StdoutText);
    }

    private static string WriteExecutable(string name, byte[] content)
    {
        string dir = HostScratch.NewDirectory("launch");
        string file = Path.Combine(dir, name);
        File.WriteAllBytes(file, content);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return file;
    }
}
