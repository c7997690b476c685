using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// /proc/net: tcp, tcp6, udp, udp6 and unix in Linux's formats, from the sandbox's own sockets (the loopback
/// network's port tables and the unix name table), enough for ss- and netstat-like tools.
/// </summary>
internal static class ProcNet
{
    private const byte DtDir = 4;
    private const byte DtReg = 8;

    private static readonly string[] s_files = ["tcp", "tcp6", "udp", "udp6", "unix"];

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
        _ => Unix(k),
    };

    private static string Inet(Kernel.Kernel k, bool tcp, bool v6)
    {
        var sb = new StringBuilder();
        sb.Append(v6
            ? "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            : "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
        int sl = 0;
        foreach (InetSocket s in k.Loopback.Snapshot(tcp))
        {
            if ((s.Family == InetAddr.AF_INET6) != v6)
            {
                continue;
            }

            int state;
            long rx;
            if (s is TcpSocket ts)
            {
                state = ts.ProcState;
                (int queued, int backlog) = ts.ProcQueues;
                rx = state == 10 ? backlog : queued;
            }
            else
            {
                state = s.IsConnectedSocket ? 1 : 7;
                rx = ((UdpSocket)s).Queued;
            }

            InetAddr remote = s.IsConnectedSocket || state is 1 or 8 ? s.Peer : default;
            sb.Append(CultureInfo.InvariantCulture, $"{sl,4}: {s.Local.ProcHex(v6)} {remote.ProcHex(v6)} {state:X2} 00000000:{rx:X8} 00:00000000 00000000 {s.Uid,5}        0 {s.Inode} 1 0000000000000000 100 0 0 10 0\n");
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
