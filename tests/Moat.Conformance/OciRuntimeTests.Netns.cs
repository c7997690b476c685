using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>linux.namespaces' network path (a pod's CNI namespace), compared with runc.</summary>
public sealed partial class OciRuntimeTests
{
    [Fact]
    public void Run_WithANetworkNamespacePath_TheContainerUsesThatNamespace_AsUnderRunc()
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
                    RunResult r = Runtime(runtimes[i], HostScratch.NewDirectory("state"), "run", "--bundle", bundle, runtimes[i][0] + Guid.NewGuid().ToString("N")[..8]);
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
        }
        finally
        {
            ProcessRunner.Run("ip", ["netns", "del", ns], "/");
        }
    }
}
