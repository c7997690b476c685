using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>linux.namespaces' network path (a pod's CNI namespace), compared with runc.</summary>
public sealed partial class OciRuntimeTests
{
    [Fact]
    public void Run_WithANetworkNamespacePath_HostNetwork_TheContainerUsesThatNamespace_AsUnderRunc()
    {
        // A namespace as CNI would leave it, reduced to loopback: lo up with an address of its own. Only a process
        // in that namespace reaches 10.200.0.1 (the host's namespace has no such address; a new one has only lo).
        string ns = "moat-test-" + Guid.NewGuid().ToString("N")[..8];
        Assert.True(ProcessRunner.Run("ip", ["netns", "add", ns], "/").ExitCode == 0, "ip netns add");
        try
        {
            Assert.Equal(0, ProcessRunner.Run("ip", ["-n", ns, "link", "set", "lo", "up"], "/").ExitCode);
            Assert.Equal(0, ProcessRunner.Run("ip", ["-n", ns, "addr", "add", "10.200.0.1/32", "dev", "lo"], "/").ExitCode);
            // ip addr lists what the namespace has (netlink dumps); nc reaches the namespace's server.
            string bundle = Bundle("ip addr; echo \"hello from $0\" | nc 10.200.0.1 9000; echo \"status $?\"");
            File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", "bin", "nc"), "busybox");
            File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", "bin", "ip"), "busybox");
            EditConfig(bundle, c =>
            {
                foreach (JsonNode? n in c["linux"]!["namespaces"]!.AsArray())
                {
                    if ((string?)n!["type"] == "network")
                    {
                        n["path"] = "/var/run/netns/" + ns;
                    }
                }
            });

            var received = new string[2];
            var printed = new string[2];
            string[] runtimes = ["runc", "moat"];
            for (int i = 0; i < runtimes.Length; i++)
            {
                // The server runs in the namespace on the host side: it takes one connection and keeps its line.
                string got = Path.Combine(HostScratch.NewDirectory("netns"), "got");
                // Its stdin stays open (a pipe the test holds): busybox nc ends the session at EOF on stdin, which
                // could come before the client's line.
                var start = new ProcessStartInfo("/bin/sh", ["-c", $"exec ip netns exec {ns} busybox nc -l -p 9000 > '{got}'"]) { RedirectStandardInput = true };
                using var server = Process.Start(start)!;
                try
                {
                    // 9000 is 0x2328; 0A is LISTEN.
                    WaitFor(() => ProcessRunner.Run("ip", ["netns", "exec", ns, "grep", "-Eqs", ":2328 [0-9A-F:]+ 0A ", "/proc/net/tcp", "/proc/net/tcp6"], "/").ExitCode == 0, "the server to listen");
                    // moat's host networking: the namespace's host sockets (its default, the sandbox's stack, needs an interface to take over).
                    string[] network = runtimes[i] == "moat" ? ["--network", "host"] : [];
                    RunResult r = Runtime(runtimes[i], HostScratch.NewDirectory("state"), [.. network, "run", "--bundle", bundle, runtimes[i][0] + Guid.NewGuid().ToString("N")[..8]]);
                    Assert.True(r.ExitCode == 0, runtimes[i] + ": " + r.Stderr);
                    printed[i] = r.StdoutText;
                    Assert.True(server.WaitForExit(30_000), runtimes[i] + ": the server got no connection");
                    received[i] = File.ReadAllText(got);
                }
                finally
                {
                    if (!server.HasExited)
                    {
                        server.Kill();
                    }
                }
            }

            Assert.Contains("inet 10.200.0.1/32 scope global lo\n", printed[0]);
            Assert.EndsWith("status 0\n", printed[0]);
            Assert.Equal(printed[0], printed[1]);
            Assert.Equal("hello from sh\n", received[0]);
            Assert.Equal(received[0], received[1]);

            // Without --network=host, moat would take the namespace's interface over: lo is all it has, so create
            // fails and says why rather than run the container without a network.
            RunResult none = Runtime("moat", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "m" + Guid.NewGuid().ToString("N")[..8]);
            Assert.NotEqual(0, none.ExitCode);
            Assert.Contains("no interface but lo that is up with an IPv4 address", none.Stderr);
        }
        finally
        {
            ProcessRunner.Run("ip", ["netns", "del", ns], "/");
        }
    }

