using Moat.Cli.Network;
using Moat.Cli.Oci;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Tests.Oci;

/// <summary>Which network an OCI container gets (the runtime's --network and the spec's namespace path), and the pod interface handed to the jailed Sentry.</summary>
public sealed class OciNetworkModeTests
{
    [Fact]
    public void NetworkOf_WithANamespacePath_SandboxByDefault_HostAndNoneOnRequest()
    {
        const string Path = "/var/run/netns/cni-1";
        Assert.Equal(NetworkMode.Sandbox, BootCommand.NetworkOf(Path, null));
        Assert.Equal(NetworkMode.Sandbox, BootCommand.NetworkOf(Path, "sandbox"));
        Assert.Equal(NetworkMode.Host, BootCommand.NetworkOf(Path, "host"));
        Assert.Equal(NetworkMode.None, BootCommand.NetworkOf(Path, "none"));
        Assert.Null(BootCommand.NetworkOf(Path, "bridge"));
    }

    [Fact]
    public void NetworkOf_WithoutAPath_TheSandboxsOwnLoopback_WhateverTheFlag()
    {
        Assert.Equal(NetworkMode.None, BootCommand.NetworkOf(null, null));
        Assert.Equal(NetworkMode.None, BootCommand.NetworkOf(null, "sandbox"));
        Assert.Equal(NetworkMode.None, BootCommand.NetworkOf(null, "host"));
        Assert.Null(BootCommand.NetworkOf(null, "bogus"));
    }

    [Fact]
    public void NetLink_DescribedOutside_ParsesInside_WithTheInterfacesFacts()
    {
        Assert.Equal(0, HostSocket.SocketPair(HostSocket.SOCK_STREAM, out SafeFdHandle a, out SafeFdHandle b));
        using (b)
        {
            var outside = new SandboxLink(a, "eth0", "10.88.0.7", 16, "10.88.0.1", 0x8e1c37f13815) { PacketSocket = true, Mtu = 1450 };
            string spec = PodInterfaceTakeover.Describe(outside);
            Assert.Equal("eth0,10.88.0.7,16,10.88.0.1,156251848783893,1450", spec);
            int fd = a.Fd;
            a.SetHandleAsInvalid(); // the parsed link owns the fd now, as the jailed Sentry owns fd 7
            SandboxLink inside = PodInterfaceTakeover.Parse(spec, fd)!;
            using (inside.Tap)
            {
                Assert.Equal(outside with { Tap = inside.Tap }, inside);
                Assert.Equal(fd, inside.Tap.Fd);
            }
        }

        Assert.Null(PodInterfaceTakeover.Parse("eth0,10.0.0.2,24,10.0.0.1,1", 7)); // moat do's TAP form: no MTU
        Assert.Null(PodInterfaceTakeover.Parse("eth0,10.0.0.2,x,10.0.0.1,1,1500", 7));
    }

    [Fact]
    public void HostLinks_ListsThisNamespacesLoopback_WithItsAddress()
    {
        var all = HostLinks.Interfaces(out long error);
        Assert.True(all != null, "RTM_GETLINK/GETADDR: " + error);
        HostInterface? lo = all!.Find(i => i.IsLoopback);
        Assert.NotNull(lo);
        Assert.Equal("lo", lo.Name);
        Assert.Equal(1, lo.Index);
        if (lo.IsUp)
        {
            Assert.Contains(new HostIpv4Address(0x7F000001, 8), lo.Addresses);
        }

        Assert.NotNull(HostLinks.Routes(out error));
    }
}
