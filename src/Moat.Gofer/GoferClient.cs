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
    private long _roundTrips;

    public GoferClient(SafeFdHandle socket)
    {
        _socket = socket;
    }

    /// <summary>Opens a path in the gofer's root. Returns the donated fd, or null with -errno.</summary>
    public SafeFdHandle? Open(string path, int flags, out long error) => Open(0, path, flags, 0, out error);

    /// <summary>
    /// Opens a path in the gofer's root, and says where a symlink on the way led (null when there was none),
    /// whether the open succeeded or not. Returns the donated fd, or null with -errno.
    /// </summary>
    public SafeFdHandle? Open(string path, int flags, out string? resolved, out long error) => Open(0, path, flags, 0, out resolved, out error);

    /// <summary>Opens a path of root <paramref name="root"/> (0: the sandbox root, 1..: volumes). Returns the donated fd, or null with -errno.</summary>
    public SafeFdHandle? Open(int root, string path, int flags, int mode, out long error) => Open(root, path, flags, mode, out _, out error);

    private SafeFdHandle? Open(int root, string path, int flags, int mode, out string? resolved, out long error)
    {
        lock (_mu)
        {
            error = RoundTripLocked(new GoferRequest(GoferOp.Open, (byte)root, flags, mode, 0, 0, 0, path, string.Empty), out int fd, out string payload);
            resolved = payload.Length == 0 ? null : payload;
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
    public string? ReadLink(string path, out long error) => ReadLink(0, path, out error);

    /// <summary>Reads a symlink of root <paramref name="root"/>. Returns the target, or null with -errno.</summary>
    public string? ReadLink(int root, string path, out long error)
    {
        lock (_mu)
        {
            error = RoundTripLocked(new GoferRequest(GoferOp.ReadLink, (byte)root, 0, 0, 0, 0, 0, path, string.Empty), out int fd, out string payload);
            CloseStray(fd);
            return error < 0 ? null : payload;
        }
    }

    /// <summary>Asks for a change of a volume's tree (mkdir, unlink, rename, ...). Returns 0 or -errno.</summary>
    public long Change(in GoferRequest request)
    {
        lock (_mu)
        {
            long r = RoundTripLocked(request, out int fd, out _);
            CloseStray(fd);
            return r;
        }
    }

    /// <summary>Asks for a change that takes an open file (<see cref="GoferOp.LinkFd"/>), sent with the request. Returns 0 or -errno.</summary>
    public long Change(in GoferRequest request, int fileFd)
    {
        lock (_mu)
        {
            long r = RoundTripLocked(request, out int fd, out _, fileFd);
            CloseStray(fd);
            return r;
        }
    }

    // Only Open expects an fd back: any other is closed.
    private static void CloseStray(int fd)
    {
        if (fd >= 0)
        {
            HostFile.Close(fd);
        }
    }

    /// <summary>Requests sent to the gofer so far (for --metrics).</summary>
    public long RoundTrips
    {
        get
        {
            lock (_mu)
            {
                return _roundTrips;
            }
        }
    }

    // Preconditions: _mu is held.
    private long RoundTripLocked(in GoferRequest request, out int fd, out string payload, int passFd = -1)
    {
        fd = -1;
        payload = string.Empty;
        if (GoferProtocol.PathBytes(request.Path, request.Path2) > GoferProtocol.MaxMessage - GoferProtocol.HeaderSize - 1)
        {
            return -Errno.ENAMETOOLONG.Value;
        }

        _roundTrips++;
        int len = GoferProtocol.EncodeRequest(_request, request);
        long r = HostSocket.Send(_socket.Fd, _request.AsSpan(0, len), passFd);
        if (r < 0)
        {
            return -Errno.EIO.Value; // the gofer is gone: the app sees an I/O error, not a hang
        }

        r = HostSocket.Receive(_socket.Fd, _reply, out fd);
        if (r <= 0 || !GoferProtocol.TryDecodeReply(_reply.AsSpan(0, (int)r), out int result, out payload))
        {
            if (fd >= 0)
            {
                HostFile.Close(fd);
                fd = -1;
            }

            return -Errno.EIO.Value;
        }

        if (result < 0 && fd >= 0)
        {
            HostFile.Close(fd);
            fd = -1;
        }

        return result;
    }

    /// <summary>The socket to the gofer, to hand it to a jailed Sentry.</summary>
    public SafeFdHandle Socket => _socket;

    public void Dispose() => _socket.Dispose();
}