    [Fact]
    public async Task Run_InAPodNetworkNamespace_TheSentrysStackTakesItsInterfaceOver_AsUnderRunc()
    {
        // A namespace as CNI's bridge or ptp plugin leaves it: eth0, one end of a veth pair, with 10.213.N.2/24 (the
        // broadcast set, as CNI's netlink library sets it) and a default route through the other end, 10.213.N.1,
        // on the host.
        string tag = Guid.NewGuid().ToString("N")[..8];
        string ns = "moat-test-" + tag;
        string hostEnd = "mh" + tag;
        string used = ProcessRunner.Run("ip", ["-o", "-4", "addr", "show"], "/").StdoutText;
        int n = Random.Shared.Next(1, 250);
        while (used.Contains($" 10.213.{n}.", StringComparison.Ordinal))
        {
            n = n % 250 + 1;
        }

        string hostAddr = $"10.213.{n}.1", podAddr = $"10.213.{n}.2";
        Assert.True(ProcessRunner.Run("ip", ["netns", "add", ns], "/").ExitCode == 0, "ip netns add");
        try
        {
            string[][] setup =
            [
                ["link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", ns],
                ["addr", "add", hostAddr + "/24", "dev", hostEnd],
                ["link", "set", hostEnd, "up"],
                ["-n", ns, "link", "set", "lo", "up"],
                ["-n", ns, "link", "set", "eth0", "up"],
                ["-n", ns, "addr", "add", podAddr + "/24", "brd", "+", "dev", "eth0"],
                ["-n", ns, "route", "add", "default", "via", hostAddr],
            ];
            foreach (string[] step in setup)
            {
                RunResult r = ProcessRunner.Run("ip", step, "/");
                Assert.True(r.ExitCode == 0, "ip " + string.Join(' ', step) + ": " + r.Stderr);
            }

            // A download from a server on the host (8 MiB over HTTP), then a server inside that the host connects to.
            byte[] body = new byte[8 << 20];
            new Random(18).NextBytes(body);
            string digest = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(body));
            using var web = new TcpListener(IPAddress.Parse(hostAddr), 0);
            web.Start();
            int webPort = ((IPEndPoint)web.LocalEndpoint).Port;
            string bundle = Bundle($"ip -4 addr show eth0 | grep inet; ip route; wget -q -O - http://{hostAddr}:{webPort}/ | md5sum; echo \"served by $0\" | nc -l -p 8080; echo \"status $?\"");
            foreach (string applet in new[] { "nc", "ip", "wget", "md5sum" })
            {
                string link = Path.Combine(bundle, "rootfs", "bin", applet);
                if (!File.Exists(link))
                {
                    File.CreateSymbolicLink(link, "busybox");
                }
            }

            EditConfig(bundle, c =>
            {
                foreach (JsonNode? node in c["linux"]!["namespaces"]!.AsArray())
                {
                    if ((string?)node!["type"] == "network")
                    {
                        node["path"] = "/var/run/netns/" + ns;
                    }
                }
            });

            string[] runtimes = ["runc", "moat"];
            var printed = new string[2];
            var served = new string[2];
            var addressWhileRunning = new string[2];
            for (int i = 0; i < runtimes.Length; i++)
            {
                Task web1 = Task.Run(() => ServeOnce(web, body));
                string id = runtimes[i][0] + Guid.NewGuid().ToString("N")[..8];
                Task<RunResult> run = Task.Run(() => Runtime(runtimes[i], HostScratch.NewDirectory("state"), "run", "--bundle", bundle, id));
                using var client = new TcpClient();
                var deadline = Stopwatch.StartNew();
                while (true)
                {
                    try
                    {
                        client.Connect(IPAddress.Parse(podAddr), 8080);
                        break;
                    }
                    catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(40) && !run.IsCompleted)
                    {
                        await Task.Delay(100);
                    }
                }

                // The container serves: what the namespace's host side has now.
                addressWhileRunning[i] = ProcessRunner.Run("ip", ["-n", ns, "-4", "addr", "show", "eth0"], "/").StdoutText;
                using (var reader = new StreamReader(client.GetStream(), Encoding.ASCII))
                {
                    served[i] = reader.ReadToEnd();
                }

                RunResult result = await run;
                Assert.True(result.ExitCode == 0, runtimes[i] + ": " + result.Stderr);
                await web1.WaitAsync(TimeSpan.FromSeconds(10));
                printed[i] = result.StdoutText;
            }

            Assert.Equal($"    inet {podAddr}/24 brd 10.213.{n}.255 scope global eth0\n" +
                $"default via {hostAddr} dev eth0 \n10.213.{n}.0/24 dev eth0 scope link  src {podAddr} \n{digest}  -\nstatus 0\n", printed[0]);
            Assert.Equal(printed[0], printed[1]);
            Assert.Equal("served by sh\n", served[0]);
            Assert.Equal(served[0], served[1]);

            // Under runc the host kernel serves the address; under moat the Sentry's stack does, and the host side no
            // longer has it (its TCP would reset the sandbox's connections) until the container ends.
            Assert.Contains($"inet {podAddr}/24", addressWhileRunning[0]);
            Assert.DoesNotContain("inet ", addressWhileRunning[1]);
            string after = ProcessRunner.Run("ip", ["-n", ns, "route"], "/").StdoutText;
            Assert.Contains($"default via {hostAddr} dev eth0", after);
            Assert.Contains($"inet {podAddr}/24", ProcessRunner.Run("ip", ["-n", ns, "-4", "addr", "show", "eth0"], "/").StdoutText);
        }
        finally
        {
            ProcessRunner.Run("ip", ["netns", "del", ns], "/");
            ProcessRunner.Run("ip", ["link", "del", hostEnd], "/");
        }
    }

    // Answers one HTTP request with body.
    private static void ServeOnce(TcpListener listener, byte[] body)
    {
        using TcpClient c = listener.AcceptTcpClient();
        NetworkStream s = c.GetStream();
        var request = new StringBuilder();
        var one = new byte[1];
        while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && s.Read(one) == 1)
        {
            request.Append((char)one[0]);
        }

        s.Write(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
        s.Write(body);
    }
}
