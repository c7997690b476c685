using System;
using System.Runtime.InteropServices;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Sockets: AF_UNIX stream, datagram and seqpacket sockets inside the Sentry (socketpair, and
/// bind/listen/connect/accept on path and abstract names). Other families answer EAFNOSUPPORT, as a kernel
/// built without them does. Data calls are in SysSocketMsg.cs, options in SysSocketOpt.cs.
/// </summary>
internal static partial class SysSocket
{
    private const int AF_UNSPEC = 0;
    private const int AF_UNIX = 1;
    private const int SOCK_TYPE_MASK = 0xF;
    private const int SOCK_NONBLOCK = OpenFlags.O_NONBLOCK;
    private const int SOCK_CLOEXEC = OpenFlags.O_CLOEXEC;
    private const int SockaddrUnSize = 110;

    private static int Limit(Task t) => (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue);

    private static UnixCredentials Cred(Task t) => new(t.Group.Tgid, t.Credentials.EffectiveUid, t.Credentials.EffectiveGid);

    private const int SOCK_RAW = 3;

    // unix_create: a SOCK_RAW unix socket is a datagram socket (SO_TYPE says SOCK_DGRAM).
    private static int UnixType(int type) => (type & SOCK_TYPE_MASK) == SOCK_RAW ? UnixSocket.SOCK_DGRAM : type & SOCK_TYPE_MASK;

    private static long CheckType(int domain, int type, int protocol)
    {
        if (domain != AF_UNIX)
        {
            return -Errno.EAFNOSUPPORT.Value;
        }

        if ((type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((type & SOCK_TYPE_MASK) is not (UnixSocket.SOCK_STREAM or UnixSocket.SOCK_DGRAM or UnixSocket.SOCK_SEQPACKET or SOCK_RAW))
        {
            return -Errno.ESOCKTNOSUPPORT.Value;
        }

        return protocol is not (0 or AF_UNIX) ? -Errno.EPROTONOSUPPORT.Value : 0;
    }

    /// <summary>Implements socket(2).</summary>
    public static long Socket(Task t, in SyscallArgs a)
    {
        long r = CheckType(a.Int(0), a.Int(1), a.Int(2));
        if (r < 0)
        {
            return r;
        }

        var s = new UnixSocket(UnixType(a.Int(1)), a.Int(1));
        int fd = t.Fds.Add(s, (a.Int(1) & SOCK_CLOEXEC) != 0, 0, Limit(t));
        s.DecRef();
        return fd;
    }

    /// <summary>Implements socketpair(2).</summary>
    public static long Socketpair(Task t, in SyscallArgs a)
    {
        long r = CheckType(a.Int(0), a.Int(1), a.Int(2));
        if (r < 0)
        {
            return r;
        }

        int type = UnixType(a.Int(1));
        var x = new UnixSocket(type, a.Int(1));
        var y = new UnixSocket(type, a.Int(1));
        UnixSocket.Join(x, y, Cred(t), Cred(t));
        bool cloexec = (a.Int(1) & SOCK_CLOEXEC) != 0;
        int fx = t.Fds.Add(x, cloexec, 0, Limit(t));
        x.DecRef();
        if (fx < 0)
        {
            y.DecRef();
            return fx;
        }

        int fy = t.Fds.Add(y, cloexec, 0, Limit(t));
        y.DecRef();
        if (fy < 0)
        {
            t.Fds.Remove(fx);
            return fy;
        }

        Span<int> fds = [fx, fy];
        if (t.MM.CopyOut(a.Pointer(3), MemoryMarshal.AsBytes(fds)) < 0)
        {
            t.Fds.Remove(fx);
            t.Fds.Remove(fy);
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    private static long WithSocket(Task t, int fd, Func<UnixSocket, long> body)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return f is UnixSocket s ? body(s) : -Errno.ENOTSOCK.Value;
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>
    /// Reads a sockaddr_un: "@name" for abstract names, a normalised absolute path otherwise, "" for a bare
    /// family (autobind, when <paramref name="allowUnnamed"/>).
    /// </summary>
    private static long ReadName(Task t, ulong addr, int len, bool allowUnnamed, out string name, out string address)
    {
        name = string.Empty;
        address = string.Empty;
        if (len < 2 || len > SockaddrUnSize)
        {
            return -Errno.EINVAL.Value;
        }

        byte[] b = new byte[len];
        if (t.MM.CopyIn(addr, b) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (BitConverter.ToUInt16(b) != AF_UNIX || (len == 2 && !allowUnnamed))
        {
            return -Errno.EINVAL.Value;
        }

        if (len == 2)
        {
            return 0;
        }

        if (b[2] == 0)
        {
            name = address = "@" + Encoding.Latin1.GetString(b, 3, len - 3);
            return 0;
        }

        int end = Array.IndexOf(b, (byte)0, 2);
        string path = address = LinuxString.Encoding.GetString(b, 2, (end < 0 ? len : end) - 2);
        // Only bind takes an unnamed address (autobind), and bind never follows a final symlink; connect and
        // sendto do.
        long r = PathResolver.Resolve(t, OpenFlags.AT_FDCWD, path, followLast: !allowUnnamed, out string absolute);
        name = r < 0 ? string.Empty : PathResolver.Normalize(absolute);
        return r;
    }

    /// <summary>The sockaddr_un of a name; an unnamed socket is the bare family.</summary>
    private static byte[] EncodeName(string name)
    {
        if (name.StartsWith('@'))
        {
            byte[] abs = new byte[3 + Encoding.Latin1.GetByteCount(name) - 1];
            abs[0] = AF_UNIX;
            Encoding.Latin1.GetBytes(name.AsSpan(1), abs.AsSpan(3));
            return abs;
        }

        byte[] b = new byte[name.Length == 0 ? 2 : 3 + LinuxString.Encoding.GetByteCount(name)];
        b[0] = AF_UNIX;
        LinuxString.Encoding.GetBytes(name, b.AsSpan(2));
        return b;
    }

    /// <summary>Copies an address out as Linux's move_addr_to_user does: truncated to the buffer, full length reported.</summary>
    private static long WriteAddress(Task t, ulong addr, ulong lenAddr, ReadOnlySpan<byte> bytes)
    {
        if (addr == 0)
        {
            return 0;
        }

        if (t.MM.CopyIn(lenAddr, out int len) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (len < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyOut(addr, bytes[..Math.Min(len, bytes.Length)]) < 0 || t.MM.CopyOut(lenAddr, bytes.Length) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    private static long WriteName(Task t, ulong addr, ulong lenAddr, string name) => WriteAddress(t, addr, lenAddr, EncodeName(name));

    /// <summary>Implements bind(2).</summary>
    public static long Bind(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(1);
        int len = a.Int(2);
        return WithSocket(t, a.Int(0), s =>
        {
            long r = ReadName(t, addr, len, allowUnnamed: true, out string name, out string address);
            return r < 0 ? r : s.Bind(t, name, address);
        });
    }

    /// <summary>Implements listen(2).</summary>
    public static long Listen(Task t, in SyscallArgs a)
    {
        int backlog = a.Int(1);
        return WithSocket(t, a.Int(0), s => s.Listen(backlog, Cred(t)));
    }

    /// <summary>Implements connect(2).</summary>
    public static long Connect(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(1);
        int len = a.Int(2);
        return WithSocket(t, a.Int(0), s =>
        {
            if (s.Type == UnixSocket.SOCK_DGRAM && len >= 2 && t.MM.CopyIn(addr, out ushort family) == 0 && family == AF_UNSPEC)
            {
                return s.ConnectDatagram(t, null);
            }

            long r = ReadName(t, addr, len, allowUnnamed: false, out string name, out _);
            if (r < 0)
            {
                return r;
            }

            r = UnixSocket.Lookup(t, name, out UnixSocket? server);
            if (r < 0)
            {
                return r;
            }

            return s.Type == UnixSocket.SOCK_DGRAM ? s.ConnectDatagram(t, server) : s.ConnectTo(t, server!, Cred(t));
        });
    }

    /// <summary>Implements accept(2).</summary>
    public static long Accept(Task t, in SyscallArgs a) => Accept4(t, new SyscallArgs(a[0], a[1], a[2], 0));

    /// <summary>Implements accept4(2).</summary>
    public static long Accept4(Task t, in SyscallArgs a)
    {
        int flags = a.Int(3);
        if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong addr = a.Pointer(1);
        ulong lenAddr = a.Pointer(2);
        return WithSocket(t, a.Int(0), s =>
        {
            long r = s.Accept(t, out UnixSocket? conn);
            if (r < 0)
            {
                return r;
            }

            if ((flags & SOCK_NONBLOCK) != 0)
            {
                conn!.SetStatusFlags(OpenFlags.O_NONBLOCK);
            }

            int fd = t.Fds.Add(conn!, (flags & SOCK_CLOEXEC) != 0, 0, Limit(t));
            conn!.DecRef();
            if (fd >= 0 && WriteName(t, addr, lenAddr, conn.PeerName) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return fd;
        });
    }

    /// <summary>Implements getsockname(2).</summary>
    public static long Getsockname(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(1);
        ulong lenAddr = a.Pointer(2);
        return WithSocket(t, a.Int(0), s => WriteName(t, addr, lenAddr, s.Address));
    }

    /// <summary>Implements getpeername(2).</summary>
    public static long Getpeername(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(1);
        ulong lenAddr = a.Pointer(2);
        return WithSocket(t, a.Int(0), s => s.IsConnected ? WriteName(t, addr, lenAddr, s.PeerName) : -Errno.ENOTCONN.Value);
    }

    /// <summary>Implements shutdown(2).</summary>
    public static long Shutdown(Task t, in SyscallArgs a)
    {
        int how = a.Int(1);
        return WithSocket(t, a.Int(0), s => s.Shutdown(how));
    }
}
