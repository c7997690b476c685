using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// The gofer as the host sees it while a sandbox runs: in namespaces of its own, seeing only its root
/// (read-only), with five capabilities, no_new_privs and a seccomp filter; and `moat do` works as a user
/// other than root (where user namespaces are allowed).
/// </summary>
public sealed class GoferConfinementTests
{
    // Only the Native AOT build (MOAT_BINARY, as ./test.sh runs the suite) confines its gofer: see GoferProcess.
    private static bool Aot => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MOAT_BINARY"));

    [Fact]
    public void Gofer_RunsInItsOwnNamespaces_SeesOnlyItsRoot_UnderSeccomp()
    {
        if (!Aot)
        {
            return;
        }

        string top = HostScratch.NewDirectory("confined");
        string root = Path.Combine(top, "root");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        File.WriteAllText(Path.Combine(root, "marker"), "root\n");
        File.WriteAllText(Path.Combine(top, "outside"), "outside\n");

        using Process moat = StartDo(root, "/bin/busybox", "sh", "-c", "/bin/busybox echo ready; /bin/busybox sleep 30");
        try
        {
            Assert.Equal("ready", moat.StandardOutput.ReadLine());
            int gofer = WaitForGofer(moat.Id);
            string status = File.ReadAllText($"/proc/{gofer}/status");
            Assert.Contains("Seccomp:\t2", status); // filter mode
            Assert.Contains("NoNewPrivs:\t1", status);
            Assert.Contains("CapEff:\t000000000000001f", status); // chown, dac_override, dac_read_search, fowner, fsetid
            Assert.Contains("CapBnd:\t000000000000001f", status);
            Assert.Matches(@"NSpid:\t\d+\t1\n", status); // PID 1 of a PID namespace of its own

            foreach (string ns in new[] { "user", "mnt", "net", "pid", "ipc", "uts", "cgroup" })
            {
                Assert.NotEqual(NsLink("self", ns), NsLink(gofer.ToString(System.Globalization.CultureInfo.InvariantCulture), ns));
            }

            // Its root is the sandbox's root: the file beside it is not there, and the mount is read-only.
            string[] seen = Directory.GetFileSystemEntries($"/proc/{gofer}/root").Select(Path.GetFileName).ToArray()!;
            Assert.Contains("marker", seen);
            Assert.DoesNotContain("outside", seen);
            string rootMount = File.ReadAllLines($"/proc/{gofer}/mountinfo").Single(l => l.Split(' ')[4] == "/");
            Assert.Contains(" ro,", rootMount);
            Assert.Contains("nodev", rootMount);
        }
        finally
        {
            moat.Kill();
            moat.WaitForExit();
        }
    }

    [Fact]
    public void NonRoot_RunsConfined_WhereUserNamespacesAreAllowed()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            return; // the suite runs as root in CI; as another user every test is this one already
        }

        (string moat, string[] prefix) = MoatCli.Command;
        RunResult r = ProcessRunner.Run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", moat, .. prefix, "do", "--", "/bin/sh", "-c", "id -u; cat /etc/hostname >/dev/null && echo read"],
            "/");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("65534\nread\n", r.StdoutText);
    }

    [Fact]
    public void WithoutUserNamespaces_FailsWithAReason_AndConfineNoneStillRuns()
    {
        if (!Aot || Environment.UserName != "root" || !File.Exists("/usr/bin/unshare"))
        {
            return;
        }

        // A user namespace of our own whose limit of nested user namespaces is 0: the gofer's cannot be made.
        (string moat, string[] prefix) = MoatCli.Command;
        string cmd = string.Join(' ', new[] { moat }.Concat(prefix));
        RunResult r = ProcessRunner.Run(
            "/usr/bin/unshare",
            ["-Ur", "sh", "-c", $"echo 0 > /proc/sys/user/max_user_namespaces && {{ {cmd} do -- /bin/true; echo status=$?; {cmd} do --confine=none -- /bin/echo unconfined; }}"],
            "/");
        Assert.Contains("status=1\nunconfined\n", r.StdoutText);
        Assert.Contains("unshare: ENOSPC", r.Stderr);
        Assert.Contains("--confine=none", r.Stderr);
    }

    private static string NsLink(string pid, string ns) => File.ResolveLinkTarget($"/proc/{pid}/ns/{ns}", false)!.ToString();

    private static int WaitForGofer(int moat)
    {
        for (int i = 0; i < 100; i++)
        {
            int[] gofers = HostProcesses.Descendants(moat)
                .Where(p => HostProcesses.CmdLine(p).Contains(" gofer ", StringComparison.Ordinal) && !HostProcesses.CmdLine(p).StartsWith("moat-launcher ", StringComparison.Ordinal))
                .ToArray();
            if (gofers.Length == 1 && File.ReadAllText($"/proc/{gofers[0]}/status").Contains("Seccomp:\t2", StringComparison.Ordinal))
            {
                return gofers[0];
            }

            Thread.Sleep(50);
        }

        throw new InvalidOperationException("no confined gofer below moat");
    }

    private static Process StartDo(string root, params string[] command)
    {
        (string file, string[] prefix) = MoatCli.Command;
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in prefix.Concat(["do", "--root", root, "--"]).Concat(command))
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        return p;
    }
}
