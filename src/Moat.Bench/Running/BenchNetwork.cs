using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;

namespace Moat.Bench.Running;

/// <summary>
/// The host side of the <see cref="Workloads.WorkloadNetwork.Outside"/> workloads: a network namespace
/// <c>moat-bench-&lt;pid&gt;</c> joined to the host by a veth pair (the host end takes the first free
/// 10.201.x.1/30, the namespace's end .2 with a default route through it), and a <see cref="DownloadServer"/>
/// on the host end's address. Native runs in the namespace (<see cref="NativePrefix"/>), so its traffic crosses
/// the veth; <c>moat do --network=sandbox</c> reaches the same address through its TAP device and its gateway
/// (any host address is reachable that way, so the workload needs no knowledge of the sandbox's gateway).
/// </summary>
public sealed class BenchNetwork : IDisposable
{
    private const string NamespacePrefix = "moat-bench-";

    private readonly string _ip;
    private readonly DownloadServer _server;

    private BenchNetwork(string ip, string ns, string hostAddress, DownloadServer server)
    {
        _ip = ip;
        Namespace = ns;
        HostAddress = hostAddress;
        _server = server;
    }

    public string Namespace { get; }

    /// <summary>The host end of the veth, where the download server listens (<c>{server}</c>).</summary>
    public string HostAddress { get; }

    /// <summary>The download server's port (<c>{port}</c>).</summary>
    public int Port => _server.Port;

    /// <summary>The words that run a command in the namespace.</summary>
    public IReadOnlyList<string> NativePrefix => [_ip, "netns", "exec", Namespace];

    /// <summary>Sets it up; null with a one-line reason when this host cannot (not root, no ip(8), no /dev/net/tun ...).</summary>
    public static BenchNetwork? Create(out string? whyNot)
    {
        string? ip = File.Exists("/usr/sbin/ip") ? "/usr/sbin/ip" : File.Exists("/sbin/ip") ? "/sbin/ip" : File.Exists("/usr/bin/ip") ? "/usr/bin/ip" : null;
        whyNot = !Environment.IsPrivilegedProcess ? "needs root (a network namespace, a veth pair, and moat's --network=sandbox)"
            : !File.Exists("/dev/net/tun") ? "needs /dev/net/tun (moat's --network=sandbox)"
            : ip == null ? "needs ip(8) (iproute2)"
            : null;
        if (whyNot != null)
        {
            return null;
        }

        RemoveStale(ip!);
        string pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        string ns = NamespacePrefix + pid, hostEnd = "mbench" + pid, nsEnd = "mbenchn" + pid;
        uint block = ChooseBlock(Run(ip!, ["-o", "-4", "addr", "show"], out _) ?? string.Empty);
        string host = Dotted(block + 1), inside = Dotted(block + 2);
        string[][] steps =
        [
            ["netns", "add", ns],
            ["link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd, "netns", ns],
            ["addr", "add", host + "/30", "dev", hostEnd],
            ["link", "set", hostEnd, "up"],
            ["-n", ns, "link", "set", "lo", "up"],
            ["-n", ns, "addr", "add", inside + "/30", "dev", nsEnd],
            ["-n", ns, "link", "set", nsEnd, "up"],
            ["-n", ns, "route", "add", "default", "via", host],
        ];
        foreach (string[] step in steps)
        {
            if (Run(ip!, step, out string error) == null)
            {
                Run(ip!, ["netns", "delete", ns], out _);
                whyNot = $"ip {string.Join(' ', step)}: {error}";
                return null;
            }
        }

        return new BenchNetwork(ip!, ns, host, new DownloadServer(IPAddress.Parse(host)));
    }

    /// <summary>Stops the server and deletes the namespace (its veth end goes with it, and the host end with that).</summary>
    public void Dispose()
    {
        _server.Dispose();
        Run(_ip, ["netns", "delete", Namespace], out _);
    }

    /// <summary>The first /30 of 10.201.0.0/16 whose .1 no host interface has, from <c>ip -o -4 addr show</c>.</summary>
    internal static uint ChooseBlock(string ipAddrShow)
    {
        for (uint i = 0; i < 16384; i++)
        {
            uint block = (10u << 24) | (201u << 16) | (i << 2);
            if (!ipAddrShow.Contains(" " + Dotted(block + 1) + "/", StringComparison.Ordinal))
            {
                return block;
            }
        }

        return (10u << 24) | (201u << 16);
    }

    /// <summary>Names of <c>ip netns list</c> left by a bench whose process is gone (it was killed).</summary>
    internal static IEnumerable<string> StaleNamespaces(string ipNetnsList, Func<int, bool> alive)
    {
        foreach (string line in ipNetnsList.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string name = line.Split(' ')[0];
            if (name.StartsWith(NamespacePrefix, StringComparison.Ordinal) &&
                int.TryParse(name.AsSpan(NamespacePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && !alive(pid))
            {
                yield return name;
            }
        }
    }

    internal static string Dotted(uint a) =>
        string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}");

    private static void RemoveStale(string ip)
    {
        foreach (string ns in StaleNamespaces(Run(ip, ["netns", "list"], out _) ?? string.Empty, pid => Directory.Exists($"/proc/{pid}")))
        {
            Run(ip, ["netns", "delete", ns], out _);
        }
    }

    // Runs ip(8); its stdout, or null with its stderr in error.
    private static string? Run(string ip, IEnumerable<string> args, out string error)
    {
        var psi = new ProcessStartInfo(ip) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {ip}");
        string output = p.StandardOutput.ReadToEnd();
        error = p.StandardError.ReadToEnd().Trim();
        p.WaitForExit();
        return p.ExitCode == 0 ? output : null;
    }
}
