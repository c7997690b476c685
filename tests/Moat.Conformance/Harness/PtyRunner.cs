using System.Collections.Generic;
using System.IO;

namespace Moat.Conformance.Harness;

/// <summary>
/// Runs a host command on a host pty (python3's pty support), as a user at a terminal would: the window is
/// 30x100 before the command starts, the input is typed once the expected text has appeared, and everything
/// the command wrote to the terminal comes back as stdout (CR CR LF read as CR LF), with the command's exit
/// status.
/// </summary>
public static class PtyRunner
{
    private const string Script = """
        import fcntl, os, select, struct, sys, termios, time, tty
        text, wait_for, argv = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
        master, replica = os.openpty()
        tty.setraw(replica)  # the output as the command wrote it: no CR added by this pty
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        pid = os.fork()
        if pid == 0:
            os.setsid()
            fcntl.ioctl(replica, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(replica, fd)
            os.execvp(argv[0], argv)
        os.close(replica)
        out, sent, deadline = b"", False, time.time() + 60
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent and wait_for in out:
                time.sleep(0.2)
                os.write(master, text)
                sent = True
        _, status = os.waitpid(pid, 0)
        # runc and ctr put this terminal in a raw mode that keeps OPOST (containerd/console), at a moment of
        # their choosing: the CR LF of the container's pty may reach here as CR CR LF. Count it as CR LF.
        sys.stdout.buffer.write(out.replace(b"\r\r\n", b"\r\n"))
        sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
        """;

    public static RunResult Run(string input, string waitFor, string workingDirectory, IReadOnlyList<string> command)
    {
        string script = Path.Combine(HostScratch.Root, "pty-runner.py");
        File.WriteAllText(script, Script);
        return ProcessRunner.Run("python3", [script, input, waitFor, .. command], workingDirectory, null, 90_000);
    }
}
