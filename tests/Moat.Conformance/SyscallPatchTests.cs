using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// Syscall-site patching on systrap (MOAT_SYSTRAP_PATCH=1, docs/systrap-platform.md "Syscall-site patching"): the
/// conformance programs of the areas patching touches (signals in the middle of a call, fork, exec, memory
/// changes of code, ptrace, seccomp, threads, futexes) still match native Linux with it on, and sites do get
/// patched.
/// </summary>
[Collection(CProgramsCollection.Name)]
public sealed class SyscallPatchTests
{
    private static readonly string[] s_programs =
    [
        "patch_storm", "signals", "sigwait", "rtqueue", "signalfd", "stop_restart", "abort", "segv", "faults",
        "process", "cow", "exec_self", "setid_exec", "mmap", "mremap", "mlock", "shared_map", "unmap_all", "mm_race",
        "ptrace", "seccomp_filter", "threads", "futex", "futex_ops", "robust_futex", "pi_futex", "vdso", "itimer_cpu",
        "exit_code",
    ];

    private static readonly Dictionary<string, string> s_env = new()
    {
        ["MOAT_TEST_A"] = "alpha",
        ["MOAT_TEST_B"] = "beta gamma",
    };

    private static readonly Dictionary<string, string> s_patchEnv = new(s_env)
    {
        ["MOAT_SYSTRAP_PATCH"] = "1",
    };

    private readonly CProgramsFixture _programs;

    public SyscallPatchTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string flavour in CProgramsFixture.Flavours)
        {
            foreach ((string name, string[] args) in CProgramsFixture.Cases().Where(c => s_programs.Contains(c.Name)))
            {
                data.Add(flavour, name, string.Join(' ', args));
            }
        }

        return data;
    }

    [SystrapTheory]
    [MemberData(nameof(Cases))]
    public void Program_WithPatching_MatchesNative(string flavour, string name, string args)
    {
        string dir = _programs.Dir(flavour);
        string[] argv = args.Length == 0 ? [] : args.Split(' ');
        RunResult native = ProcessRunner.Run(Path.Combine(dir, name), argv, dir, s_env);
        RunResult moat = MoatCli.Do([$"./{name}", .. argv], dir, s_patchEnv, "--platform=systrap");

        Assert.True(
            native.ExitCode == moat.ExitCode,
            $"exit status: native {native.ExitCode}, moat {moat.ExitCode}\nmoat stderr:\n{moat.Stderr}");
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [SystrapTheory]
    [InlineData("static")]
    [InlineData("static-pie")]
    [InlineData("dynamic")]
    public void Sites_ArePatched_OnlyWithTheSwitch(string flavour)
    {
        string dir = _programs.Dir(flavour);
        Assert.Equal("syscall table: no\n", ProcessRunner.Run(Path.Combine(dir, "patch_storm"), ["table"], dir).StdoutText);
        Assert.Equal("syscall table: no\n", MoatCli.Do(["./patch_storm", "table"], dir, null, "--platform=systrap").StdoutText);
        Assert.Equal("syscall table: yes\n", MoatCli.Do(["./patch_storm", "table"], dir, s_patchEnv, "--platform=systrap").StdoutText);
    }
}
