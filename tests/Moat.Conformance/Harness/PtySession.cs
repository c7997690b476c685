using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moat.Conformance.Harness;

/// <summary>One step of a <see cref="PtySession"/>: wait for text, then maybe resize the window, then type.</summary>
/// <param name="WaitFor">Text to wait for, after where the previous step's text was found (null: go on at once).</param>
/// <param name="Type">Bytes to type once it has appeared (null: none).</param>
/// <param name="Rows">A new window height to set before typing (0: leave it).</param>
/// <param name="Columns">A new window width to set with it.</param>
public sealed record PtyStep(string? WaitFor, string? Type = null, int Rows = 0, int Columns = 0);

/// <summary>What a <see cref="PtySession"/> saw.</summary>
/// <param name="Output">Everything the command wrote to the terminal, as it wrote it.</param>
/// <param name="ExitCode">The command's exit status (-1 if it had to be killed).</param>
/// <param name="StepTimes">Seconds since the start at which each step's text appeared (-1: never).</param>
/// <param name="TermiosBefore">The terminal's settings (iflag, oflag, cflag, lflag) before the command.</param>
/// <param name="TermiosAfter">Its settings once the command has exited.</param>
/// <param name="Error">The driver's own error output.</param>
public sealed record PtySessionResult(string Output, int ExitCode, double[] StepTimes, long[] TermiosBefore, long[] TermiosAfter, string Error);

/// <summary>
/// Runs a host command as a user at a terminal would (python3's pty support): the command is the session
/// leader of a host pty in its default (cooked, echoing) mode whose window is 30x100, and a script of steps
/// types into it as text appears. Unlike <see cref="PtyRunner"/> the terminal is left as a login shell's
/// would be, so a program that does not take it over sees it echo and cook.
/// </summary>
public static class PtySession
{
    private const string Script = """
        import fcntl, json, os, select, signal, struct, sys, termios, time
        spec = json.load(open(sys.argv[1]))
        master, replica = os.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        before = termios.tcgetattr(master)[:4]
        start = time.time()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            fcntl.ioctl(replica, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(replica, fd)
            os.close(master)
            os.execvp(spec["argv"][0], spec["argv"])
        os.close(replica)
        out, pos, step, times = b"", 0, 0, []
        steps, deadline, status = spec["steps"], start + spec["timeout"], None
        while time.time() < deadline:
            while step < len(steps):
                s = steps[step]
                if s["wait"] is not None:
                    at = out.find(s["wait"].encode(), pos)
                    if at < 0:
                        break
                    pos = at + len(s["wait"].encode())
                times.append(time.time() - start)
                time.sleep(0.1)
                if s["rows"]:
                    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", s["rows"], s["cols"], 0, 0))
                if s["type"] is not None:
                    os.write(master, s["type"].encode())
                step += 1
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                out += chunk
        else:
            os.kill(pid, signal.SIGKILL)
            status = -1
        if status is None:
            # The end of the terminal's output is not the command's exit: wait for that too, a while.
            end = time.time() + 20
            while time.time() < end:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(st) & 0xFF
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
                status = -1
        if status == -1:
            os.waitpid(pid, 0)
        after = termios.tcgetattr(master)[:4]
        times += [-1] * (len(steps) - len(times))
        json.dump({"output": out.decode("latin-1"), "status": status, "times": times, "before": before, "after": after}, sys.stdout)
        """;

    /// <summary>Runs <paramref name="command"/> on a new host pty through <paramref name="steps"/>, for at most <paramref name="timeoutSeconds"/>.</summary>
    public static PtySessionResult Run(IReadOnlyList<string> command, IReadOnlyList<PtyStep> steps, int timeoutSeconds = 60)
    {
        string script = Path.Combine(HostScratch.Root, "pty-session.py");
        File.WriteAllText(script, Script);
        var stepArray = new JsonArray();
        foreach (PtyStep s in steps)
        {
            stepArray.Add(new JsonObject { ["wait"] = s.WaitFor, ["type"] = s.Type, ["rows"] = s.Rows, ["cols"] = s.Columns });
        }

        var argv = new JsonArray();
        foreach (string a in command)
        {
            argv.Add(a);
        }

        string specPath = Path.Combine(HostScratch.NewDirectory("pty-session"), "spec.json");
        File.WriteAllText(specPath, new JsonObject { ["argv"] = argv, ["steps"] = stepArray, ["timeout"] = timeoutSeconds }.ToJsonString());
        RunResult r = ProcessRunner.Run("python3", [script, specPath], HostScratch.Root, null, (timeoutSeconds + 40) * 1000);
        if (r.ExitCode != 0 || r.StdoutText.Length == 0)
        {
            return new PtySessionResult(string.Empty, -1, [], [], [], $"the pty driver failed ({r.ExitCode}): {r.Stderr}");
        }

        JsonNode result = JsonNode.Parse(r.StdoutText)!;
        return new PtySessionResult(
            result["output"]!.GetValue<string>(),
            result["status"]!.GetValue<int>(),
            [.. result["times"]!.AsArray().Select(t => t!.GetValue<double>())],
            [.. result["before"]!.AsArray().Select(t => t!.GetValue<long>())],
            [.. result["after"]!.AsArray().Select(t => t!.GetValue<long>())],
            r.Stderr);
    }
}
