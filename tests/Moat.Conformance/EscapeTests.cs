using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// The escape suite: escape/escape.c tries to reach the host from inside <c>moat do --root ROOT</c> (paths,
/// links, /proc magic links, file handles, swapped links, /proc/self/mem, ptrace, signals, leaked fds, a
/// jump into the stub's code), and the test checks the host side too: the canary's secret never shows,
/// a FIFO outside the root is never opened, a host process is never signalled.
/// </summary>
public sealed class EscapeTests
{
    private const string Secret = "MOAT-CANARY-7f3a9c";

    private static readonly string[] s_denied =
    [
        "absolute", "dotdot-absolute", "dotdot-relative", "host-link-absolute", "host-link-relative", "host-dir-link",
        "app-link-absolute", "app-link-relative", "fifo-absolute", "fifo-host-link", "fifo-dotdot", "fifo-proc-self-root",
        "proc-self-root", "proc-self-cwd", "proc-1-root", "proc-hostpid-root", "proc-hostpid-cwd",
        "open-by-handle", "name-to-handle", "race-app-link", "race-host-link", "procmem-stub", "procmem-stub-read",
        "ptrace-hostpid", "ptrace-parent", "kill-hostpid", "kill0-hostpid", "tgkill-hostpid",
    ];

    [Fact]
    public void EveryEscapeAttempt_IsDenied_AndTheHostSeesNothing()
    {
        string top = HostScratch.NewDirectory("escape");
        string root = Path.Combine(top, "root");
        string outside = Path.Combine(top, "outside");
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(outside);
        string canary = Path.Combine(outside, "canary.txt");
        File.WriteAllText(canary, Secret + "\n");
        File.WriteAllText(Path.Combine(root, "inside.txt"), "inside\n");
        string fifo = Path.Combine(outside, "canary.fifo");
        Assert.Equal(0, ProcessRunner.Run("mkfifo", [fifo], top).ExitCode);
        File.CreateSymbolicLink(Path.Combine(root, "abs-link"), canary);
        File.CreateSymbolicLink(Path.Combine(root, "rel-link"), "../outside/canary.txt");
        File.CreateSymbolicLink(Path.Combine(root, "dir-link"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "fifo-link"), fifo);
        File.CreateSymbolicLink(Path.Combine(root, "host-flip"), "inside.txt");

        string src = Path.Combine(AppContext.BaseDirectory, "escape", "escape.c");
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-Wall", "-Werror", "-pthread", "-o", Path.Combine(root, "escape"), src], top);
        Assert.True(cc.ExitCode == 0, cc.Stderr);

        // A host writer waits for the FIFO's first reader: if anything in the sandbox opens it, it is released.
        var fifoWriter = new Thread(() =>
        {
            using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        });
        fifoWriter.Start();

        // The host swaps a link inside the root between a file inside and the canary outside, all the while.
        using var stopFlipping = new CancellationTokenSource();
        var flipper = new Thread(() =>
        {
            string link = Path.Combine(root, "host-flip");
            string tmp = Path.Combine(root, ".host-flip.tmp");
            bool outsideNow = false;
            while (!stopFlipping.IsCancellationRequested)
            {
                outsideNow = !outsideNow;
                File.Delete(tmp);
                File.CreateSymbolicLink(tmp, outsideNow ? "../outside/canary.txt" : "inside.txt");
                File.Move(tmp, link, overwrite: true);
            }
        });
        flipper.Start();

        using Process victim = Process.Start(new ProcessStartInfo("sleep", "120") { UseShellExecute = false })!;
        try
        {
            long ino = long.Parse(ProcessRunner.Run("stat", ["-c", "%i", canary], top).StdoutText.Trim(), System.Globalization.CultureInfo.InvariantCulture);
            RunResult r = MoatCli.Do(["/escape", canary, Secret, victim.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), ino.ToString(System.Globalization.CultureInfo.InvariantCulture), fifo], root, null, "--root", root);
            string output = r.StdoutText;
            Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{output}\n{r.Stderr}");
            Assert.Contains("done\n", output);
            Assert.DoesNotContain("ESCAPED", output);
            Assert.DoesNotContain("LEAKED", output);
            Assert.DoesNotContain(Secret, output);
            foreach (string name in s_denied)
            {
                Assert.Contains($"\n{name}: denied\n", "\n" + output);
            }

            Assert.Contains("fd-listing: clean\n", output);
            Assert.Contains("fd-probe: clean\n", output);
            Assert.Contains("maps-above-user: hidden\n", output);

            // The stub page is mapped in the app's own address space (it can read it), but a jump to its
            // syscall instruction with crafted registers is one more syscall served by the Sentry.
            Assert.Contains("stub-jump: served by the sentry (ESRCH)\n", output);

            // The host side: nothing signalled, nothing opened, nothing written.
            Assert.False(victim.HasExited, "the host process was signalled from inside the sandbox");
            Assert.True(fifoWriter.IsAlive, "a FIFO outside the root was opened from inside the sandbox");
            Assert.Equal(Secret + "\n", File.ReadAllText(canary));
        }
        finally
        {
            stopFlipping.Cancel();
            flipper.Join();
            victim.Kill();

            // Release the waiting writer ourselves (it is still blocked unless the test already failed).
            if (fifoWriter.IsAlive)
            {
                using var reader = new FileStream(fifo, FileMode.Open, FileAccess.Read);
                fifoWriter.Join(10_000);
            }
        }
    }
}
