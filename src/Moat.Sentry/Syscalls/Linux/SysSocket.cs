using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Sockets: AF_UNIX stream sockets inside the Sentry (socketpair, and bind/listen/connect/accept on path and
/// abstract names). Other families answer EAFNOSUPPORT, as a kernel built without them does.
/// </summary>
internal static class SysSocket
{
    private const int AF_UNIX = 1;
    private const int SOCK_TYPE_MASK = 0xF;
    private const int SOCK_NONBLOCK = OpenFlags.O_NONBLOCK;
    private const int SOCK_CLOEXEC = OpenFlags.O_CLOEXEC;
    private const int SOL_SOCKET = 1;
    private const int SO_TYPE = 3;
    private const int SO_ERROR = 4;
    private const int SO_SNDBUF = 7;
    private const int SO_RCVBUF = 8;
    private const int SO_PEERCRED = 17;
    private const int SO_ACCEPTCONN = 30;
    private const int SO_PROTOCOL = 38;
    private const int SO_DOMAIN = 39;

    private static int Limit(Task t) => (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue);

    private static (int, uint, uint) Cred(Task t) => (t.Group.Tgid, t.Credentials.EffectiveUid, t.Credentials.EffectiveGid);

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

        if ((type & SOCK_TYPE_MASK) != UnixSocket.SOCK_STREAM)
        {
            return -Errno.ESOCKTNOSUPPORT.Value;
        }

        return protocol != 0 ? -Errno.EPROTONOSUPPORT.Value : 0;
    }

    /// <summary>Implements socket(2).</summary>
    public static long Socket(Task t, in SyscallArgs a)
    {
        long r = CheckType(a.Int(0), a.Int(1), a.Int(2));
        if (r < 0)
        {
            return r;
        }

        var s = new UnixSocket(a.Int(1));
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

        var x = new UnixSocket(a.Int(1));
        var y = new UnixSocket(a.Int(1));
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

    // Reads a sockaddr_un: "@name" for abstract names, a normalised absolute path otherwise.
    private static long ReadName(Task t, ulong addr, int len, out string name)
    {
        name = string.Empty;
        if (len < 2 || len > 110)
        {
            return -Errno.EINVAL.Value;
        }

        byte[] b = new byte[len];
        if (t.MM.CopyIn(addr, b) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (BitConverter.ToUInt16(b) != AF_UNIX)
        {
            return -Errno.EINVAL.Value;
        }

        if (len == 2)
        {
            return -Errno.EINVAL.Value;
        }

        if (b[2] == 0)
        {
            name = "@" + LinuxString.Encoding.GetString(b, 3, len - 3);
            return 0;
        }

        int end = Array.IndexOf(b, (byte)0, 2);
        string path = LinuxString.Encoding.GetString(b, 2, (end < 0 ? len : end) - 2);
        long r = PathResolver.Resolve(t, OpenFlags.AT_FDCWD, path, out string absolute);
        name = r < 0 ? string.Empty : PathResolver.Normalize(absolute);
        return r;
    }

    private static long WriteName(Task t, ulong addr, ulong lenAddr, string name)
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

        var b = new List<byte> { AF_UNIX, 0 };
        if (name.StartsWith('@'))
        {
            b.Add(0);
            b.AddRange(LinuxString.Encoding.GetBytes(name[1..]));
        }
        else if (name.Length > 0)
        {
            b.AddRange(LinuxString.Encoding.GetBytes(name));
            b.Add(0);
        }

        byte[] bytes = [.. b];
        if (t.MM.CopyOut(addr, bytes.AsSpan(0, Math.Min(len, bytes.Length))) < 0 || t.MM.CopyOut(lenAddr, bytes.Length) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    /// <summary>Implements bind(2). Path names live in the Sentry's name table, not in the file tree.</summary>
    public static long Bind(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(1);
        int len = a.Int(2);
        return WithSocket(t, a.Int(0), s =>
        {
            long r = ReadName(t, addr, len, out string name);
            if (r < 0)
            {
                return r;
            }

            if (s.BoundName.Length > 0)
            {
                return -Errno.EINVAL.Value;
            }

            lock (t.Kernel.UnixNames)
            {
                if (t.Kernel.UnixNames.ContainsKey(name))
                {
                    return -Errno.EADDRINUSE.Value;
                }

                t.Kernel.UnixNames[name] = s;
            }

            s.BoundName = name;
            s.NameTable = t.Kernel;
            return 0;
        });
    }

    /// <summary>Implements listen(2).</summary>
    public static long Listen(Task t, in SyscallArgs a)
    {
        int backlog = a.Int(1);
        return WithSocket(t, a.Int(0), s => s.IsConnected ? -Errno.EINVAL.Value : s.Listen(backlog));
    }

    /// <summary>Implements connect(2).</summary>
    public static long Connect(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(1);
        int len = a.Int(2);
        return WithSocket(t, a.Int(0), s =>
        {
            long r = ReadName(t, addr, len, out string name);
            if (r < 0)
            {
                return r;
            }

            if (s.IsConnected)
            {
                return -Errno.EISCONN.Value;
            }

            UnixSocket? server;
            lock (t.Kernel.UnixNames)
            {
                server = t.Kernel.UnixNames.GetValueOrDefault(name);
            }

            if (server == null)
            {
                return name.StartsWith('@') ? -Errno.ECONNREFUSED.Value : -Errno.ENOENT.Value;
            }

            return server.Enqueue(s, Cred(t), Cred(t));
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
        return WithSocket(t, a.Int(0), s => WriteName(t, addr, lenAddr, s.BoundName));
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

    /// <summary>Implements sendto(2) on connected sockets (a destination address is refused with EISCONN).</summary>
    public static long Sendto(Task t, in SyscallArgs a)
    {
        ulong buf = a.Pointer(1);
        ulong len = Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount);
        int flags = a.Int(3);
        bool hasDest = a.Pointer(4) != 0;
        return WithSocket(t, a.Int(0), s => hasDest && s.IsConnected ? -Errno.EISCONN.Value : s.Send(t, buf, len, flags));
    }

    /// <summary>Implements recvfrom(2).</summary>
    public static long Recvfrom(Task t, in SyscallArgs a)
    {
        ulong buf = a.Pointer(1);
        ulong len = Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount);
        int flags = a.Int(3);
        ulong addr = a.Pointer(4);
        ulong lenAddr = a.Pointer(5);
        return WithSocket(t, a.Int(0), s =>
        {
            long r = s.Receive(t, buf, len, flags);
            if (r >= 0 && addr != 0 && WriteName(t, addr, lenAddr, s.PeerName) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return r;
        });
    }

    /// <summary>Implements sendmsg(2) without ancillary data (SCM_RIGHTS is not supported yet: EOPNOTSUPP).</summary>
    public static long Sendmsg(Task t, in SyscallArgs a) => Msg(t, a.Int(0), a.Pointer(1), a.Int(2), send: true);

    /// <summary>Implements recvmsg(2) without ancillary data.</summary>
    public static long Recvmsg(Task t, in SyscallArgs a) => Msg(t, a.Int(0), a.Pointer(1), a.Int(2), send: false);

    private static long Msg(Task t, int fd, ulong msgAddr, int flags, bool send)
    {
        // struct msghdr: name, namelen(+pad), iov, iovlen, control, controllen, flags.
        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (send && m[5] != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        ulong iovAddr = m[2];
        ulong iovCount = m[3];
        if (iovCount > 1024)
        {
            return -Errno.EMSGSIZE.Value;
        }

        var iov = new ulong[iovCount * 2];
        if (iovCount > 0 && t.MM.CopyIn(iovAddr, MemoryMarshal.AsBytes(iov.AsSpan())) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return WithSocket(t, fd, s =>
        {
            long total = 0;
            for (ulong i = 0; i < iovCount; i++)
            {
                ulong len = iov[(i * 2) + 1];
                if (len == 0)
                {
                    continue;
                }

                long r = send ? s.Send(t, iov[i * 2], len, flags) : s.Receive(t, iov[i * 2], len, flags);
                if (r < 0)
                {
                    return total > 0 ? total : r;
                }

                total += r;
                if ((ulong)r < len || (!send && total > 0))
                {
                    break;
                }
            }

            if (!send)
            {
                // No control data and no truncation to report.
                t.MM.CopyOut(msgAddr + 40, 0UL);
                t.MM.CopyOut(msgAddr + 48, 0);
            }

            return total;
        });
    }

    /// <summary>Implements getsockopt(2) for the SOL_SOCKET options a unix socket answers.</summary>
    public static long Getsockopt(Task t, in SyscallArgs a)
    {
        int level = a.Int(1);
        int name = a.Int(2);
        ulong valAddr = a.Pointer(3);
        ulong lenAddr = a.Pointer(4);
        return WithSocket(t, a.Int(0), s =>
        {
            if (level != SOL_SOCKET)
            {
                return -Errno.ENOPROTOOPT.Value;
            }

            if (name == SO_PEERCRED)
            {
                (int pid, uint uid, uint gid) = s.PeerCred;
                Span<int> cred = [pid, (int)uid, (int)gid];
                return t.MM.CopyOut(valAddr, MemoryMarshal.AsBytes(cred)) < 0 || t.MM.CopyOut(lenAddr, 12) < 0 ? -Errno.EFAULT.Value : 0;
            }

            int? v = name switch
            {
                SO_TYPE => UnixSocket.SOCK_STREAM,
                SO_ERROR => 0,
                SO_DOMAIN => AF_UNIX,
                SO_PROTOCOL => 0,
                SO_ACCEPTCONN => s.IsListening ? 1 : 0,
                SO_SNDBUF or SO_RCVBUF => 212992,
                _ => null,
            };
            if (v == null)
            {
                return -Errno.ENOPROTOOPT.Value;
            }

            return t.MM.CopyOut(valAddr, v.Value) < 0 || t.MM.CopyOut(lenAddr, 4) < 0 ? -Errno.EFAULT.Value : 0;
        });
    }

    /// <summary>Implements setsockopt(2): buffer sizes and flags are accepted (the Sentry sizes its own buffers).</summary>
    public static long Setsockopt(Task t, in SyscallArgs a)
    {
        int level = a.Int(1);
        return WithSocket(t, a.Int(0), s => level == SOL_SOCKET ? 0 : -Errno.ENOPROTOOPT.Value);
    }
}
