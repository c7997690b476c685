using System;
using System.IO;
using System.Text.RegularExpressions;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat do</c> at a terminal (a host pty in its default cooked, echoing mode, the command its session
/// leader, as a login shell leaves it): the program gets a pty of the Sentry's own as its controlling
/// terminal, the caller's terminal goes raw meanwhile and gets its settings back, the window size follows.
/// Without a terminal (or with -T) nothing of this happens.
/// </summary>
public sealed class DoTerminalTests
{
    [Fact]
    public void InteractiveBash_HasJobControl_ItsTtyIsAPts_ALineIsEchoedOnce()
    {
        PtySessionResult r = PtySession.Run(Bash(),
        [
            new("$ ", "tty\r"),
            new("$ ", "echo typed-$((40+2))\r"),
            new("$ ", "set -m && echo monitor-ok\r"),
            new("$ ", "sleep 50\r"),
            new("sleep 50\r\n", "\u001a"), // Ctrl-Z
            new("$ ", "jobs\r"),
            new("$ ", "kill %1; exit 7\r"),
        ]);
        Assert.True(r.ExitCode == 7, Describe(r));
        Assert.DoesNotContain("no job control", r.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot set terminal process group", r.Output, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"\r\n/dev/pts/\d+\r\n"), r.Output);
        Assert.Equal(1, Count(r.Output, "echo typed-$((40+2))"));
        Assert.Equal(1, Count(r.Output, "\r\ntyped-42\r\n"));
        Assert.Contains("\r\nmonitor-ok\r\n", r.Output, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"\[1\]\+\s+Stopped\s+sleep 50\r\n[^$]*\$ jobs\r\n[^$]*\[1\]\+\s+Stopped\s+sleep 50"), r.Output);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void MoatsOwnLine_OnTheRawTerminal_EndsWithACarriageReturn()
    {
        // The one-line error of a failed start is written while the caller's terminal is raw.
        PtySessionResult r = PtySession.Run([Moat(), "do", "--", "/nonexistent-program"], []);
        Assert.True(r.ExitCode == 127, Describe(r));
        Assert.Matches(new Regex(@"moat: [^\r\n]*nonexistent-program[^\r\n]*\r\n"), r.Output);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void ALineReadInCanonicalMode_IsEchoedOnce_ByTheSentrysPty()
    {
        // The caller's terminal is raw: the echo and the CR-to-NL of the line come from the Sentry's line discipline only.
        PtySessionResult r = PtySession.Run([Moat(), "do", "--", "sh", "-c", "echo ready; read x; echo got $x"], [new("ready\r\n", "hello\r")]);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Equal("ready\r\nhello\r\ngot hello\r\n", r.Output);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void CtrlC_InterruptsAForegroundSleep_Promptly_TheShellGoesOn()
    {
        PtySessionResult r = PtySession.Run(Bash(),
        [
            new("$ ", "sleep 100\r"),
            new("sleep 100\r\n", "\u0003"), // Ctrl-C: the Sentry's line discipline signals the foreground group
            new("$ ", "echo after-$((6*7))\r"),
            new("after-42\r\n", "exit\r"),
        ]);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.True(r.StepTimes[2] >= 0 && r.StepTimes[2] - r.StepTimes[1] < 5, Describe(r));
        Assert.Contains("^C", r.Output, StringComparison.Ordinal);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void FullScreenPrograms_ViEditsAFile_TopQuitsOnAKey()
    {
        string file = "/tmp/moat-vi-" + Guid.NewGuid().ToString("N")[..8];
        PtySessionResult vi = PtySession.Run(
            ["env", "TERM=xterm", Moat(), "do", "--", "sh", "-c", $"vi {file}; echo vi-status $?; cat {file}"],
            [new("[New", "ihello vi\u001b"), new(null, ":wq\r")]);
        Assert.True(vi.ExitCode == 0, Describe(vi));
        Assert.EndsWith("vi-status 0\r\nhello vi\r\n", vi.Output, StringComparison.Ordinal);
        Assert.Equal(vi.TermiosBefore, vi.TermiosAfter);

        PtySessionResult top = PtySession.Run(
            ["env", "TERM=xterm", Moat(), "do", "--", "sh", "-c", "top 2>/dev/null; echo top-status $?"],
            [new("load average", "q")]);
        Assert.True(top.ExitCode == 0, Describe(top));
        Assert.EndsWith("top-status 0\r\n", top.Output, StringComparison.Ordinal);
        Assert.Equal(top.TermiosBefore, top.TermiosAfter);
    }

    [Fact]
    public void WindowSize_IsTheCallersTerminals_AndEachChangeIsFollowed_WithSigwinch()
    {
        // The host pty is 30x100 at the start; each resize must raise the WINCH trap and show in `stty size`.
        PtySessionResult r = PtySession.Run(
            [Moat(), "do", "--", "bash", "--norc", "-c", "n=0; trap 'n=$((n+1)); echo winch $n $(stty size); [ $n = 2 ] && exit 0' WINCH; echo start $(stty size); while :; do sleep 0.1; done"],
            [
                new("start 30 100\r\n", null, 40, 120),
                new("winch 1 40 120\r\n", null, 20, 60),
                new("winch 2 20 60\r\n"),
            ]);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Equal("start 30 100\r\nwinch 1 40 120\r\nwinch 2 20 60\r\n", r.Output);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void OutputJustBeforeExit_AllReachesTheTerminal()
    {
        // A burst and an exit at once: the Sentry's pty, the host pty and moat's relay must all be drained.
        PtySessionResult r = PtySession.Run([Moat(), "do", "--", "sh", "-c", "seq 1 20000; exit 3"], []);
        Assert.True(r.ExitCode == 3, Describe(r));
        Assert.StartsWith("1\r\n2\r\n", r.Output, StringComparison.Ordinal);
        Assert.EndsWith("\r\n19999\r\n20000\r\n", r.Output, StringComparison.Ordinal);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void TheCallersTerminal_IsRestored_WhenTheProgramIsKilledBySignal()
    {
        PtySessionResult r = PtySession.Run([Moat(), "do", "--", "sh", "-c", "tty; kill -9 $$"], []);
        Assert.True(r.ExitCode == 128 + 9, Describe(r));
        Assert.Contains("/dev/pts/", r.Output, StringComparison.Ordinal);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void TheCallersTerminal_IsRestored_WhenMoatIsHungUp()
    {
        // SIGHUP to moat reaches the interactive shell, which exits on it (status 129); the terminal is cooked again.
        PtySessionResult r = PtySession.Run(
            ["sh", "-c", "moat=$$; (sleep 3; kill -HUP $moat) & PS1='$ ' TERM=dumb exec \"$0\" do -- bash --norc -i", Moat()],
            [new("$ ", "echo up\r")]);
        Assert.True(r.ExitCode == 128 + 1, Describe(r));
        Assert.Contains("\r\nup\r\n", r.Output, StringComparison.Ordinal);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void TheCallersTerminal_IsRawAgain_AfterMoatIsStoppedAndContinued()
    {
        // A job-control shell puts its own settings back while moat is stopped; moat goes raw again on SIGCONT.
        PtySessionResult r = PtySession.Run(
            ["sh", "-c", "moat=$$; (sleep 2; kill -STOP $moat; stty sane <&2; kill -CONT $moat; sleep 0.5; stty -a <&2 | grep -o -- ' -icanon\\| icanon') & exec \"$0\" do -- sleep 4", Moat()],
            []);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Contains(" -icanon", r.Output, StringComparison.Ordinal);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void InTheBackground_OnATerminal_MoatLeavesTheTerminalAlone()
    {
        // A background job of a job-control shell: taking the terminal would stop moat with SIGTTOU (status 150).
        PtySessionResult r = PtySession.Run(["sh", "-c", "set -m; \"$0\" do -- sh -c 'tty; echo bg-done' & wait $!; echo status $?", Moat()], []);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Equal("not a tty\r\nbg-done\r\nstatus 0\r\n", r.Output);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void NoTty_OnATerminal_TheProgramHasTheCallersTerminalAsItIs()
    {
        // -T: the host terminal stays cooked and echoing (it echoes the line itself), and no pty is made.
        PtySessionResult r = PtySession.Run([Moat(), "do", "-T", "--", "sh", "-c", "tty; read x; echo got $x"], [new("not a tty", "hello\r")]);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Equal("not a tty\r\nhello\r\ngot hello\r\n", r.Output);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void OnATerminal_ARedirectedStderr_StaysTheProgramsFile()
    {
        // As a shell at a terminal: stdin and stdout on the pty, stderr still the file (no CR added to it).
        string file = Path.Combine(HostScratch.NewDirectory("tty-stderr"), "err.txt");
        PtySessionResult r = PtySession.Run(
            ["sh", "-c", "\"$0\" do -- sh -c 'tty; echo ready; read x; echo got $x; echo err $x >&2' 2> \"$1\"; echo status $?", Moat(), file],
            [new("ready\r\n", "typed\r")]);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Matches(new Regex(@"^/dev/pts/\d+\r\nready\r\ntyped\r\ngot typed\r\nstatus 0\r\n$"), r.Output);
        Assert.Equal("err typed\n", File.ReadAllText(file));
    }

    [Fact]
    public void OnATerminal_WithStdoutInAPipe_MoatTakesNoPty()
    {
        // `moat do -- ls | less`: the reader of the pipe owns the keys; moat neither reads them nor goes raw.
        PtySessionResult r = PtySession.Run(
            ["sh", "-c", "\"$0\" do -- sh -c 'tty; echo out' | cat; read y; echo shell got $y", Moat()],
            [new("out\r\n", "keys\r")]);
        Assert.True(r.ExitCode == 0, Describe(r));
        Assert.Equal("not a tty\r\nout\r\nkeys\r\nshell got keys\r\n", r.Output);
        Assert.Equal(r.TermiosBefore, r.TermiosAfter);
    }

    [Fact]
    public void NotOnATerminal_NothingChanges_AndTtyForcesAPty()
    {
        // The harness's stdin is a pipe: the program has moat's own stdio, lines end in LF only.
        RunResult plain = MoatCli.Do(["sh", "-c", "tty; echo out; echo err >&2"], HostScratch.Root);
        Assert.True(plain.ExitCode == 0, plain.Stderr);
        Assert.Equal("not a tty\nout\n", plain.StdoutText);
        Assert.Equal("err\n", plain.Stderr);

        // -t: a pty even so, all three fds on it; moat's stdout gets what the pty's output processing made.
        RunResult forced = MoatCli.Do(["sh", "-c", "tty; echo out; echo err >&2"], HostScratch.Root, null, "-t");
        Assert.True(forced.ExitCode == 0, forced.Stderr);
        Assert.Matches(new Regex(@"^/dev/pts/\d+\r\nout\r\nerr\r\n$"), forced.StdoutText);

        // -T wins over -t, in either order.
        foreach (string[] flags in new[] { new[] { "-t", "-T" }, ["--no-tty", "--tty"] })
        {
            RunResult off = MoatCli.Do(["sh", "-c", "tty; echo out"], HostScratch.Root, null, flags);
            Assert.Equal("not a tty\nout\n", off.StdoutText);
        }
    }

    // TERM=dumb: readline without bracketed-paste sequences around each command's output.
    private static string[] Bash() => ["env", "PS1=$ ", "TERM=dumb", Moat(), "do", "--", "bash", "--norc", "--noprofile", "-i"];

    private static string Moat()
    {
        (string file, string[] prefix) = MoatCli.Command;
        Assert.True(prefix.Length == 0, "these tests run the published moat binary (MOAT_BINARY)");
        Assert.True(Containerd.Which("python3") != null, "python3 drives the host terminal");
        return file;
    }

    private static int Count(string text, string part)
    {
        int n = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static string Describe(PtySessionResult r) =>
        $"status {r.ExitCode}, steps at [{string.Join(", ", r.StepTimes)}], output: {r.Output.Replace("\u001b", "\\e", StringComparison.Ordinal)} {r.Error}";
}
