using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Net;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net;

/// <summary>
/// The NETLINK_ROUTE messages made from a stack's interfaces (NetInterfaces, RouteMessages): what Linux's
/// rtnetlink writes for a namespace with lo and eth0 at 10.200.0.2/30 via 10.200.0.1 (the values were read from
/// Linux 6.18's dumps), and that every message and attribute is well formed.
/// </summary>
public sealed class RouteMessagesTests
{
    private static readonly MacAddress Mac = MacAddress.Read([0x02, 0x00, 0x4d, 0x00, 0x00, 0x07]);

    private static NetworkStack SandboxStack()
    {
        var stack = new NetworkStack();
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        stack.AddNic(new ChannelLink(1500, LinkKind.Ethernet, Mac), Ip4Address.Parse("10.200.0.2"), 30);
        stack.SetDefaultGateway(Ip4Address.Parse("10.200.0.1"));
        return stack;
    }

    [Fact]
    public void Interfaces_OfASandboxStack_AreLoAndEth0WithTheDefaultRoute()
    {
        NetInterfaces n = NetInterfaces.FromStack(SandboxStack());
        Assert.Equal(2, n.Interfaces.Count);
        NetInterface lo = n.Interfaces[0], eth = n.Interfaces[1];
        Assert.Equal((1, "lo", 0x10049, 65536), (lo.Index, lo.Name, lo.Flags, lo.Mtu));
        Assert.Equal((2, "eth0", 0x11043, 1500), (eth.Index, eth.Name, eth.Flags, eth.Mtu));
        Assert.Equal("10.200.0.3", eth.Broadcast.ToString());
        Assert.Equal("255.255.255.252", eth.Netmask.ToString());
        Assert.Equal("10.200.0.0", eth.Network.ToString());
        Assert.Equal(("10.200.0.1", 2), (n.Gateway.ToString(), n.GatewayIndex));
        Assert.Same(eth, n.ByName("eth0"u8));
        Assert.Same(lo, n.ByIndex(1));
        Assert.Null(n.ByName("eth"u8));
        Assert.Null(n.ByIndex(3));
    }

    [Fact]
    public void Interfaces_OfALoopbackOnlyStack_HaveNoDefaultRoute()
    {
        var stack = new NetworkStack();
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        NetInterfaces n = NetInterfaces.FromStack(stack);
        Assert.Single(n.Interfaces);
        Assert.Equal(0, n.GatewayIndex);
        Assert.Single(RouteMessages.Routes(n, (byte)InetAddr.AF_INET6, 1, 2));
        Assert.Equal(3, RouteMessages.Routes(n, (byte)InetAddr.AF_INET, 1, 2).Count);
    }

