using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Host;

namespace Moat.Gofer;

/// <summary>
/// The gofer: the only process that opens host files. Every path is resolved by the host kernel with
/// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) against the root fd, so "..", absolute symlinks and
/// /proc magic links cannot leave the root, and there is no window between a check and the open.
/// Only regular files and directories are opened for I/O; anything else (devices, FIFOs, sockets) is
/// served only as an O_PATH handle, good for fstat and nothing more.
/// Volumes (roots 1..) are served by <c>GoferServer.Volume.cs</c>.
/// </summary>
public sealed partial class GoferServer
{
    private const ulong Resolve = HostPath.RESOLVE_IN_ROOT | HostPath.RESOLVE_NO_MAGICLINKS;
    private const int AllowedFlags = OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK;

    private readonly SafeFdHandle _root;
    private readonly int _socket;
    private readonly SafeFdHandle? _procSelfFd;

    // Volume i (1-based in requests) is _volumes[i - 1].
    private readonly VolumeRoot[] _volumes;

    public GoferServer(SafeFdHandle root, int socket)
        : this(root, [], socket)
    {
    }

    /// <param name="procSelfFd">
    /// A /proc/self/fd directory to reopen checked fds through; null for the one of the /proc mounted at
    /// /proc (a confined gofer has no such path: see <see cref="GoferConfinement"/>).
    /// </param>
    public GoferServer(SafeFdHandle root, VolumeRoot[] volumes, int socket, SafeFdHandle? procSelfFd = null)
    {
        _root = root;
        _volumes = volumes;
        _socket = socket;
        _procSelfFd = procSelfFd;
    }

