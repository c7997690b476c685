using System;
using System.Collections.Generic;
using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// Raw IPv4 and AF_PACKET sockets served by the Sentry's netstack with <c>moat do --net-raw</c>:
/// the program raw_sockets (not in cases.txt: it needs the flag) against native Linux as root, on the loopback;
/// EPERM without the flag (runsc's answer without --net-raw) or without CAP_NET_RAW; none with --network=host,
/// whose internet sockets are host ones; and stress-ng's raw stressors, which failed before.
/// </summary>
[Collection(CProgramsCollection.Name)]
public sealed class RawSocketTests
{
    private readonly CProgramsFixture _programs;

    public RawSocketTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    [RootTheory]
    [InlineData("static", "")]
    [InlineData("dynamic", "")]
    [InlineData("static", "nonroot")]
    public void RawSockets_WithNetRaw_MatchNative(string flavour, string mode)
    {
        string dir = _programs.Dir(flavour);
        string[] args = mode.Length > 0 ? [mode] : [];
        // Natively in a network namespace of its own: on the host's loopback, a raw socket would also read other
        // tests' ICMP (a port unreachable, a ping) and the counts and queues it prints would differ by chance.
        Assert.True(Containerd.Which("unshare") != null && Containerd.Which("ip") != null, "unshare and ip isolate the native run");
        RunResult native = ProcessRunner.Run("unshare", ["-n", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\"", Path.Combine(dir, "raw_sockets"), .. args], dir);
        RunResult moat = MoatCli.Do(["./raw_sockets", .. args], dir, null, "--net-raw");
        Assert.True(native.ExitCode == moat.ExitCode, $"exit status: native {native.ExitCode}, moat {moat.ExitCode}\nmoat stderr:\n{moat.Stderr}");
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void RawSockets_WithoutNetRaw_AreEperm()
    {
        RunResult r = MoatCli.Do(["./raw_sockets", "create"], _programs.Dir("static"), null);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(
            "raw ICMP: -1 EPERM\nraw IPPROTO_RAW: -1 EPERM\npacket ETH_P_ALL: -1 EPERM\npacket SOCK_STREAM: -1 EPERM\nraw IPPROTO_IP: -1 EPROTONOSUPPORT\n",
            r.StdoutText);
    }

    [Fact]
    public void RawSockets_WithHostNetwork_AreNotServed()
    {
        RunResult r = MoatCli.Do(["./raw_sockets", "create"], _programs.Dir("static"), null, "--net-raw", "--network=host");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(
            "raw ICMP: -1 ESOCKTNOSUPPORT\nraw IPPROTO_RAW: -1 ESOCKTNOSUPPORT\npacket ETH_P_ALL: -1 EAFNOSUPPORT\npacket SOCK_STREAM: -1 EAFNOSUPPORT\nraw IPPROTO_IP: -1 ESOCKTNOSUPPORT\n",
            r.StdoutText);
    }

    [StressNgTheory]
    [InlineData("rawsock")]
    [InlineData("rawudp")]
    [InlineData("rawpkt")]
    [InlineData("icmp-flood")]
    public void StressNg_RawStressor_Passes(string stressor)
    {
        RunResult r = MoatCli.Do(["/usr/bin/stress-ng", "--" + stressor, "1", "-t", "2", "--temp-path", "/tmp"], "/", null, "--net-raw");
        Assert.True(r.ExitCode == 0, $"stress-ng --{stressor}: exit {r.ExitCode}\n{r.StdoutText}\n{r.Stderr}");
    }

    /// <summary>Natively the program's sockets need root (CAP_NET_RAW).</summary>
    private sealed class RootTheoryAttribute : TheoryAttribute
    {
        public RootTheoryAttribute()
        {
            if (Environment.UserName != "root")
            {
                Skip = "natively, raw and packet sockets need root (CAP_NET_RAW)";
            }
        }
    }

    private sealed class StressNgTheoryAttribute : TheoryAttribute
    {
        public StressNgTheoryAttribute()
        {
            if (!File.Exists("/usr/bin/stress-ng"))
            {
                Skip = "/usr/bin/stress-ng is not installed (Debian's stress-ng package)";
            }
        }
    }
}
