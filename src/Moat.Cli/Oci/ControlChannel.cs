using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace Moat.Cli.Oci;

/// <summary>
/// The control socket between the runtime's CLI and a container's sandbox process: one text line per
/// request and per reply ("start", "kill 15 all", "ps", "exec N" + three fds + N bytes of process JSON).
/// The socket lives in the container's state directory, reached by a relative name from there, since a
/// state path may be longer than sun_path's 108 bytes.
/// </summary>
internal static class ControlChannel
{
    private static readonly Lock s_cwdMu = new();

    /// <summary>Binds and listens on the control socket of <paramref name="dir"/>.</summary>
    public static Socket Listen(string dir)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        InDirectory(dir, () => s.Bind(new UnixDomainSocketEndPoint(ContainerStore.ControlSocket)));
        s.Listen(16);
        return s;
    }

    /// <summary>Connects to the control socket of <paramref name="dir"/>; null when no sandbox listens there.</summary>
    public static Socket? Connect(string dir)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            InDirectory(dir, () => s.Connect(new UnixDomainSocketEndPoint(ContainerStore.ControlSocket)));
            return s;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            s.Dispose();
            return null;
        }
    }

    /// <summary>Sends one request and returns the reply line, or null when the sandbox does not answer.</summary>
    public static string? Request(string dir, string line)
    {
        using Socket? s = Connect(dir);
        if (s == null)
        {
            return null;
        }

        try
        {
            WriteLine(s, line);
            return ReadLine(s);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            return null;
        }
    }

    public static void WriteLine(Socket s, string line) => s.Send(Encoding.UTF8.GetBytes(line + "\n"));

    /// <summary>Reads up to a newline, byte by byte so nothing after it (fds, a payload) is consumed; null at EOF.</summary>
    public static string? ReadLine(Socket s)
    {
        var buffer = new MemoryStream();
        Span<byte> b = stackalloc byte[1];
        while (true)
        {
            int n = s.Receive(b);
            if (n == 0)
            {
                return buffer.Length > 0 ? Encoding.UTF8.GetString(buffer.ToArray()) : null;
            }

            if (b[0] == (byte)'\n')
            {
                return Encoding.UTF8.GetString(buffer.ToArray());
            }

            if (buffer.Length > 1 << 20)
            {
                return null;
            }

            buffer.WriteByte(b[0]);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; null at an early EOF.</summary>
    public static byte[]? ReadExactly(Socket s, int count)
    {
        byte[] data = new byte[count];
        int done = 0;
        while (done < count)
        {
            int n = s.Receive(data.AsSpan(done));
            if (n == 0)
            {
                return null;
            }

            done += n;
        }

        return data;
    }

    /// <summary>The pid of the process at the other end (SO_PEERCRED).</summary>
    public static int PeerPid(Socket s)
    {
        Span<byte> cred = stackalloc byte[12];
        return s.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, cred) >= 4 ? BitConverter.ToInt32(cred) : 0;
    }

    private static void InDirectory(string dir, Action action)
    {
        lock (s_cwdMu)
        {
            string old = Environment.CurrentDirectory;
            Environment.CurrentDirectory = dir;
            try
            {
                action();
            }
            finally
            {
                Environment.CurrentDirectory = old;
            }
        }
    }
}
