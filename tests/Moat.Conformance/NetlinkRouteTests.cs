using System;
using System.IO;
using System.Text.RegularExpressions;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// The sandbox's interfaces, addresses and routes as NETLINK_ROUTE, the SIOCGIF* ioctls, getifaddrs,
/// if_nameindex and /proc/net report them (docs/netstack.md), against Linux in a network namespace set up as the
/// sandbox's network is: lo alone for the default (--network=none), and for --network=sandbox lo plus eth0, a
/// TAP device with 10.200.0.2/30, the default route through 10.200.0.1, no IPv6 (the stack serves IPv6 on its
/// loopback only) and no queueing discipline. The program netlink_route prints them (not in cases.txt: it needs
/// the namespace); ip(8)'s addr, link and route are compared too.
/// </summary>
// In the C programs' collection: a sandbox network turns the host's ip_forward on while it runs, which proc_net's
// native run would read.
[Collection(CProgramsCollection.Name)]
public sealed partial class NetlinkRouteTests
{
    // Natively: a TAP device named eth0 held open by this script (so its carrier is up), configured as moat's
    // setup configured the sandbox's side (SandboxNetSetup: the second address of the first free /30 of
    // 10.200.0.0/16, the first is the gateway; argv[2] and argv[3]), then the command (argv[1]).
    private const string TapNamespace =
        "import fcntl, os, struct, subprocess, sys\n" +
        "fd = os.open('/dev/net/tun', os.O_RDWR)\n" +
        "fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'eth0', 0x0002 | 0x1000))\n" +
        "setup = 'ip link set lo up && sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1 && ip link set eth0 address 02:00:4d:00:00:07 " +
        "&& ip addr add %s/30 brd + dev eth0 && ip link set eth0 up && ip route add default via %s " +
        "&& tc qdisc replace dev eth0 root noqueue && ' % (sys.argv[2], sys.argv[3])\n" +
        "sys.exit(subprocess.run(['sh', '-c', setup + sys.argv[1]]).returncode)\n";

    private readonly CProgramsFixture _programs;

