using System;
using System.Runtime.InteropServices;
using Moat.Abi;

namespace Moat.Host;

/// <summary>Path-based host calls, for the gofer only: the Sentry never opens host paths.</summary>
public static unsafe class HostPath
{
    public const ulong RESOLVE_NO_XDEV = 0x01;
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    public const ulong RESOLVE_NO_SYMLINKS = 0x04;
    public const ulong RESOLVE_BENEATH = 0x08;
    public const ulong RESOLVE_IN_ROOT = 0x10;

    private const int SysOpenat2 = 437;
    private const int SysReadlinkat = 267;
    private const int SysOpenat = 257;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary>openat2(2). Returns the fd or -errno.</summary>
    public static long Openat2(int dirfd, string path, int flags, ulong resolve)
    {
        byte[] p = CString(path);
        var how = new OpenHow { Flags = (ulong)(uint)flags, Resolve = resolve };
        fixed (byte* pp = p)
        {
            while (true)
            {
                long r = HostProcess.Syscall(SysOpenat2, dirfd, (long)pp, (long)&how, sizeof(OpenHow));
                if (r != -4 && r != -11 /* EAGAIN: a rename raced the lookup; retry */)
                {
                    return r;
                }
            }
        }
    }

    /// <summary>openat(2). Returns the fd or -errno.</summary>
    public static long Openat(int dirfd, string path, int flags)
    {
        byte[] p = CString(path);
        fixed (byte* pp = p)
        {
            return HostProcess.Syscall(SysOpenat, dirfd, (long)pp, flags, 0);
        }
    }

    /// <summary>readlinkat(fd, "", ...) on an O_PATH fd of a symlink. Returns the target or null with -errno.</summary>
    public static string? ReadLinkFd(int fd, out long error)
    {
        byte[] buf = new byte[4096];
        byte empty = 0;
        fixed (byte* b = buf)
        {
            error = HostProcess.Syscall(SysReadlinkat, fd, (long)&empty, (long)b, buf.Length);
        }

        return error < 0 ? null : LinuxString.Encoding.GetString(buf, 0, (int)error);
    }

    /// <summary>The path the host kernel records for one of our own fds (readlink of /proc/self/fd/N).</summary>
    public static string? FdPath(int fd, out long error)
    {
        byte[] path = CString("/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture));
        byte[] buf = new byte[4096];
        fixed (byte* p = path)
        fixed (byte* b = buf)
        {
            error = HostProcess.Syscall(89 /* readlink */, (long)p, (long)b, buf.Length);
        }

        return error < 0 ? null : LinuxString.Encoding.GetString(buf, 0, (int)error);
    }

    private static byte[] CString(string s)
    {
        byte[] b = new byte[LinuxString.Encoding.GetByteCount(s) + 1];
        LinuxString.Encoding.GetBytes(s, b);
        return b;
    }
}
