using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// /proc/net: tcp, tcp6, udp, udp6 and unix in Linux's formats, from the sandbox's own sockets (the netstack's
/// registered sockets and the unix name table), enough for ss- and netstat-like tools; dev and route from the
/// sandbox's interfaces (<see cref="NetInterfaces"/>); snmp from the netstack's counters (ProcNetSnmp.cs);
/// if_inet6 with lo's ::1.
/// </summary>
internal static class ProcNet
{
    private const byte DtDir = 4;
    private const byte DtReg = 8;

    private static readonly string[] s_files = ["dev", "if_inet6", "route", "snmp", "tcp", "tcp6", "udp", "udp6", "unix"];

    // Linux pads each line of tcp to 149 characters and of udp to 127 (seq_setwidth and seq_pad); the IPv6 files are not padded.
    private const int TcpWidth = 149;
    private const int UdpWidth = 127;

    public static long Lookup(Task t, string[] parts, string path, out ProcNode? node)
    {
        node = null;
        if (parts.Length == 1)
        {
            node = new ProcNode(ProcKind.Directory, path, Entries: () =>
            {
                var e = new List<(string, byte)>();
                foreach (string f in s_files)
                {
                    e.Add((f, DtReg));
                }

                return e;
            });
            return 0;
        }

        if (parts.Length != 2 || Array.IndexOf(s_files, parts[1]) < 0)
        {
            return -Errno.ENOENT.Value;
        }

        string name = parts[1];
        node = new ProcNode(ProcKind.File, path, Content: () => Encoding.ASCII.GetBytes(Content(t.Kernel, name)));
        return 0;
    }

    private static string Content(Kernel.Kernel k, string name) => name switch
    {
        "tcp" => Inet(k, tcp: true, v6: false),
        "tcp6" => Inet(k, tcp: true, v6: true),
        "udp" => Inet(k, tcp: false, v6: false),
        "udp6" => Inet(k, tcp: false, v6: true),
        "dev" => Dev(NetInterfaces.Of(k)),
        "route" => Route(NetInterfaces.Of(k)),
        "if_inet6" => "00000000000000000000000000000001 01 80 10 80       lo\n",
        "snmp" => Snmp(k),
        _ => Unix(k),
    };

    // dev_seq_show: one line per interface with its counters (the stack counts packets and bytes, no errors or drops).
    private static string Dev(NetInterfaces n)
    {
        var sb = new StringBuilder("Inter-|   Receive                                                |  Transmit\n"
            + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n");
        foreach (NetInterface i in n.Interfaces)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{i.Name,6}:{i.RxBytes,8} {i.RxPackets,7}    0    0    0     0          0         0 {i.TxBytes,8} {i.TxPackets,7}    0    0    0     0       0          0\n");
        }

        return sb.ToString();
    }

