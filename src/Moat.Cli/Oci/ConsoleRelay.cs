using System.Runtime.InteropServices;
using System.Threading;
using Moat.Host;

namespace Moat.Cli.Oci;

/// <summary>
/// <c>run</c> in the foreground with a terminal and no console socket, as runc does it: the runtime's own
/// stdio is the console. The caller's terminal (if stdin is one) goes raw for the container's lifetime and
/// lends its window size (again on each SIGWINCH); bytes are copied both ways between it and the console's
/// host master until the container has exited and its output is drained.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class ConsoleRelay
{
    public static int Run(SafeFdHandle master, int pid)
    {
        byte[]? saved = HostPty.IsTerminal(0) ? HostPty.SetRaw(0, out _) : null;
        PosixSignalRegistration? winch = null;
        if (saved != null)
        {
            HostPty.CopyWindowSize(0, master.Fd);
            winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, c =>
            {
                c.Cancel = true;
                HostPty.CopyWindowSize(0, master.Fd);
            });
        }

        var output = new Thread(() => HostPty.Copy(master.Fd, 1)) { IsBackground = true, Name = "moat-console-out" };
        output.Start();
        new Thread(() => HostPty.Copy(0, master.Fd)) { IsBackground = true, Name = "moat-console-in" }.Start();
        HostProcess.WaitPid(pid, out int ws, 0);

        // The console's master reads EIO once the sandbox process, the replica's last holder, is gone.
        output.Join(2000);
        winch?.Dispose();
        if (saved != null)
        {
            HostPty.Restore(0, saved);
        }

        return ws;
    }
}