    [Fact]
    public void Link_Eth0_CarriesIfinfomsgAndTheAttributesIpReads()
    {
        NetInterface eth = NetInterfaces.FromStack(SandboxStack()).Interfaces[1];
        byte[] m = RouteMessages.Link(eth, RouteMessages.NLM_F_MULTI, 7, 42);
        ReadOnlySpan<byte> attrs = Check(m, RouteMessages.RTM_NEWLINK, 16, 7, 42);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(18))); // ARPHRD_ETHER
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(m.AsSpan(20)));
        Assert.Equal(0x11043, BinaryPrimitives.ReadInt32LittleEndian(m.AsSpan(24)));
        Assert.Equal("eth0\0"u8.ToArray(), RouteMessages.FindAttr(attrs, 3).ToArray());
        Assert.Equal(1500, BinaryPrimitives.ReadInt32LittleEndian(RouteMessages.FindAttr(attrs, 4)));
        Assert.Equal(1000, BinaryPrimitives.ReadInt32LittleEndian(RouteMessages.FindAttr(attrs, 13)));
        Assert.Equal(new byte[] { 2, 0, 0x4d, 0, 0, 7 }, RouteMessages.FindAttr(attrs, 1).ToArray());
        Assert.Equal(new byte[] { 255, 255, 255, 255, 255, 255 }, RouteMessages.FindAttr(attrs, 2).ToArray());
        Assert.Equal("noqueue\0"u8.ToArray(), RouteMessages.FindAttr(attrs, 6).ToArray());
        Assert.Equal(200, RouteMessages.FindAttr(attrs, 23).Length); // struct rtnl_link_stats64
        Assert.Equal(100, RouteMessages.FindAttr(attrs, 7).Length); // struct rtnl_link_stats
    }

    [Fact]
    public void Addresses_Dump_IsIpv4OfEachInterfaceThenIpv6()
    {
        List<byte[]> list = RouteMessages.Addresses(NetInterfaces.FromStack(SandboxStack()), 0, 7, 42);
        Assert.Equal(3, list.Count);

        // lo: 127.0.0.1/8, host scope, no broadcast.
        ReadOnlySpan<byte> lo = Check(list[0], RouteMessages.RTM_NEWADDR, 8, 7, 42);
        Assert.Equal(new byte[] { 2, 8, 0x80, 254, 1, 0, 0, 0 }, list[0].AsSpan(16, 8).ToArray());
        Assert.Equal(new byte[] { 127, 0, 0, 1 }, RouteMessages.FindAttr(lo, 2).ToArray());
        Assert.True(RouteMessages.FindAttr(lo, 4).IsEmpty);
        Assert.Equal("lo\0"u8.ToArray(), RouteMessages.FindAttr(lo, 3).ToArray());

        // eth0: 10.200.0.2/30, universe scope, broadcast 10.200.0.3, permanent, lifetimes forever.
        ReadOnlySpan<byte> eth = Check(list[1], RouteMessages.RTM_NEWADDR, 8, 7, 42);
        Assert.Equal(new byte[] { 2, 30, 0x80, 0, 2, 0, 0, 0 }, list[1].AsSpan(16, 8).ToArray());
        Assert.Equal(new byte[] { 10, 200, 0, 2 }, RouteMessages.FindAttr(eth, 1).ToArray());
        Assert.Equal(new byte[] { 10, 200, 0, 2 }, RouteMessages.FindAttr(eth, 2).ToArray());
        Assert.Equal(new byte[] { 10, 200, 0, 3 }, RouteMessages.FindAttr(eth, 4).ToArray());
        Assert.Equal(0x80, BinaryPrimitives.ReadInt32LittleEndian(RouteMessages.FindAttr(eth, 8)));
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(RouteMessages.FindAttr(eth, 6)));

        // ::1/128 on lo.
        ReadOnlySpan<byte> v6 = Check(list[2], RouteMessages.RTM_NEWADDR, 8, 7, 42);
        Assert.Equal(new byte[] { 10, 128, 0x80, 254, 1, 0, 0, 0 }, list[2].AsSpan(16, 8).ToArray());
        Assert.Equal(16, RouteMessages.FindAttr(v6, 1).Length);

        Assert.Single(RouteMessages.Addresses(NetInterfaces.FromStack(SandboxStack()), (byte)InetAddr.AF_INET6, 7, 42));
    }

    [Fact]
    public void Routes_Dump_IsTheMainTableThenTheLocalTableInTrieOrder()
    {
        List<byte[]> list = RouteMessages.Routes(NetInterfaces.FromStack(SandboxStack()), (byte)InetAddr.AF_INET, 7, 42);
        // (dst, dst_len, table, protocol, scope, type) of each, as `ip route show table all` lists them.
        var expected = new (string Dst, int Len, int Table, int Proto, int Scope, int Type)[]
        {
            ("", 0, 254, 3, 0, 1), // default via 10.200.0.1 dev eth0
            ("10.200.0.0", 30, 254, 2, 253, 1), // 10.200.0.0/30 dev eth0 proto kernel scope link src 10.200.0.2
            ("10.200.0.2", 32, 255, 2, 254, 2), // local 10.200.0.2
            ("10.200.0.3", 32, 255, 2, 253, 3), // broadcast 10.200.0.3
            ("127.0.0.0", 8, 255, 2, 254, 2), // local 127.0.0.0/8 dev lo
            ("127.0.0.1", 32, 255, 2, 254, 2),
            ("127.255.255.255", 32, 255, 2, 253, 3),
        };
        Assert.Equal(expected.Length, list.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            ReadOnlySpan<byte> attrs = Check(list[i], RouteMessages.RTM_NEWROUTE, 12, 7, 42);
            byte[] h = list[i].AsSpan(16, 12).ToArray();
            ReadOnlySpan<byte> dst = RouteMessages.FindAttr(attrs, 1);
            string d = dst.IsEmpty ? "" : Ip4Address.Read(dst).ToString();
            Assert.Equal(expected[i], (d, (int)h[1], (int)h[4], (int)h[5], (int)h[6], (int)h[7]));
            Assert.Equal(h[4], BinaryPrimitives.ReadInt32LittleEndian(RouteMessages.FindAttr(attrs, 15)));
        }

        ReadOnlySpan<byte> def = RouteMessages.FindAttr(list[0].AsSpan(28), 5);
        Assert.Equal(new byte[] { 10, 200, 0, 1 }, def.ToArray());
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(RouteMessages.FindAttr(list[0].AsSpan(28), 4)));
        Assert.Equal(new byte[] { 10, 200, 0, 2 }, RouteMessages.FindAttr(list[1].AsSpan(28), 7).ToArray());
    }

    [Theory]
    [InlineData("10.200.0.1", 1, 2, "10.200.0.2", "", 0x200u)] // on-link
    [InlineData("8.8.8.8", 1, 2, "10.200.0.2", "10.200.0.1", 0x200u)] // via the gateway
    [InlineData("10.200.0.2", 2, 1, "10.200.0.2", "", 0x80000200u)] // local: on lo
    [InlineData("127.5.5.5", 2, 1, "127.0.0.1", "", 0x80000200u)] // lo's subnet
    [InlineData("10.200.0.3", 3, 2, "10.200.0.2", "", 0x90000200u)] // the subnet's broadcast
    [InlineData("255.255.255.255", 3, 2, "10.200.0.2", "", 0x90000200u)] // the limited broadcast
    public void RouteTo_FindsWhatLinuxsLookupFinds(string dst, int type, int oif, string source, string gateway, uint flags)
    {
        byte[]? m = RouteMessages.RouteTo(NetInterfaces.FromStack(SandboxStack()), Ip4Address.Parse(dst), 1000, 7, 42);
        Assert.NotNull(m);
        ReadOnlySpan<byte> attrs = Check(m, RouteMessages.RTM_NEWROUTE, 12, 7, 42);
        Assert.Equal((32, 254, type, flags), ((int)m[17], (int)m[20], (int)m[23], BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(24))));
        Assert.Equal(oif, BinaryPrimitives.ReadInt32LittleEndian(RouteMessages.FindAttr(attrs, 4)));
        Assert.Equal(source, Ip4Address.Read(RouteMessages.FindAttr(attrs, 7)).ToString());
        ReadOnlySpan<byte> gw = RouteMessages.FindAttr(attrs, 5);
        Assert.Equal(gateway, gw.IsEmpty ? "" : Ip4Address.Read(gw).ToString());
        Assert.Equal(1000, BinaryPrimitives.ReadInt32LittleEndian(RouteMessages.FindAttr(attrs, 25)));
    }

    [Fact]
    public void RouteTo_OutsideLoWithoutAGateway_IsUnreachable()
    {
        var stack = new NetworkStack();
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        Assert.Null(RouteMessages.RouteTo(NetInterfaces.FromStack(stack), Ip4Address.Parse("8.8.8.8"), 0, 1, 2));
        Assert.Null(RouteMessages.RouteTo(NetInterfaces.FromStack(stack), Ip4Address.Broadcast, 0, 1, 2));
    }

    [Fact]
    public void Counters_LoopbackDatagram_CountsOnceEachWayWithItsEthernetHeader()
    {
        var stack = new NetworkStack();
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        UdpEndpoint u1 = stack.CreateUdp(), u2 = stack.CreateUdp();
        u1.Bind(Ip4Address.Loopback, 9000);
        Assert.Equal(Errno.None, u2.SendTo("dgram"u8, Ip4Address.Loopback, 9000));
        NetInterface lo = NetInterfaces.FromStack(stack).Interfaces[0];
        Assert.Equal((1L, 1L), (lo.RxPackets, lo.TxPackets));
        Assert.Equal((14L + 20 + 8 + 5, 14L + 20 + 8 + 5), (lo.RxBytes, lo.TxBytes));
    }

    // Checks the header and that the attributes after the family header tile the message; returns them.
    private static ReadOnlySpan<byte> Check(byte[] m, ushort type, int bodySize, uint seq, uint port)
    {
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(m);
        Assert.Equal(RouteMessages.Align(len), m.Length);
        Assert.Equal(type, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(4)));
        Assert.Equal(seq, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(8)));
        Assert.Equal(port, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(12)));
        ReadOnlySpan<byte> attrs = m.AsSpan(16 + bodySize, len - 16 - bodySize);
        int off = 0;
        while (off < attrs.Length)
        {
            int alen = BinaryPrimitives.ReadUInt16LittleEndian(attrs[off..]);
            Assert.InRange(alen, 4, attrs.Length - off);
            off += RouteMessages.Align(alen);
        }

        Assert.Equal(RouteMessages.Align(attrs.Length), off);
        return attrs;
    }
}
