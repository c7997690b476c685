using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat do --network=sandbox</c>: the Sentry's own TCP/IP stack on a TAP device whose host side is the
/// gateway, 10.200.0.1 (docs/netstack.md). Servers here listen on every host address, so 10.200.0.1 reaches
/// them (it is a host address while a sandbox network exists). Needs root, /dev/net/tun and ip(8); skipped
/// with the reason elsewhere.
/// </summary>
// In the C programs' collection: with NAT, a sandbox network turns the host's ip_forward on while it runs,
// which proc_net's native run would read (/proc/net/snmp's Forwarding).
[Collection(CProgramsCollection.Name)]
public sealed class SandboxNetworkTests
{
    private const string Gateway = "10.200.0.1";

    /// <summary>A program inside downloads 8 MiB from a TCP server on the host and prints their SHA-256.</summary>
    [SandboxNetworkFact]
    public void Download_FromHostServer_BytesArriveWhole()
    {
        byte[] data = new byte[8 << 20];
        new Random(18).NextBytes(data);
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = new Thread(() =>
        {
            try
            {
                using TcpClient c = listener.AcceptTcpClient();
                c.GetStream().Write(data);
            }
            catch (SocketException)
            {
                // The listener was stopped: the sandbox never connected, which the assertions report.
            }
        }) { IsBackground = true };
        server.Start();
        const string script =
            "import socket, hashlib, sys\n" +
            "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)\n" +
            "h = hashlib.sha256(); n = 0\n" +
            "while True:\n" +
            "    b = s.recv(1 << 16)\n" +
            "    if not b: break\n" +
            "    h.update(b); n += len(b)\n" +
            "print(n, h.hexdigest())\n";
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", script, Gateway, Num(port)], HostScratch.Root, null, "--network=sandbox");
        listener.Stop();
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal($"{data.Length} {Convert.ToHexStringLower(SHA256.HashData(data))}\n", r.StdoutText);
    }

