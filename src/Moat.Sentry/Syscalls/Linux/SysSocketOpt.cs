using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>getsockopt(2) and setsockopt(2) for the SOL_SOCKET options a unix socket has.</summary>
internal static partial class SysSocket
{
    private const int SOL_SOCKET = 1;
    private const int SO_DEBUG = 1;
    private const int SO_REUSEADDR = 2;
    private const int SO_TYPE = 3;
    private const int SO_ERROR = 4;
    private const int SO_DONTROUTE = 5;
    private const int SO_BROADCAST = 6;
    private const int SO_SNDBUF = 7;
    private const int SO_RCVBUF = 8;
    private const int SO_KEEPALIVE = 9;
    private const int SO_OOBINLINE = 10;
    private const int SO_PRIORITY = 12;
    private const int SO_LINGER = 13;
    private const int SO_REUSEPORT = 15;
    private const int SO_PASSCRED = 16;
    private const int SO_PEERCRED = 17;
    private const int SO_RCVLOWAT = 18;
    private const int SO_RCVTIMEO_OLD = 20;
    private const int SO_SNDTIMEO_OLD = 21;
    private const int SO_ACCEPTCONN = 30;
    private const int SO_SNDBUFFORCE = 32;
    private const int SO_RCVBUFFORCE = 33;
    private const int SO_PASSSEC = 34;
    private const int SO_PROTOCOL = 38;
    private const int SO_DOMAIN = 39;
    private const int SO_RCVTIMEO_NEW = 66;
    private const int SO_SNDTIMEO_NEW = 67;

    // Linux's floors for the buffer sizes (twice, and once, the truesize of a minimal buffer).
    private const int MinSendBuffer = 4608;
    private const int MinReceiveBuffer = 2304;

    /// <summary>Implements getsockopt(2).</summary>
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
                return -Errno.EOPNOTSUPP.Value;
            }

            if (t.MM.CopyIn(lenAddr, out int len) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (len < 0)
            {
                return -Errno.EINVAL.Value;
            }

            Span<byte> v = stackalloc byte[16];
            int n = 4;
            switch (name)
            {
                case SO_PEERCRED:
                    UnixCredentials c = s.PeerCred;
                    MemoryMarshal.Write(v, t.Kernel.IdIn(t.PidNs, c.Pid));
                    MemoryMarshal.Write(v[4..], c.Uid);
                    MemoryMarshal.Write(v[8..], c.Gid);
                    n = 12;
                    break;
                case SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW or SO_SNDTIMEO_OLD or SO_SNDTIMEO_NEW:
                    n = WriteTimeout(s, name, v);
                    break;
                case SO_LINGER:
                    MemoryMarshal.Write(v, s.PlainOptions.GetValueOrDefault(SO_LINGER));
                    MemoryMarshal.Write(v[4..], s.PlainOptions.GetValueOrDefault(-SO_LINGER));
                    n = 8;
                    break;
                default:
                    int? iv = name switch
                    {
                        SO_TYPE => s.Type,
                        SO_ERROR => s.TakeError(),
                        SO_DOMAIN => AF_UNIX,
                        SO_PROTOCOL => 0,
                        SO_ACCEPTCONN => s.IsListening ? 1 : 0,
                        SO_SNDBUF => s.SendBuffer,
                        SO_RCVBUF => s.ReceiveBuffer,
                        SO_PASSCRED => s.PassCred ? 1 : 0,
                        SO_RCVLOWAT => s.PlainOptions.GetValueOrDefault(SO_RCVLOWAT, 1),
                        SO_DEBUG or SO_REUSEADDR or SO_DONTROUTE or SO_BROADCAST or SO_KEEPALIVE or SO_OOBINLINE
                            or SO_PRIORITY or SO_REUSEPORT or SO_PASSSEC => s.PlainOptions.GetValueOrDefault(name),
                        _ => null,
                    };
                    if (iv == null)
                    {
                        return -Errno.ENOPROTOOPT.Value;
                    }

                    MemoryMarshal.Write(v, iv.Value);
                    break;
            }

            n = Math.Min(n, len);
            return t.MM.CopyOut(valAddr, v[..n]) < 0 || t.MM.CopyOut(lenAddr, n) < 0 ? -Errno.EFAULT.Value : 0;
        });
    }

    /// <summary>Implements setsockopt(2).</summary>
    public static long Setsockopt(Task t, in SyscallArgs a)
    {
        int level = a.Int(1);
        int name = a.Int(2);
        ulong valAddr = a.Pointer(3);
        int len = a.Int(4);
        return WithSocket(t, a.Int(0), s =>
        {
            if (level != SOL_SOCKET)
            {
                return -Errno.EOPNOTSUPP.Value;
            }

            if (len < 4)
            {
                return -Errno.EINVAL.Value;
            }

            if (t.MM.CopyIn(valAddr, out int v) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            switch (name)
            {
                case SO_SNDBUF or SO_SNDBUFFORCE:
                    s.SendBuffer = Math.Max(BufferSize(v, name == SO_SNDBUFFORCE), MinSendBuffer);
                    s.NotifyAll();
                    return 0;
                case SO_RCVBUF or SO_RCVBUFFORCE:
                    s.ReceiveBuffer = Math.Max(BufferSize(v, name == SO_RCVBUFFORCE), MinReceiveBuffer);
                    return 0;
                case SO_PASSCRED:
                    s.PassCred = v != 0;
                    return 0;
                case SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW or SO_SNDTIMEO_OLD or SO_SNDTIMEO_NEW:
                    return SetTimeout(t, s, name, valAddr, len);
                case SO_LINGER:
                    if (len < 8 || t.MM.CopyIn(valAddr + 4, out int linger) < 0)
                    {
                        return len < 8 ? -Errno.EINVAL.Value : -Errno.EFAULT.Value;
                    }

                    s.PlainOptions[SO_LINGER] = v != 0 ? 1 : 0;
                    s.PlainOptions[-SO_LINGER] = linger;
                    return 0;
                case SO_RCVLOWAT:
                    s.PlainOptions[name] = v < 0 ? int.MaxValue : Math.Max(v, 1);
                    return 0;
                case SO_PRIORITY:
                    s.PlainOptions[name] = v;
                    return 0;
                case SO_DEBUG or SO_REUSEADDR or SO_DONTROUTE or SO_BROADCAST or SO_KEEPALIVE or SO_OOBINLINE or SO_REUSEPORT or SO_PASSSEC:
                    s.PlainOptions[name] = v != 0 ? 1 : 0;
                    return 0;
                default:
                    return -Errno.ENOPROTOOPT.Value;
            }
        });
    }

    // Linux doubles the requested size (for its bookkeeping) after capping it at wmem_max / rmem_max.
    private static int BufferSize(int v, bool force)
    {
        long size = force ? Math.Max(v, 0) : Math.Min((uint)v, UnixSocket.MaxBuffer);
        return (int)Math.Min(size * 2, int.MaxValue);
    }
}
