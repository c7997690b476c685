using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// Each C program runs natively and under <c>moat do</c>; stdout (byte for byte) and the exit status must
/// match. This is how "works like Linux" is checked.
/// </summary>
[Collection(CProgramsCollection.Name)]
public sealed class ConformanceTests
{
    private static readonly Dictionary<string, string> s_env = new()
    {
        ["MOAT_TEST_A"] = "alpha",
        ["MOAT_TEST_B"] = "beta gamma",
    };

    private readonly CProgramsFixture _programs;

    public ConformanceTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string flavour in CProgramsFixture.Flavours)
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
    public void Program_UnderMoat_MatchesNative(string flavour, string name, string args)
    {
        string dir = _programs.Dir(flavour);
        string[] argv = args.Length == 0 ? [] : args.Split(' ');
        RunResult native = ProcessRunner.Run(Path.Combine(dir, name), argv, dir, s_env);
        RunResult moat = MoatCli.Do([$"./{name}", .. argv], dir, s_env);

        Assert.True(
            native.ExitCode == moat.ExitCode,
            $"exit status: native {native.ExitCode}, moat {moat.ExitCode}\nmoat stderr:\n{moat.Stderr}");
        if (!native.Stdout.AsSpan().SequenceEqual(moat.Stdout))
        {
            Assert.Equal(Truncate(native.StdoutText), Truncate(moat.StdoutText));
            Assert.Fail($"stdout differs in bytes ({native.Stdout.Length} native, {moat.Stdout.Length} moat)");
        }
    }

    private static string Truncate(string s) => s.Length > 4000 ? s[..4000] : s;
}
