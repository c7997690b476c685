using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Moat.Conformance.Harness;

/// <summary>
/// Finds the jailed Sentry below a moat process (<c>moat do</c>, or an OCI container's pid) and checks, from
/// the host, what its jail is made of: filter, capabilities, namespaces, root, mounts, the stubs' fds.
/// </summary>
public static class JailedSentry
{
    /// <summary>The process below <paramref name="moat"/> whose command line marks it the jailed Sentry (not its launcher).</summary>
    public static int Find(int moat)
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

    /// <summary>Every process below <paramref name="pid"/>: children are listed per thread that spawned them.</summary>
    public static IEnumerable<int> Descendants(int pid)
    {
        var children = new List<int>();
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

    /// <summary>Asserts the jail of the running Sentry <paramref name="sentry"/>.</summary>
    public static void AssertJailed(int sentry)
    {
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

        // The stubs hold the MemoryFile at fd 3 (and systrap's sysmsg file at 4, unless MOAT_SYSTRAP_MAPPER=0 its
        // mapper's request file at 5 and answer pipe at 6), nothing else of the host.
        int[] stubs = Descendants(sentry).ToArray();
        for (int i = 0; i < 500 && stubs.Length == 0; i++)
        {
            System.Threading.Thread.Sleep(20); // a container's start returns before init's stub is spawned
            stubs = Descendants(sentry).ToArray();
        }

        Assert.NotEmpty(stubs);
        foreach (int stub in stubs)
        {
            // A stub caught between posix_spawn's fork and its execve still holds the Sentry's fds: give it time.
            string fds = StubFds(stub);
            for (int i = 0; i < 100 && fds is not ("3" or "3,4" or "3,4,5,6" or ""); i++)
            {
                System.Threading.Thread.Sleep(20);
                fds = StubFds(stub);
            }

            Assert.True(fds is "3" or "3,4" or "3,4,5,6" or "", $"stub {stub} holds fds {fds}");
            string[] targets = fds.Length == 0 ? [] : fds.Split(',').Select(fd => ReadLink($"/proc/{stub}/fd/{fd}")).ToArray();
            string[] expected = ["/memfd:moat-memory", "/memfd:moat-sysmsg", "/memfd:moat-mapper", "pipe:"];
            if (targets.Contains(string.Empty) && StubFds(stub).Length == 0)
            {
                continue; // the stub exited (gone, or a zombie without fds) between the listing and the reading
            }

            for (int i = 0; i < targets.Length; i++)
            {
                Assert.True(targets[i].StartsWith(expected[i], StringComparison.Ordinal), $"stub {stub} fd {3 + i} is {targets[i]}");
            }
        }

        // The gofer (which sees the host's files) is not among the processes the Sentry can see.
        foreach (string dir in Directory.GetDirectories($"/proc/{sentry}/root/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out _) && ReadIfThere(Path.Combine(dir, "cmdline")) is string cmdline)
            {
                Assert.DoesNotContain("gofer", cmdline, StringComparison.Ordinal);
            }
        }
    }

    // A stub's fds, sorted; empty once it is gone.
    private static string StubFds(int stub)
    {
        try
        {
            return string.Join(",", Directory.GetFileSystemEntries($"/proc/{stub}/fd").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    // A process's file, or null when the process ended between the listing and the read.
    private static string? ReadIfThere(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string ReadLink(string path) => new FileInfo(path).LinkTarget ?? string.Empty;
}
