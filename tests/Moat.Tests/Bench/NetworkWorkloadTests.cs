using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Moat.Bench.Reporting;
using Moat.Bench.Running;
using Moat.Bench.Workloads;

namespace Moat.Tests.Bench;

/// <summary>
/// The workloads with a peer on the host (<c>download</c>): their command lines under each runner, the host's
/// download server, the veth's address choice, and how a row this host cannot run is reported.
/// </summary>
public sealed class NetworkWorkloadTests
{
    private static readonly Runner s_moat = new("moat-ptrace", ["moat", "do", "--platform=ptrace"], IsMoat: true);
    private static readonly string[] s_netns = ["ip", "netns", "exec", "moat-bench-1"];

    private static Workload Outside() =>
        new("dl", "network", "d", "ns/MiB", MeasureKind.Reported, ["net", "download"], ["net", "download"])
        {
            MoatOptions = ["--network=sandbox"],
            Network = WorkloadNetwork.Outside,
        };

    private static Workload Local() => new("getpid", "syscalls", "d", "ns/op", MeasureKind.Reported, ["x"], ["x"]);

    [Fact]
    public void MoatRunner_PutsTheWorkloadsOptionsBeforeTheSeparator()
    {
        Assert.Equal(
            new[] { "moat", "do", "--platform=ptrace", "--network=sandbox", "--", "net", "download", "1" },
            TrialCommand.Build(Outside(), s_moat, ["net", "download", "1"], s_netns));
        Assert.Equal(new[] { "moat", "do", "--platform=ptrace", "--", "x" }, TrialCommand.Build(Local(), s_moat, ["x"], s_netns));
    }

    [Fact]
    public void Native_RunsAnOutsideWorkloadInTheNamespace_AndALocalOneAsItIs()
    {
        Assert.Equal(new[] { "ip", "netns", "exec", "moat-bench-1", "net" }, TrialCommand.Build(Outside(), Runner.Native, ["net"], s_netns));
        Assert.Equal(new[] { "x" }, TrialCommand.Build(Local(), Runner.Native, ["x"], s_netns));
    }

    [Fact]
    public void CompareRunner_GetsNeitherMoatOptionsNorTheNamespace()
    {
        Runner runsc = Runner.Parse("runsc=runsc do");
        Assert.Equal(new[] { "runsc", "do", "net" }, TrialCommand.Build(Outside(), runsc, ["net"], s_netns));
    }

    [Fact]
    public void Catalog_DownloadAsksForTheSandboxNetworkAndNamesTheServer()
    {
        Workload d = WorkloadCatalog.Select(["download"]).Single();
        Assert.Equal(WorkloadNetwork.Outside, d.Network);
        Assert.Equal(new[] { "--network=sandbox" }, d.MoatOptions);
        Assert.Contains("{server}", d.Args);
        Assert.Contains("{port}", d.QuickArgs);
    }

    [Fact]
    public void Catalog_RedisOutside_IsAServerTheHostMeasures()
    {
        Workload r = WorkloadCatalog.Select(["redis-get-outside"]).Single();
        Assert.Equal(MeasureKind.HostClient, r.Kind);
        Assert.Equal(WorkloadNetwork.Outside, r.Network);
        Assert.Equal(new[] { "--network=sandbox" }, r.MoatOptions);
        Assert.Contains("{inside}", r.HostCommand);
        Assert.Contains("{inside-port}", r.QuickHostCommand);
    }

    [Fact]
    public void Catalog_OnlyOutsideWorkloadsHaveMoatOptionsOrAHostCommand()
    {
        foreach (Workload w in WorkloadCatalog.All)
        {
            bool outside = w.Network == WorkloadNetwork.Outside;
            Assert.True(outside == (w.MoatOptions.Count > 0), w.Name);
            Assert.True((w.Kind == MeasureKind.HostClient) == (w.HostCommand.Count > 0 && w.QuickHostCommand.Count > 0), w.Name);
        }
    }

    [Fact]
    public void DownloadServer_SendsExactlyTheMiBAsked_ThenCloses()
    {
        using var server = new DownloadServer(IPAddress.Loopback);
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30_000 };
        c.Connect(IPAddress.Loopback, server.Port);
        c.Send(Encoding.ASCII.GetBytes("3\n"));
        long got = 0;
        var buf = new byte[1 << 16];
        for (int n; (n = c.Receive(buf)) > 0;)
        {
            got += n;
        }

        Assert.Equal(3L << 20, got);
    }

    [Fact]
    public void DownloadServer_NotACount_ClosesWithoutData_AndServesTheNextClient()
    {
        using var server = new DownloadServer(IPAddress.Loopback);
        using (var bad = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30_000 })
        {
            bad.Connect(IPAddress.Loopback, server.Port);
            bad.Send(Encoding.ASCII.GetBytes("lots\n"));
            Assert.Equal(0, bad.Receive(new byte[16]));
        }

        using var good = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30_000 };
        good.Connect(IPAddress.Loopback, server.Port);
        good.Send(Encoding.ASCII.GetBytes("1\n"));
        long got = 0;
        var buf = new byte[1 << 16];
        for (int n; (n = good.Receive(buf)) > 0;)
        {
            got += n;
        }

        Assert.Equal(1L << 20, got);
    }

    [Fact]
    public void ChooseBlock_SkipsSubnetsAHostInterfaceHas()
    {
        Assert.Equal("10.201.0.0", BenchNetwork.Dotted(BenchNetwork.ChooseBlock("1: lo    inet 127.0.0.1/8 scope host lo\n")));
        string used = "4: eth0    inet 10.201.0.1/30 scope global\n5: x    inet 10.201.0.5/30 scope global\n";
        Assert.Equal("10.201.0.8", BenchNetwork.Dotted(BenchNetwork.ChooseBlock(used)));
    }

    [Fact]
    public void StaleNamespaces_OnlyThoseOfGoneBenches()
    {
        string list = "moat-bench-10 (id: 3)\nmoat-bench-20\nother-30\nmoat-bench-x\n";
        Assert.Equal(new[] { "moat-bench-20" }, BenchNetwork.StaleNamespaces(list, pid => pid == 10).ToArray());
    }

    [Fact]
    public void NotRun_ShowsInEveryRunnersCell_WithOneReason()
    {
        Workload dl = Outside();
        var results = new BenchResults([dl], [Runner.Native, s_moat]);
        results.NotRun(dl, "needs root");
        var w = new StringWriter();
        TableWriter.Write(results, w);
        string[] lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines[1].Split("not run").Length - 1);
        Assert.Contains(lines, l => l.Contains("dl: not run: needs root", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("failed", StringComparison.Ordinal));
    }
}
