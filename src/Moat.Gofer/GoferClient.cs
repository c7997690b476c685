using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Gofer;

/// <summary>The Sentry's end of the gofer channel: one request in flight at a time.</summary>
public sealed class GoferClient : IDisposable
{
    private readonly SafeFdHandle _socket;
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly byte[] _request = new byte[GoferProtocol.MaxMessage];
    private readonly byte[] _reply = new byte[GoferProtocol.MaxMessage];

    public GoferClient(SafeFdHandle socket)
    {
        _socket = socket;
    }

    /// <summary>Opens a path in the gofer's root. Returns the donated fd, or null with -errno.</summary>
    public SafeFdHandle? Open(string path, int flags, out long error)
    {
        lock (_mu)
        {
            error = RoundTripLocked(GoferOp.Open, flags, path, out int fd, out _);
            if (error < 0)
            {
                return null;
            }

            if (fd < 0)
            {
                error = -Errno.EIO.Value;
                return null;
            }

            return new SafeFdHandle(fd);
        }
    }

    /// <summary>Reads a symlink in the gofer's root. Returns the target, or null with -errno.</summary>
    public string? ReadLink(string path, out long error)
    {
        lock (_mu)
        {
            error = RoundTripLocked(GoferOp.ReadLink, 0, path, out int fd, out string payload);
            if (fd >= 0)
            {
                HostFile.Close(fd);
            }

            return error < 0 ? null : payload;
        }
    }

    // Preconditions: _mu is held.
    private long RoundTripLocked(GoferOp op, int flags, string path, out int fd, out string payload)
    {
        fd = -1;
        payload = string.Empty;
        if (Moat.Abi.LinuxString.Encoding.GetByteCount(path) > GoferProtocol.MaxMessage - GoferProtocol.HeaderSize)
        {
            return -Errno.ENAMETOOLONG.Value;
        }

        int len = GoferProtocol.EncodeRequest(_request, op, flags, path);
        long r = HostSocket.Send(_socket.Fd, _request.AsSpan(0, len), -1);
        if (r < 0)
        {
            return -Errno.EIO.Value; // the gofer is gone: the app sees an I/O error, not a hang
        }

        r = HostSocket.Receive(_socket.Fd, _reply, out fd);
        if (r <= 0 || !GoferProtocol.TryDecodeReply(_reply.AsSpan(0, (int)r), out int result, out payload))
        {
            return -Errno.EIO.Value;
        }

        return result;
    }

    public void Dispose() => _socket.Dispose();
}
