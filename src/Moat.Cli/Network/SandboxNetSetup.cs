using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Moat.Cli.Diagnostics;
using Moat.Host;
using Moat.Sentry;
using Moat.Sentry.Net;

namespace Moat.Cli.Network;

/// <summary>
/// The host side of <c>moat do --network=sandbox</c>. Moat makes a TAP device named after its pid
/// (<c>moat&lt;pid&gt;</c>), gives it the gateway's address of the first free /30 in 10.200.0.0/16 (10.200.0.1,
/// the sandbox taking .2), brings it up, turns on IPv4 forwarding and masquerades the sandbox's
/// traffic to the outside with nftables (or iptables; neither: the sandbox reaches the host only). The
/// Sentry's stack owns the other end of the wire through the device's fd. The device is not persistent: it
/// goes when the last fd closes, a crash included; the NAT rules carry the same name and are removed at the
/// end, and rules whose moat is gone are removed when the next sandbox network is set up.
/// </summary>
internal sealed class SandboxNetSetup : IDisposable
{
    private const string NamePrefix = "moat";
    private const string ForwardPath = "/proc/sys/net/ipv4/ip_forward";

    private readonly DebugLog _log;
    private readonly string _name;
    private readonly string? _natTool;
    private readonly string? _natRule;

    // This moat turned net.ipv4.ip_forward on.
    private bool _forwardingOn;

    private SandboxNetSetup(DebugLog log, string name, SandboxLink link, string? natTool, string? natRule)
    {
        _log = log;
        _name = name;
        Link = link;
        _natTool = natTool;
        _natRule = natRule;
    }

    /// <summary>The device and addresses the Sentry takes.</summary>
    public SandboxLink Link { get; }

    /// <summary>Sets the network up; null with a one-line reason (not root, no ip(8), no /dev/net/tun, ...).</summary>
    public static SandboxNetSetup? Create(DebugLog log, out string? error)
    {
        if (HostProcess.Syscall(Moat.Abi.Sysno.geteuid) != 0)
        {
            error = "--network=sandbox needs root: it creates a TAP device, addresses and NAT rules on the host";
            return null;
        }

        string? ip = Find("ip");
        if (ip == null)
        {
            error = "--network=sandbox needs ip(8) (iproute2) on the host";
            return null;
        }

        string? nft = Find("nft");
        string? iptables = nft == null ? Find("iptables") : null;
        RemoveStale(log, nft, iptables);

        int pid = Environment.ProcessId;
        string name = NamePrefix + pid.ToString(CultureInfo.InvariantCulture);
        SafeFdHandle? tap = SandboxTap.Open(name, out Moat.Abi.Errno err);
        if (tap == null)
        {
            error = $"--network=sandbox: cannot create TAP device {name} (/dev/net/tun): {LinuxError.Text(err)}";
            return null;
        }

        uint block = ChooseBlock(ip);
        string net = Dotted(block);
        string gateway = Dotted(block + 1);
        string address = Dotted(block + 2);
        if (!Run(log, ip, ["addr", "add", gateway + "/30", "dev", name], out string? why) ||
            !Run(log, ip, ["link", "set", name, "up"], out why))
        {
            tap.Dispose();
            error = $"--network=sandbox: configuring {name}: {why}";
            return null;
        }

        // Forwarding is host-wide: the NAT of the sandbox's traffic needs it while the sandbox runs; the last
        // moat that turned it on turns it off again (docs/netstack.md).
        string? natTool = null, natRule = null;
        bool forwardingOn = false;
        if (nft != null || iptables != null)
        {
            try
            {
                if (File.ReadAllText(ForwardPath).Trim() == "0")
                {
                    File.WriteAllText(ForwardPath, "1");
                    forwardingOn = true;
                }
            }
            catch (IOException e)
            {
                log.WriteLine($"moat: --network=sandbox: cannot turn on ip_forward: {e.Message}");
            }

            if (nft != null)
            {
                string script = $"table ip {name} {{\n chain post {{\n  type nat hook postrouting priority 100; policy accept;\n  ip saddr {net}/30 oifname != \"{name}\" masquerade\n }}\n}}\n";
                if (Run(log, nft, ["-f", "-"], out why, script))
                {
                    (natTool, natRule) = (nft, name);
                }
            }
            else if (Run(log, iptables!, ["-t", "nat", "-A", "POSTROUTING", "-s", net + "/30", "!", "-o", name, "-j", "MASQUERADE", "-m", "comment", "--comment", name], out why))
            {
                (natTool, natRule) = (iptables, net + "/30");
            }

            if (natTool == null)
            {
                log.WriteLine($"moat: --network=sandbox: no NAT ({why}): the sandbox reaches the host only");
            }
        }
        else
        {
            log.WriteLine("moat: --network=sandbox: neither nft nor iptables: no NAT, the sandbox reaches the host only");
        }

        // A locally administered MAC made from the pid.
        ulong mac = 0x02_00_4d_00_00_00UL | ((ulong)pid & 0xFFFFFF);
        var link = new SandboxLink(tap, name, address, 30, gateway, mac);
        log.Debug($"sandbox network: {name} host {gateway}/30, sandbox {address}, NAT {(natTool != null ? Path.GetFileName(natTool) : "none")}");
        error = null;
        return new SandboxNetSetup(log, name, link, natTool, natRule) { _forwardingOn = forwardingOn };
    }

