using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat do --confine=full</c>: the Sentry runs under its own seccomp allow-list (and no_new_privs on
/// every thread). Every conformance program (static flavour), a shell pipeline and python3 with threads
/// run under it and must still match native: the allow-list is measured, and this is where a missing
/// entry shows (the Sentry is killed with SIGSYS).
/// </summary>
[Collection(CProgramsCollection.Name)]
public sealed class SentryConfinementTests
{
    private readonly CProgramsFixture _programs;

    public SentryConfinementTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        // The dynamic flavour passes too (run by hand); CI keeps to one flavour, as timing-sensitive programs
        // (jobctl's native side races on a loaded machine) would otherwise run twice more.
        foreach (string flavour in new[] { "static" })
        {
            foreach ((string name, string[] args) in CProgramsFixture.Cases())
            {
                data.Add(flavour, name, string.Join(' ', args));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Program_UnderSentryFilter_MatchesNative(string flavour, string name, string args)
    {
        string dir = _programs.Dir(flavour);
        string[] argv = args.Length == 0 ? [] : args.Split(' ');
        RunResult native = ProcessRunner.Run(Path.Combine(dir, name), argv, dir);
        RunResult moat = MoatCli.Do([$"./{name}", .. argv], dir, null, "--confine=full");
        Assert.True(native.ExitCode == moat.ExitCode, $"exit status: native {native.ExitCode}, moat {moat.ExitCode}\nmoat stderr:\n{moat.Stderr}");
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void ShellPipelineAndPythonThreads_RunUnderTheFilter()
    {
        RunResult r = MoatCli.Do(
            ["/bin/sh", "-c", "echo abc | tr a-z A-Z; ls / | grep -c . >/dev/null && echo listed; python3 -c 'import threading; t = threading.Thread(target=print, args=(42,)); t.start(); t.join()'"],
            HostScratch.Root,
            null,
            "--confine=full");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("ABC\nlisted\n42\n", r.StdoutText);
    }

    [Fact]
    public void Sentry_IsJailed_FilterNamespacesEmptyRootNoCapabilities()
    {
        using Process moat = StartSleeper();
        try
        {
            Assert.Equal("ready", moat.StandardOutput.ReadLine());
            int sentry = JailedSentryPid(moat.Id);

            // The seccomp filter and no_new_privs on every thread.
            string[] threads = Directory.GetDirectories($"/proc/{sentry}/task");
            Assert.NotEmpty(threads);
            foreach (string t in threads)
            {
                string status = File.ReadAllText(Path.Combine(t, "status"));
                Assert.Contains("Seccomp:\t2", status);
                Assert.Contains("NoNewPrivs:\t1", status);
            }

            // On the thread that serves (and starts the sandbox's threads) only CHOWN, FOWNER and FSETID remain.
            string main = File.ReadAllText($"/proc/{sentry}/status");
            Assert.Contains("CapEff:\t0000000000000019", main);
            Assert.Contains("CapBnd:\t0000000000000019", main);

            // Namespaces of its own, the network one included (--network=none).
            foreach (string ns in new[] { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup" })
            {
                Assert.NotEqual(ReadLink($"/proc/self/ns/{ns}"), ReadLink($"/proc/{sentry}/ns/{ns}"));
            }

            // Its root holds a procfs of its own PID namespace and nothing else; the mount table has only those two.
            Assert.Equal("proc", string.Join(",", Directory.GetFileSystemEntries($"/proc/{sentry}/root").Select(Path.GetFileName)));
            string[] mounts = File.ReadAllLines($"/proc/{sentry}/mountinfo");
            Assert.Equal(2, mounts.Length);
            Assert.Contains(mounts, m => m.Contains(" / ro,", StringComparison.Ordinal) && m.Contains(" - tmpfs ", StringComparison.Ordinal));
            Assert.Contains(mounts, m => m.Contains(" /proc ro,", StringComparison.Ordinal) && m.Contains("subset=pid", StringComparison.Ordinal));

            // The stubs hold the MemoryFile at fd 3 (and systrap's sysmsg file at 4), nothing else of the host.
            int[] stubs = Descendants(sentry).ToArray();
            Assert.NotEmpty(stubs);
            foreach (int stub in stubs)
            {
                string fds = string.Join(",", Directory.GetFileSystemEntries($"/proc/{stub}/fd").Select(Path.GetFileName).Order(StringComparer.Ordinal));
                Assert.True(fds is "3" or "3,4", $"stub {stub} holds fds {fds}");
            }

            // The gofer (which sees the host's files) is not among the processes the Sentry can see.
            foreach (string dir in Directory.GetDirectories($"/proc/{sentry}/root/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out _))
                {
                    string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                    Assert.DoesNotContain("gofer", cmdline, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            moat.Kill();
            moat.WaitForExit();
        }
    }

    [Fact]
    public void JailedSentry_SignalsAreForwarded_AndStatusPassesThrough()
    {
        using Process moat = MoatCli.StartWithOptions(HostScratch.Root, ["--confine=full"], "/bin/sh", "-c", "trap 'echo got TERM; exit 5' TERM; echo ready; read line");
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        Assert.Equal(0, ProcessRunner.Run("kill", ["-TERM", moat.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], HostScratch.Root).ExitCode);
        Assert.Equal("got TERM", moat.StandardOutput.ReadLine());
        Assert.True(moat.WaitForExit(30_000));
        Assert.Equal(5, moat.ExitCode);
    }

    [Fact]
    public void JailedSentry_SigkillOfMoat_LeavesNoProcessBehind()
    {
        using Process moat = StartSleeper();
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        int[] tree = Descendants(moat.Id).ToArray();
        Assert.NotEmpty(tree);
        ProcessRunner.Run("kill", ["-KILL", moat.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], HostScratch.Root);
        moat.WaitForExit();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (tree.Any(Alive) && DateTime.UtcNow < deadline)
        {
            System.Threading.Thread.Sleep(50);
        }

        Assert.DoesNotContain(tree, Alive);
    }

    private static Process StartSleeper() => MoatCli.StartWithOptions(HostScratch.Root, ["--confine=full"], "/bin/sh", "-c", "echo ready; read line");

    // The jailed Sentry: the process below moat whose command line says so.
    private static int JailedSentryPid(int moat)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            foreach (int pid in Descendants(moat))
            {
                string cmdline;
                try
                {
                    cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
                }
                catch (IOException)
                {
                    continue;
                }

                if (cmdline.Contains("--jailed-sentry", StringComparison.Ordinal) && !cmdline.StartsWith("moat-launcher", StringComparison.Ordinal))
                {
                    return pid;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "no jailed Sentry below moat");
            System.Threading.Thread.Sleep(50);
        }
    }

    // Every process below pid: children are listed per thread that spawned them.
    private static System.Collections.Generic.IEnumerable<int> Descendants(int pid)
    {
        var children = new System.Collections.Generic.List<int>();
        try
        {
            foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                foreach (string c in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    children.Add(int.Parse(c, System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }
        catch (IOException)
        {
        }

        foreach (int child in children)
        {
            yield return child;
            foreach (int d in Descendants(child))
            {
                yield return d;
            }
        }
    }

    private static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    private static string ReadLink(string path) => new FileInfo(path).LinkTarget ?? string.Empty;
}