    /// <summary>A program inside uploads 4 MiB to the host (the other direction) and the host checks the bytes.</summary>
    [SandboxNetworkFact]
    public void Upload_ToHostServer_BytesArriveWhole()
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        byte[]? received = null;
        var server = new Thread(() =>
        {
            try
            {
                using TcpClient c = listener.AcceptTcpClient();
                using var ms = new MemoryStream();
                c.GetStream().CopyTo(ms);
                received = ms.ToArray();
            }
            catch (SocketException)
            {
            }
        }) { IsBackground = true };
        server.Start();
        const string script =
            "import socket, sys\n" +
            "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)\n" +
            "s.sendall(bytes(range(256)) * (4 * 4096)); s.close()\n";
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", script, Gateway, Num(port)], HostScratch.Root, null, "--network=sandbox");
        server.Join(TimeSpan.FromSeconds(60));
        listener.Stop();
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.NotNull(received);
        Assert.Equal(4 << 20, received!.Length);
        for (int i = 0; i < received.Length; i++)
        {
            Assert.True(received[i] == (byte)i, $"byte {i} is {received[i]}");
        }
    }

    /// <summary>UDP: a datagram to an echo server on the host comes back, from the server's address and port.</summary>
    [SandboxNetworkFact]
    public void UdpEcho_ThroughTheGateway_ComesBack()
    {
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Any, 0));
        int port = ((IPEndPoint)udp.Client.LocalEndPoint!).Port;
        var server = new Thread(() =>
        {
            try
            {
                var from = new IPEndPoint(IPAddress.Any, 0);
                byte[] d = udp.Receive(ref from);
                udp.Send(d, d.Length, from);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }) { IsBackground = true };
        server.Start();
        const string script =
            "import socket, sys\n" +
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(30)\n" +
            "s.sendto(b'moat-udp', (sys.argv[1], int(sys.argv[2])))\n" +
            "d, a = s.recvfrom(100)\n" +
            "print(d.decode(), a[0], a[1] == int(sys.argv[2]), s.getsockname()[0])\n";
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", script, Gateway, Num(port)], HostScratch.Root, null, "--network=sandbox");
        Assert.True(r.ExitCode == 0, r.Stderr);
        // An unconnected socket bound by its first sendto names the wildcard address, as in Linux.
        Assert.Equal($"moat-udp {Gateway} True 0.0.0.0\n", r.StdoutText);
    }

    /// <summary>
    /// An unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP) pings the gateway and the sandbox's own loopback:
    /// the replies carry the sequence sent and the data, with the socket's identifier.
    /// </summary>
    [SandboxNetworkFact]
    public void PingSocket_GatewayAndLoopback_Answer()
    {
        const string script =
            "import socket, struct, sys\n" +
            "for dst in (sys.argv[1], '127.0.0.1'):\n" +
            "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); s.settimeout(30)\n" +
            "    s.sendto(struct.pack('!BBHHH', 8, 0, 0, 0, 7) + b'moat-ping', (dst, 0))\n" +
            "    d, a = s.recvfrom(100)\n" +
            "    t, c, _, ident, seq = struct.unpack('!BBHHH', d[:8])\n" +
            "    print(dst, a[0], t, c, ident == s.getsockname()[1], seq, d[8:].decode())\n";
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", script, Gateway], HostScratch.Root, null, "--network=sandbox");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal($"{Gateway} {Gateway} 0 0 True 7 moat-ping\n127.0.0.1 127.0.0.1 0 0 True 7 moat-ping\n", r.StdoutText);
    }

    /// <summary>A connection to a closed port of the host is refused (the host's RST reaches the stack).</summary>
    [SandboxNetworkFact]
    public void Connect_ToClosedHostPort_IsRefused()
    {
        int port;
        using (var l = new TcpListener(IPAddress.Any, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }

        const string script =
            "import socket, sys\n" +
            "try:\n" +
            "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)\n" +
            "    print('connected')\n" +
            "except ConnectionRefusedError:\n" +
            "    print('refused')\n";
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", script, Gateway, Num(port)], HostScratch.Root, null, "--network=sandbox");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("refused\n", r.StdoutText);
    }

    /// <summary>The TAP device goes with the sandbox: no moat device of this run is left on the host.</summary>
    [SandboxNetworkFact]
    public void AfterTheSandbox_ItsDeviceIsGone()
    {
        RunResult r = MoatCli.Do(["/bin/true"], HostScratch.Root, null, "--network=sandbox");
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (string dev in Directory.GetDirectories("/sys/class/net"))
        {
            string name = Path.GetFileName(dev);
            if (name.StartsWith("moat", StringComparison.Ordinal) &&
                int.TryParse(name.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                Assert.True(Directory.Exists("/proc/" + Num(pid)), $"{name} outlived its moat");
            }
        }
    }

    /// <summary>As another user, --network=sandbox says in one line that it needs root and exits 1.</summary>
    [Fact]
    public void NotRoot_SaysItNeedsRoot()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            return; // run as root (as CI does) to drop to another user here; as another user see the skips above
        }

        (string moat, string[] prefix) = MoatCli.Command;
        RunResult r = ProcessRunner.Run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", moat, .. prefix, "do", "--network=sandbox", "--", "/bin/true"],
            "/");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--network=sandbox needs root", r.Stderr);
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>A fact skipped, with the reason, where moat cannot make a sandbox network.</summary>
    private sealed class SandboxNetworkFactAttribute : FactAttribute
    {
        public SandboxNetworkFactAttribute()
        {
            if (Environment.UserName != "root")
            {
                Skip = "--network=sandbox needs root (it creates a TAP device and addresses on the host)";
            }
            else if (!File.Exists("/dev/net/tun"))
            {
                Skip = "--network=sandbox needs /dev/net/tun";
            }
            else if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip") && !File.Exists("/bin/ip"))
            {
                Skip = "--network=sandbox needs ip(8) (Debian's iproute2 package)";
            }
            else if (!File.Exists("/usr/bin/python3"))
            {
                Skip = "the programs inside are python3 scripts (Debian's python3 package)";
            }
        }
    }
}
