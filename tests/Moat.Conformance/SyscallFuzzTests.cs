using System;
using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// Random syscalls with random arguments from several threads (fuzz/syscall_fuzz.c), each round SIGKILLed
/// after a time slice: the Sentry must survive every round, end every blocked call, and never log an
/// internal error. Reproducible: the seed is in the test's name; MOAT_FUZZ_SEED adds a run of your own.
/// </summary>
public sealed class SyscallFuzzTests
{
    private static readonly Lazy<string> s_fuzzer = new(Build);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Fuzz_SentrySurvivesEveryRound(ulong seed)
    {
        RunAndCheck(seed);
    }

    [Fact]
    public void Fuzz_SeedFromEnvironment()
    {
        if (ulong.TryParse(Environment.GetEnvironmentVariable("MOAT_FUZZ_SEED"), out ulong seed))
        {
            RunAndCheck(seed);
        }
    }

    private static void RunAndCheck(ulong seed)
    {
        const int Rounds = 12;
        RunResult r = MoatCli.Do([s_fuzzer.Value, seed.ToString(System.Globalization.CultureInfo.InvariantCulture), Rounds.ToString(System.Globalization.CultureInfo.InvariantCulture), "250", "4"], HostScratch.Root);
        Assert.True(r.ExitCode == 0, $"seed {seed}: exit {r.ExitCode}\n{r.StdoutText}\n{r.Stderr}");
        Assert.Contains($"fuzz done: {Rounds} rounds", r.StdoutText);
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    private static string Build()
    {
        string dir = HostScratch.NewDirectory("fuzz");
        string src = Path.Combine(AppContext.BaseDirectory, "fuzz", "syscall_fuzz.c");
        string exe = Path.Combine(dir, "syscall_fuzz");
        RunResult r = ProcessRunner.Run("gcc", ["-static", "-O1", "-pthread", "-o", exe, src], dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return exe;
    }
}
