using System;
using System.Collections.Generic;
using System.Linq;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Tests.Bench;

public sealed class ScheduleTests
{
    private static Workload W(string name) => new(name, "c", "d", "ns/op", MeasureKind.Reported, ["x"], ["x"]);

    [Fact]
    public void Interleave_EveryRunnerEachRound_BeforeTheNextWorkload()
    {
        Runner moat = new("moat", ["moat", "do", "--"]);
        Runner other = new("other", ["other"]);
        List<Trial> trials = Schedule.Interleave([W("a"), W("b")], [Runner.Native, moat, other], 2).ToList();

        string[] order = trials.Select(t => $"{t.Workload.Name}:{t.Repetition}:{t.Runner.Name}").ToArray();
        Assert.Equal(
            new[]
            {
                "a:0:native", "a:0:moat", "a:0:other", "a:1:native", "a:1:moat", "a:1:other",
                "b:0:native", "b:0:moat", "b:0:other", "b:1:native", "b:1:moat", "b:1:other",
            },
            order);
    }

    [Fact]
    public void RunnerParse_SplitsNameAndPrefixWords()
    {
        Runner r = Runner.Parse("runsc=runsc --network=none  do");
        Assert.Equal("runsc", r.Name);
        Assert.Equal(new[] { "runsc", "--network=none", "do" }, r.Prefix);
        Assert.False(r.IsNative);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("=runsc do")]
    [InlineData("runsc=")]
    [InlineData("native=foo")]
    public void RunnerParse_Malformed_Throws(string spec)
    {
        Assert.Throws<ArgumentException>(() => Runner.Parse(spec));
    }

    [Fact]
    public void Catalog_NamesUniqueAndEveryProgramExists()
    {
        IReadOnlyList<Workload> all = WorkloadCatalog.All;
        Assert.Equal(all.Count, all.Select(w => w.Name).Distinct().Count());
        IReadOnlyList<string> programs = WorkloadBuilder.Programs;
        foreach (Workload w in all)
        {
            foreach (string a in w.Args.Concat(w.QuickArgs).Where(a => a.StartsWith("{bin:", StringComparison.Ordinal)))
            {
                Assert.Contains(a[5..^1], programs);
            }
        }
    }

    [Fact]
    public void CatalogSelect_KeepsSuiteOrder_RejectsUnknown()
    {
        IReadOnlyList<Workload> chosen = WorkloadCatalog.Select(["start-true", "getpid"]);
        Assert.Equal(new[] { "getpid", "start-true" }, chosen.Select(w => w.Name));
        Assert.Throws<ArgumentException>(() => WorkloadCatalog.Select(["no-such-workload"]));
    }
}
