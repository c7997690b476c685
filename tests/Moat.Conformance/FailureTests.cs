using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// When a part of the sandbox dies, the rest behaves: a killed gofer stops the sandbox rather than hang it,
/// a killed stub kills its tasks, and SIGKILL to <c>moat do</c> leaves no process of the sandbox behind.
/// </summary>
public sealed class FailureTests
{
    [Fact]
    public void KilledGofer_StopsTheSandbox_NoHang()
    {
        string dir = HostScratch.NewDirectory("gofer-kill");
        string src = Path.Combine(dir, "late_open.c");
        File.WriteAllText(src, """
            #include <errno.h>
            #include <fcntl.h>
            #include <stdio.h>
            #include <unistd.h>
            int main(void) {
                char c;
                printf("ready\n");
                fflush(stdout);
                if (read(0, &c, 1) != 1) return 2;
                int fd = open("/etc/moat-never-looked-up-before", O_RDONLY);
                int e = errno;
                printf("%s\n", fd < 0 && e == EIO ? "EIO" : fd < 0 && e == ENOENT ? "ENOENT" : "other");
                return 0;
            }
            """);
        Compile(src, Path.Combine(dir, "late_open"));

        using Process moat = MoatCli.Start(dir, "./late_open");
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        // The gofer itself, not the namespace launcher above it (whose argv carries the gofer's).
        int gofer = HostProcesses.Descendants(moat.Id).Single(p => HostProcesses.CmdLine(p).Contains(" gofer ", StringComparison.Ordinal) && !HostProcesses.CmdLine(p).StartsWith("moat-launcher ", StringComparison.Ordinal));
        Kill(gofer);
        WaitGone(gofer);

        // A sandbox without its gofer could serve no new file: it is stopped, and moat do says so with
        // status 125 (SandboxFailureTests checks the line), rather than leaving the program to hang or fail.
        Assert.True(moat.WaitForExit(30_000), "moat did not end after its gofer was killed");
        Assert.Equal(125, moat.ExitCode);
        Assert.Null(moat.StandardOutput.ReadLine());
    }

    [Fact]
    public void KilledStub_KillsItsTasks()
    {
        // One process that stays put (no exec in flight when its stub is looked up): a shell blocked in read.
        using Process moat = MoatCli.Start(HostScratch.Root, "/bin/sh", "-c", "echo ready; read line");
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        int[] stubs = WaitForStubs(moat.Id);
        foreach (int s in stubs)
        {
            Kill(s);
        }

        Assert.True(moat.WaitForExit(30_000), "moat did not end after its stub was killed");
        Assert.Equal(128 + 9, moat.ExitCode);
    }

    [Fact]
    public void KilledMoat_LeavesNoProcessBehind()
    {
        using Process moat = MoatCli.Start(HostScratch.Root, "/bin/sh", "-c", "/bin/sleep 60 & echo ready; /bin/sleep 60");
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        WaitForStubs(moat.Id);
        List<int> sandbox = HostProcesses.Descendants(moat.Id);
        Assert.True(sandbox.Count >= 3, "expected the gofer and stubs below moat"); // gofer, sh's stub, sleep's stub
        Kill(moat.Id);
        moat.WaitForExit();
        foreach (int pid in sandbox)
        {
            WaitGone(pid);
        }
    }

    [SystrapFact]
    public void KilledReadyStub_IsReplaced_AndNothingIsLeftBehind()
    {
        // systrap keeps a stub made ahead of time once a sandbox has made its second process (StubPool): the one
        // stub below the Sentry that nobody traces. Killed, it is reaped and replaced, and the sandbox goes on.
        using Process moat = MoatCli.StartWithOptions(HostScratch.Root, ["--platform=systrap"], "/bin/sh", "-c", "/bin/true; /bin/true; echo ready; read x; /bin/true; echo done");
        Assert.Equal("ready", moat.StandardOutput.ReadLine());
        int ready = WaitForReadyStub(moat.Id, 0);
        var seen = new List<int>(HostProcesses.Descendants(moat.Id)) { ready };
        Kill(ready);
        WaitReaped(ready);
        int next = WaitForReadyStub(moat.Id, ready);
        seen.AddRange(HostProcesses.Descendants(moat.Id));
        Assert.NotEqual(ready, next);

        moat.StandardInput.WriteLine("go");
        moat.StandardInput.Close();
        Assert.Equal("done", moat.StandardOutput.ReadLine());
        Assert.True(moat.WaitForExit(30_000), "moat did not end");
        Assert.Equal(0, moat.ExitCode);
        foreach (int pid in seen.Distinct())
        {
            WaitGone(pid);
        }
    }

    // Reaped by the Sentry that is still running: not even a zombie is left.
    private static void WaitReaped(int pid)
    {
        for (int i = 0; i < 600 && State(pid) != null; i++)
        {
            Thread.Sleep(50);
        }

        Assert.True(State(pid) == null, $"stub {pid} was not reaped: {State(pid)}");
    }

    // The ready stub: a stub no thread traces (every stub in use is traced by its task's thread), other than old.
    private static int WaitForReadyStub(int moat, int old)
    {
        for (int i = 0; i < 600; i++)
        {
            foreach (int p in HostProcesses.Descendants(moat).Where(IsStub))
            {
                if (p != old && TracerPid(p) == 0)
                {
                    return p;
                }
            }

            Thread.Sleep(50);
        }

        throw new InvalidOperationException("no ready stub below moat");
    }

    private static int TracerPid(int pid)
    {
        try
        {
            string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("TracerPid:", StringComparison.Ordinal));
            return line == null ? -1 : int.Parse(line.AsSpan(10).Trim(), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    // Stubs are spawned by the Sentry's task threads; the app's process shows up a moment after its output.
    private static int[] WaitForStubs(int moat)
    {
        for (int i = 0; i < 100; i++)
        {
            int[] stubs = HostProcesses.Descendants(moat).Where(IsStub).ToArray();
            if (stubs.Length > 0)
            {
                return stubs;
            }

            Thread.Sleep(50);
        }

        throw new InvalidOperationException("no stub process found below moat");
    }

    // A stub runs from the Sentry's memfd; its own argv went with the rest of its address space.
    private static bool IsStub(int pid)
    {
        try
        {
            return File.ResolveLinkTarget($"/proc/{pid}/exe", false)?.FullName.Contains("moat-stub", StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void Compile(string src, string exe)
    {
        RunResult r = ProcessRunner.Run("gcc", ["-static", "-O1", "-o", exe, src], Path.GetDirectoryName(src)!);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    private static void Kill(int pid) => Process.GetProcessById(pid).Kill();

    // Gone, or a zombie whose parent (now the host's init) has not reaped it yet: either way it runs nothing.
    private static void WaitGone(int pid)
    {
        for (int i = 0; i < 200; i++)
        {
            string? state = State(pid);
            if (state == null || state == "Z")
            {
                return;
            }

            Thread.Sleep(50);
        }

        Assert.Fail($"process {pid} ({HostProcesses.CmdLine(pid)}) is still running");
    }

    private static string? State(int pid) => HostProcesses.Stat(pid)?[0];
}
