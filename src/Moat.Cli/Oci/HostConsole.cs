using System.Net.Sockets;
using System.Text;
using Moat.Abi;
using Moat.Host;

namespace Moat.Cli.Oci;

/// <summary>
/// The console of an OCI process with a terminal (<c>--console-socket</c>): a host pty whose master goes to
/// the caller (containerd's shim) over the unix socket with SCM_RIGHTS, with the pty's name as the message,
/// as runc sends it. The replica, in raw mode, becomes the sandbox's side: the Sentry bridges it to a pty of
/// its own, where the line discipline, echo and job control happen (so the host pty must not process).
/// </summary>
internal static class HostConsole
{
    /// <summary>Sends a new pty's master over <paramref name="socketPath"/>; returns its replica, or null with <paramref name="error"/>.</summary>
    public static SafeFdHandle? Send(string socketPath, out string error)
    {
        long r = HostPty.OpenRaw(out SafeFdHandle? master, out SafeFdHandle? replica, out int index);
        if (r < 0)
        {
            error = "cannot open a console pty: " + Errno.FromValue((int)-r).Name;
            return null;
        }

        using (master)
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(socketPath));
                r = HostSocket.Send((int)socket.Handle, Encoding.UTF8.GetBytes("/dev/pts/" + index), master!.Fd);
                error = r < 0 ? $"cannot send the console over {socketPath}: {Errno.FromValue((int)-r).Name}" : string.Empty;
            }
            catch (SocketException e)
            {
                error = $"cannot connect to the console socket {socketPath}: {e.Message}";
                r = -1;
            }
        }

        if (r < 0)
        {
            replica!.Dispose();
            return null;
        }

        return replica;
    }
}