    public NetlinkRouteTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    [NamespaceTheory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void Default_NetlinkRoute_MatchesALoOnlyNamespace(string flavour)
    {
        string dir = _programs.Dir(flavour);
        RunResult native = ProcessRunner.Run("unshare", ["-n", "sh", "-c", "ip link set lo up && exec ./netlink_route"], dir);
        Assert.True(native.ExitCode == 0, "unshare -n: " + native.Stderr);
        RunResult moat = MoatCli.Do(["./netlink_route"], dir);
        Assert.True(moat.ExitCode == 0, moat.Stderr);
        Assert.Equal(native.StdoutText, moat.StdoutText);
        Assert.Contains("1 lo\n", moat.StdoutText, StringComparison.Ordinal);
    }

    [NamespaceTheory]
    [InlineData("addr")]
    [InlineData("link")]
    [InlineData("-6 addr")]
    [InlineData("-s link")]
    [InlineData("link show dev lo")]
    public void Default_Ip_PrintsWhatALoOnlyNamespacePrints(string args)
    {
        RunResult native = ProcessRunner.Run("unshare", ["-n", "sh", "-c", "ip link set lo up && ip " + args], HostScratch.Root);
        Assert.True(native.ExitCode == 0, "unshare -n: " + native.Stderr);
        RunResult r = MoatCli.Do(["/usr/sbin/ip", .. args.Split(' ')], HostScratch.Root);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(native.StdoutText, r.StdoutText);
    }

    // `ip route get` for each: on-link, via the gateway, local, broadcast, lo's subnet, the limited broadcast.
    private const string RouteGets = "for d in 10.200.0.1 10.200.0.2 10.200.0.3 10.200.0.0 8.8.8.8 127.0.0.1 127.5.5.5 127.255.255.255 255.255.255.255; do ip route get $d 2>&1; done";

    [NamespaceFact]
    public void Default_IpRouteGet_AnswersAsALoOnlyNamespace()
    {
        RunResult native = ProcessRunner.Run("unshare", ["-n", "sh", "-c", "ip link set lo up && " + RouteGets], HostScratch.Root);
        RunResult r = MoatCli.Do(["/bin/sh", "-c", RouteGets], HostScratch.Root);
        Assert.True(r.ExitCode == native.ExitCode, r.Stderr);
        Assert.Equal(native.StdoutText, r.StdoutText);
        Assert.Contains("RTNETLINK answers: Network is unreachable", r.StdoutText, StringComparison.Ordinal);
    }

    [SandboxNamespaceFact]
    public void Sandbox_IpRouteGet_AnswersAsANamespaceSetUpLikeIt()
    {
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "ip -4 -o addr show dev eth0 && echo -- && " + RouteGets], HostScratch.Root, null, "--network=sandbox");
        Assert.True(r.ExitCode == 0, r.Stderr);
        (string address, string gateway, _) = Addresses(r.StdoutText);
        string output = r.StdoutText[(r.StdoutText.IndexOf("--\n", StringComparison.Ordinal) + 3)..];
        RunResult native = ProcessRunner.Run("unshare", ["-n", "python3", "-c", TapNamespace, RouteGets, address, gateway], HostScratch.Root);
        Assert.True(native.ExitCode == 0, "unshare -n with a TAP device: " + native.Stderr);
        Assert.Equal(native.StdoutText, output);
        Assert.Contains($"8.8.8.8 via {gateway} dev eth0 src {address} uid 0", output, StringComparison.Ordinal);
    }

    /// <summary>With --network=host, `ip link show dev X` (an RTM_GETLINK by name) is the host's interface.</summary>
    [Fact]
    public void HostNetwork_IpLinkShowDev_IsTheHostsInterface()
    {
        RunResult list = ProcessRunner.Run("ip", ["-o", "link"], HostScratch.Root);
        Assert.True(list.ExitCode == 0, list.Stderr);
        string[] lines = list.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (string line in lines[..Math.Min(2, lines.Length)])
        {
            string name = line.Split(": ")[1].Split('@')[0];
            RunResult native = ProcessRunner.Run("ip", ["link", "show", "dev", name], HostScratch.Root);
            RunResult r = MoatCli.Do(["/usr/sbin/ip", "link", "show", "dev", name], HostScratch.Root, null, "--network=host");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(native.StdoutText, r.StdoutText);
        }
    }

    [SandboxNamespaceTheory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void Sandbox_NetlinkRoute_MatchesANamespaceSetUpLikeIt(string flavour)
    {
        string dir = _programs.Dir(flavour);
        RunResult moat = MoatCli.Do(["./netlink_route"], dir, null, "--network=sandbox");
        Assert.True(moat.ExitCode == 0, moat.Stderr);
        (string address, string gateway, string broadcast) = Addresses(moat.StdoutText);
        RunResult native = ProcessRunner.Run("unshare", ["-n", "python3", "-c", TapNamespace, "exec ./netlink_route", address, gateway], dir);
        Assert.True(native.ExitCode == 0, "unshare -n with a TAP device: " + native.Stderr);
        Assert.Equal(native.StdoutText, moat.StdoutText);

        // What the setup gave the sandbox, whatever Linux says.
        Assert.Contains($"addr family 2 prefix 30 flags 0x80 scope 0 index 2 address {address} local {address} broadcast {broadcast} label eth0", moat.StdoutText, StringComparison.Ordinal);
        Assert.Contains($"route family 2 dst_len 0 table 254 proto 3 scope 0 type 1 rtable 254 gateway {gateway} oif 2\n", moat.StdoutText, StringComparison.Ordinal);
        Assert.Contains("2 eth0\n", moat.StdoutText, StringComparison.Ordinal);
    }

    [SandboxNamespaceTheory]
    [InlineData("addr")]
    [InlineData("link")]
    [InlineData("route")]
    [InlineData("route show table all")]
    [InlineData("-6 addr")]
    [InlineData("-4 addr show dev eth0")]
    [InlineData("link show eth0")]
    public void Sandbox_Ip_PrintsWhatANamespaceSetUpLikeItPrints(string args)
    {
        // The sandbox's SIOCGIFCONF first, for its address (another sandbox network may hold 10.200.0.0/30).
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "ip -4 -o addr show dev eth0 && echo -- && exec ip " + args], HostScratch.Root, null, "--network=sandbox");
        Assert.True(r.ExitCode == 0, r.Stderr);
        (string address, string gateway, _) = Addresses(r.StdoutText);
        string output = r.StdoutText[(r.StdoutText.IndexOf("--\n", StringComparison.Ordinal) + 3)..];
        RunResult native = ProcessRunner.Run("unshare", ["-n", "python3", "-c", TapNamespace, "ip " + args, address, gateway], HostScratch.Root);
        Assert.True(native.ExitCode == 0, "unshare -n with a TAP device: " + native.Stderr);

        // The sandbox's MAC address is made from moat's pid.
        Assert.Equal(Mac().Replace(native.StdoutText, "link/ether MAC"), Mac().Replace(output, "link/ether MAC"));
    }

    // The sandbox's eth0 address in an output (ip's "inet A/30" or netlink_route's "ifconf eth0 A"), its gateway
    // (the /30's first address) and broadcast.
    private static (string Address, string Gateway, string Broadcast) Addresses(string output)
    {
        Match m = Regex.Match(output, @"(?:inet |ifconf eth0 )10\.200\.(\d+)\.(\d+)");
        Assert.True(m.Success, "no eth0 address in:\n" + output);
        int c = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int d = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        return ($"10.200.{c}.{d}", $"10.200.{c}.{d - 1}", $"10.200.{c}.{d + 1}");
    }

    [GeneratedRegex("link/ether 02:00:4d(:[0-9a-f]{2}){3}")]
    private static partial Regex Mac();

    /// <summary>The native runs make a network namespace: root and unshare(1), ip(8).</summary>
    private class NamespaceTheoryAttribute : TheoryAttribute
    {
        public NamespaceTheoryAttribute()
        {
            if (Environment.UserName != "root")
            {
                Skip = "the native run needs root (unshare -n)";
            }
            else if (Containerd.Which("unshare") == null || Containerd.Which("ip") == null)
            {
                Skip = "the native run needs unshare(1) and ip(8)";
            }
        }
    }

    private sealed class NamespaceFactAttribute : FactAttribute
    {
        public NamespaceFactAttribute()
        {
            Skip = new NamespaceTheoryAttribute().Skip;
        }
    }

    private sealed class SandboxNamespaceFactAttribute : FactAttribute
    {
        public SandboxNamespaceFactAttribute()
        {
            Skip = new SandboxNamespaceTheoryAttribute().Skip;
        }
    }

    /// <summary>Also --network=sandbox's needs (/dev/net/tun) and the native TAP device's: python3 and tc(8).</summary>
    private sealed class SandboxNamespaceTheoryAttribute : NamespaceTheoryAttribute
    {
        public SandboxNamespaceTheoryAttribute()
        {
            if (Skip != null)
            {
                return;
            }

            if (!File.Exists("/dev/net/tun"))
            {
                Skip = "--network=sandbox needs /dev/net/tun";
            }
            else if (Containerd.Which("python3") == null || Containerd.Which("tc") == null)
            {
                Skip = "the native TAP device is made by python3 and tc(8)";
            }
        }
    }
}