    /// <summary>Opens <paramref name="rootPath"/> as the root to serve. Returns null with -errno.</summary>
    public static SafeFdHandle? OpenRoot(string rootPath, out long error)
    {
        error = HostPath.Openat(OpenFlags.AT_FDCWD, rootPath, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
        return error < 0 ? null : new SafeFdHandle((int)error);
    }

    /// <summary>Opens a volume's host directory or single file (O_PATH). Returns null with -errno; ENOTDIR for anything else.</summary>
    public static SafeFdHandle? OpenVolumeRoot(string hostPath, out long error)
    {
        error = HostPath.Openat(OpenFlags.AT_FDCWD, hostPath, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC);
        if (error < 0)
        {
            return null;
        }

        var fd = new SafeFdHandle((int)error);
        error = HostFile.Fstat(fd.Fd, out Stat st);
        uint type = st.st_mode & Stat.S_IFMT;
        if (error == 0 && type != Stat.S_IFDIR && type != Stat.S_IFREG)
        {
            error = -Errno.ENOTDIR.Value;
        }

        if (error < 0)
        {
            fd.Dispose();
            return null;
        }

        return fd;
    }

    /// <summary>Serves requests until the Sentry closes its end. Returns the process exit code.</summary>
    public int Serve()
    {
        byte[] request = new byte[GoferProtocol.MaxMessage];
        byte[] reply = new byte[GoferProtocol.MaxMessage];
        while (true)
        {
            long n = HostSocket.Receive(_socket, request, out int receivedFd);
            using var received = receivedFd >= 0 ? new SafeFdHandle(receivedFd) : null; // only LinkFd uses one

            if (n == 0)
            {
                return 0;
            }

            if (n < 0)
            {
                return 1;
            }

            int fdToSend = -1;
            int len;
            if (n >= request.Length)
            {
                // The message may have been cut to fit the buffer: never serve a truncated path.
                len = GoferProtocol.EncodeReply(reply, -Errno.ENAMETOOLONG.Value, null);
            }
            else if (!GoferProtocol.TryDecodeRequest(request.AsSpan(0, (int)n), out GoferRequest req))
            {
                len = GoferProtocol.EncodeReply(reply, -Errno.EINVAL.Value, null);
            }
            else
            {
                len = Dispatch(req, received, reply, out fdToSend);
            }

            long s = HostSocket.Send(_socket, reply.AsSpan(0, len), fdToSend);
            if (fdToSend >= 0)
            {
                HostFile.Close(fdToSend);
            }

            if (s < 0)
            {
                return 1;
            }
        }
    }

    // Serves one request; an fd to donate comes back in fdToSend (owned by the caller).
    private int Dispatch(in GoferRequest req, SafeFdHandle? received, byte[] reply, out int fdToSend)
    {
        fdToSend = -1;
        if (req.Root != 0)
        {
            if (req.Root > _volumes.Length)
            {
                return GoferProtocol.EncodeReply(reply, -Errno.EINVAL.Value, null);
            }

            return ServeVolume(_volumes[req.Root - 1], req, received, reply, out fdToSend);
        }

        if (req.Path2.Length != 0)
        {
            return GoferProtocol.EncodeReply(reply, -Errno.EINVAL.Value, null);
        }

        switch (req.Op)
        {
            case GoferOp.Open:
                long r = Open(req.Path, req.Flags, out string? resolved);
                fdToSend = r >= 0 ? (int)r : -1;
                return GoferProtocol.EncodeReply(reply, r < 0 ? (int)r : 0, resolved);
            case GoferOp.ReadLink:
                string? target = ReadLink(req.Path, out long lr);
                return GoferProtocol.EncodeReply(reply, target == null ? (int)lr : 0, target);
            default:
                // The root is the overlay's read-only lower layer: nothing changes it.
                return GoferProtocol.EncodeReply(reply, -Errno.ENOSYS.Value, null);
        }
    }

    /// <summary>Opens a path beneath the root. Returns a new fd (owned by the caller) or -errno.</summary>
    public long Open(string path, int flags) => Open(path, flags, out _);

    /// <summary>
    /// Opens a path beneath the root. Returns a new fd (owned by the caller) or -errno; when a symlink lies on
    /// the way, <paramref name="resolved"/> is the path it leads to (<see cref="Resolved"/>), found or not: the
    /// Sentry's mounts hide parts of the root, and a host link into one of them (/etc/mtab -> /proc/mounts, a
    /// link to a volume's path) must lead into the mount, not to what the host has there.
    /// </summary>
    public long Open(string path, int flags, out string? resolved)
    {
        resolved = null;
        if ((flags & ~AllowedFlags) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        int pathFlags = OpenFlags.O_PATH | OpenFlags.O_CLOEXEC | (flags & (OpenFlags.O_NOFOLLOW | OpenFlags.O_DIRECTORY));

        // Most paths hold no symlink: one openat2 that refuses them says so (a final link with O_NOFOLLOW is
        // opened as itself).
        long fd = HostPath.Openat2(_root.Fd, path, pathFlags, Resolve | HostPath.RESOLVE_NO_SYMLINKS);
        if (fd == -Errno.ELOOP.Value)
        {
            resolved = Resolved(path, (flags & OpenFlags.O_NOFOLLOW) == 0);
            fd = HostPath.Openat2(_root.Fd, path, pathFlags, Resolve);
        }

        if (fd < 0 || (flags & OpenFlags.O_PATH) != 0)
        {
            return fd;
        }

        using var pathFd = new SafeFdHandle((int)fd);
        long r = HostFile.Fstat(pathFd.Fd, out Stat st);
        if (r < 0)
        {
            return r;
        }

        uint type = st.st_mode & Stat.S_IFMT;
        if (type == Stat.S_IFLNK)
        {
            return -Errno.ELOOP.Value; // O_NOFOLLOW on a symlink
        }

        if (type != Stat.S_IFREG && type != Stat.S_IFDIR)
        {
            return -Errno.EACCES.Value;
        }

        // Reopen the very inode we checked, through our own fd: no path is walked a second time.
        int ioFlags = OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC | OpenFlags.O_NOCTTY | (flags & OpenFlags.O_NONBLOCK);
        return ReopenChecked(_procSelfFd, pathFd, ioFlags);
    }

    /// <summary>
    /// Opens the inode an O_PATH fd holds, for I/O, through /proc/self/fd: our private procfs when confined
    /// (there is no /proc path then), else the one at /proc.
    /// </summary>
    private static long ReopenChecked(SafeFdHandle? procSelfFd, SafeFdHandle pathFd, int ioFlags)
    {
        string fdName = pathFd.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return procSelfFd != null
            ? HostPath.Openat(procSelfFd.Fd, fdName, ioFlags)
            : HostPath.Openat(OpenFlags.AT_FDCWD, "/proc/self/fd/" + fdName, ioFlags);
    }

    /// <summary>
    /// The path <paramref name="path"/> leads to once its symlinks (and the last one when
    /// <paramref name="followLast"/>) are followed as openat2(RESOLVE_IN_ROOT) follows them: ".." stops at the
    /// root, an absolute target starts there. From a component that cannot be looked up on, the rest is kept as
    /// written. Only the path goes back to the Sentry, which judges it against its mounts.
    /// </summary>
    private string Resolved(string path, bool followLast)
    {
        var pending = new Stack<string>();
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }

        var walked = new List<string>();
        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == "." || (part == ".." && walked.Count == 0))
            {
                continue;
            }

            if (part == "..")
            {
                walked.RemoveAt(walked.Count - 1);
                continue;
            }

            walked.Add(part);
            if (pending.Count == 0 && !followLast)
            {
                break;
            }

            long fd = HostPath.Openat2(_root.Fd, "/" + string.Join('/', walked), OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, Resolve | HostPath.RESOLVE_NO_SYMLINKS);
            if (fd < 0)
            {
                break;
            }

            using var link = new SafeFdHandle((int)fd);
            if (HostFile.Fstat(link.Fd, out Stat st) < 0 || (st.st_mode & Stat.S_IFMT) != Stat.S_IFLNK)
            {
                continue;
            }

            string? target = ++hops > 40 ? null : HostPath.ReadLinkFd(link.Fd, out _);
            if (string.IsNullOrEmpty(target))
            {
                break;
            }

            walked.RemoveAt(walked.Count - 1);
            if (target[0] == '/')
            {
                walked.Clear();
            }

            string[] more = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (int i = more.Length - 1; i >= 0; i--)
            {
                pending.Push(more[i]);
            }
        }

        while (pending.Count > 0)
        {
            walked.Add(pending.Pop());
        }

        return "/" + string.Join('/', walked);
    }

    /// <summary>Reads a symlink beneath the root. Returns the target or null with -errno.</summary>
    public string? ReadLink(string path, out long error)
    {
        long fd = HostPath.Openat2(_root.Fd, path, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, Resolve);
        if (fd < 0)
        {
            error = fd;
            return null;
        }

        using var pathFd = new SafeFdHandle((int)fd);
        error = HostFile.Fstat(pathFd.Fd, out Stat st);
        if (error < 0)
        {
            return null;
        }

        if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFLNK)
        {
            error = -Errno.EINVAL.Value;
            return null;
        }

        return HostPath.ReadLinkFd(pathFd.Fd, out error);
    }
}