    // fib_route_seq_show: the main table's IPv4 routes (the default, then each subnet), addresses as the
    // network-order u32 printed in hex, every line padded to 127 characters.
    private static string Route(NetInterfaces n)
    {
        const int width = 127;
        const int RTF_UP = 1, RTF_GATEWAY = 2;
        var sb = new StringBuilder();
        AppendPadded(sb, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT", width);
        if (n.GatewayIndex != 0)
        {
            AppendPadded(sb, string.Create(CultureInfo.InvariantCulture, $"{n.ByIndex(n.GatewayIndex)!.Name}\t00000000\t{Hex(n.Gateway)}\t{RTF_UP | RTF_GATEWAY:X4}\t0\t0\t0\t00000000\t0\t0\t0"), width);
        }

        var subnets = new List<NetInterface>();
        foreach (NetInterface i in n.Interfaces)
        {
            if (!i.Loopback)
            {
                subnets.Add(i);
            }
        }

        subnets.Sort((a, b) => a.Network.Value.CompareTo(b.Network.Value));
        foreach (NetInterface i in subnets)
        {
            AppendPadded(sb, string.Create(CultureInfo.InvariantCulture, $"{i.Name}\t{Hex(i.Network)}\t00000000\t{RTF_UP:X4}\t0\t0\t0\t{Hex(i.Netmask)}\t0\t0\t0"), width);
        }

        return sb.ToString();
    }

    // An address as Linux prints a __be32 with %08X on a little-endian machine.
    private static string Hex(Moat.Sentry.Net.Stack.Ip4Address a) =>
        System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(a.Value).ToString("X8", CultureInfo.InvariantCulture);

    private static string Snmp(Kernel.Kernel k)
    {
        long currEstab = 0;
        Moat.Sentry.Net.Stack.StackStats? stats = k.Netstack?.Stack.StatsSnapshot(out currEstab);
        return ProcNetSnmp.Render(stats, currEstab);
    }

    private static void AppendPadded(StringBuilder sb, string line, int width) =>
        sb.Append(line).Append(' ', Math.Max(width - line.Length, 0)).Append('\n');

    private static string Inet(Kernel.Kernel k, bool tcp, bool v6)
    {
        var sb = new StringBuilder();
        string header = (tcp, v6) switch
        {
            (true, false) => "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            (true, true) => "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            (false, false) => "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
            (false, true) => "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
        };
        int width = v6 ? 0 : tcp ? TcpWidth : UdpWidth;
        AppendPadded(sb, header, width);
        int sl = 0;
        List<InetSocket> sockets = k.Netstack is SandboxNetwork net ? net.Snapshot(tcp) : [];
        foreach (InetSocket s in sockets)
        {
            if ((s.Family == InetAddr.AF_INET6) != v6)
            {
                continue;
            }

            int state;
            long rx;
            long tx = 0;
            s.GetName(false, out InetAddr local);
            InetAddr remote = default;
            if (s is StackTcpSocket st)
            {
                (state, int t, int r) = st.ProcRow;
                (tx, rx) = (t, r);
                if (s.GetName(true, out InetAddr peer) == 0 || state == 8)
                {
                    remote = peer;
                }
            }
            else
            {
                state = s.IsConnectedSocket ? 1 : 7;
                rx = ((StackUdpSocket)s).Queued;
                if (s.GetName(true, out InetAddr peer) == 0)
                {
                    remote = peer;
                }
            }

            string line = tcp
                ? string.Create(CultureInfo.InvariantCulture, $"{sl,4}: {local.ProcHex(v6)} {remote.ProcHex(v6)} {state:X2} {tx:X8}:{rx:X8} 00:00000000 00000000 {s.Uid,5}        0 {s.Inode} 1 0000000000000000 {(state == 10 ? "100 0 0 10 0" : "20 4 30 10 -1")}")
                : string.Create(CultureInfo.InvariantCulture, $"{sl,5}: {local.ProcHex(v6)} {remote.ProcHex(v6)} {state:X2} 00000000:{rx:X8} 00:00000000 00000000 {s.Uid,5}        0 {s.Inode} 2 0000000000000000 0");
            AppendPadded(sb, line, width);
            sl++;
        }

        return sb.ToString();
    }

    private static string Unix(Kernel.Kernel k)
    {
        var sb = new StringBuilder("Num       RefCount Protocol Flags    Type St Inode Path\n");
        var sockets = new List<UnixSocket>();
        lock (k.UnixNames)
        {
            sockets.AddRange(k.UnixNames.Values);
        }

        foreach (UnixSocket s in sockets)
        {
            bool listening = s.IsListening;
            string flags = listening ? "00010000" : "00000000";
            string st = s.IsConnected ? "03" : "01";
            sb.Append(CultureInfo.InvariantCulture, $"0000000000000000: 00000002 00000000 {flags} {s.Type:X4} {st} {s.Inode} {s.Address}\n");
        }

        return sb.ToString();
    }
}