    /// <summary>Removes the NAT rules (the TAP device goes with its last fd).</summary>
    public void Dispose()
    {
        if (_natTool != null)
        {
            RemoveNat(_log, _natTool, _name, _natRule!);
        }

        if (_forwardingOn && !OtherSandboxNat(_natTool))
        {
            try
            {
                File.WriteAllText(ForwardPath, "0");
            }
            catch (IOException e)
            {
                _log.WriteLine($"moat: --network=sandbox: cannot turn ip_forward off again: {e.Message}");
            }
        }

        Link.Tap.Dispose();
    }

    private static void RemoveNat(DebugLog log, string tool, string name, string rule)
    {
        if (Path.GetFileName(tool) == "nft")
        {
            Run(log, tool, ["delete", "table", "ip", name], out _);
        }
        else
        {
            Run(log, tool, ["-t", "nat", "-D", "POSTROUTING", "-s", rule, "!", "-o", name, "-j", "MASQUERADE", "-m", "comment", "--comment", name], out _);
        }
    }

    // Whether another live moat's NAT rules are still there (it still needs forwarding).
    private static bool OtherSandboxNat(string? tool)
    {
        if (tool == null)
        {
            return false;
        }

        string listing = (Path.GetFileName(tool) == "nft" ? Capture(tool, ["list", "tables"]) : Capture(tool, ["-t", "nat", "-S", "POSTROUTING"])) ?? string.Empty;
        return listing.Contains(" " + NamePrefix, StringComparison.Ordinal);
    }

    // NAT rules named after a moat whose process is gone (it crashed or was killed) are removed.
    private static void RemoveStale(DebugLog log, string? nft, string? iptables)
    {
        if (nft != null && Capture(nft, ["list", "tables"]) is string tables)
        {
            foreach (string line in tables.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length == 3 && f[0] == "table" && f[1] == "ip" && IsStale(f[2]))
                {
                    Run(log, nft, ["delete", "table", "ip", f[2]], out _);
                }
            }
        }

        if (iptables != null && Capture(iptables, ["-t", "nat", "-S", "POSTROUTING"]) is string rules)
        {
            foreach (string line in rules.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                int c = Array.IndexOf(f, "--comment");
                if (f.Length > 2 && f[0] == "-A" && c > 0 && c + 1 < f.Length && IsStale(f[c + 1]))
                {
                    f[0] = "-D";
                    Run(log, iptables, ["-t", "nat", .. f], out _);
                }
            }
        }
    }

    private static bool IsStale(string name) =>
        name.StartsWith(NamePrefix, StringComparison.Ordinal) &&
        int.TryParse(name.AsSpan(NamePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) &&
        !Directory.Exists("/proc/" + pid.ToString(CultureInfo.InvariantCulture));

    // The first /30 of 10.200.0.0/16 that no host interface uses: 10.200.0.1 (host) and .2 (sandbox) for the first sandbox.
    private static uint ChooseBlock(string ip)
    {
        string used = Capture(ip, ["-o", "-4", "addr", "show"]) ?? string.Empty;
        for (int i = 0; i < 16384; i++)
        {
            uint block = (10u << 24) | (200u << 16) | ((uint)i << 2);
            if (!used.Contains(" " + Dotted(block + 1) + "/", StringComparison.Ordinal))
            {
                return block;
            }
        }

        return (10u << 24) | (200u << 16);
    }

    private static string Dotted(uint a) =>
        string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}");

    private static string? Find(string tool)
    {
        foreach (string dir in new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" })
        {
            string path = Path.Combine(dir, tool);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static string? Capture(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process? p = Process.Start(psi);
        if (p == null)
        {
            return null;
        }

        string output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? output : null;
    }

    private static bool Run(DebugLog log, string file, IEnumerable<string> args, out string? error, string? input = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input != null, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process? p = Process.Start(psi);
        if (p == null)
        {
            error = $"cannot run {file}";
            return false;
        }

        if (input != null)
        {
            p.StandardInput.Write(input);
            p.StandardInput.Close();
        }

        p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd().Trim();
        p.WaitForExit();
        log.Debug($"{Path.GetFileName(file)} {string.Join(' ', psi.ArgumentList)}: exit {p.ExitCode} {err}");
        error = p.ExitCode == 0 ? null : $"{Path.GetFileName(file)} {string.Join(' ', psi.ArgumentList)}: {err}";
        return p.ExitCode == 0;
    }
}
