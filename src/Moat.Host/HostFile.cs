using System;
using Moat.Abi;

namespace Moat.Host;

/// <summary>Host file-descriptor I/O. All results are non-negative on success or -errno.</summary>
public static unsafe class HostFile
{
    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int F_GETFL = 3;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int FD_CLOEXEC = 1;

    public static long Read(int fd, byte* buf, ulong count) => HostResult.FromNint(Interop.Libc.read(fd, buf, (nuint)count));

    public static long Write(int fd, byte* buf, ulong count) => HostResult.FromNint(Interop.Libc.write(fd, buf, (nuint)count));

    public static long PRead(int fd, byte* buf, ulong count, long offset) => HostResult.FromNint(Interop.Libc.pread(fd, buf, (nuint)count, offset));

    public static long PWrite(int fd, byte* buf, ulong count, long offset) => HostResult.FromNint(Interop.Libc.pwrite(fd, buf, (nuint)count, offset));

    public static long Seek(int fd, long offset, int whence) => HostResult.FromLong(Interop.Libc.lseek(fd, offset, whence));

    public static long Close(int fd) => HostResult.FromInt(Interop.Libc.close(fd));

    /// <summary>
    /// close_range(first, ~0, CLOSE_RANGE_CLOEXEC): marks every fd from <paramref name="first"/> up close-on-exec
    /// without closing it, so fds the caller of moat left open never reach a process moat spawns.
    /// </summary>
    public static long CloseOnExecFrom(int first) => HostProcess.Syscall(Sysno.close_range, first, uint.MaxValue, 4 /* CLOSE_RANGE_CLOEXEC */);

    public static long Fstat(int fd, out Stat st)
    {
        fixed (Stat* p = &st)
        {
            return HostResult.FromInt(Interop.Libc.fstat(fd, p));
        }
    }

    /// <summary>fstatfs(2) into <paramref name="buf"/> (struct statfs, 120 bytes). Returns 0 or -errno.</summary>
    public static long Fstatfs(int fd, Span<byte> buf)
    {
        fixed (byte* p = buf)
        {
            return HostProcess.Syscall(Sysno.fstatfs, fd, (long)p);
        }
    }

    public static long Ioctl(int fd, ulong request, void* arg) => HostResult.FromInt(Interop.Libc.ioctl(fd, request, arg));

    public static long Fcntl(int fd, int cmd, long arg) => HostResult.FromInt(Interop.Libc.fcntl(fd, cmd, arg));

    /// <summary>memfd_create(2) with MFD_CLOEXEC.</summary>
    public static SafeFdHandle MemfdCreate(string name, out long error)
    {
        int fd = Interop.Libc.memfd_create(name, Interop.Libc.MFD_CLOEXEC);
        error = HostResult.FromInt(fd);
        return new SafeFdHandle(fd);
    }

    /// <summary>fallocate(2) on a host fd. Returns 0 or -errno.</summary>
    public static long Fallocate(int fd, int mode, long offset, long length) => HostProcess.Syscall(Sysno.fallocate, fd, mode, offset, length);

    public static long Ftruncate(int fd, long length) => HostResult.FromInt(Interop.Libc.ftruncate(fd, length));

    /// <summary>Releases the host pages of a range and makes it read back as zeros.</summary>
    public static long PunchHole(int fd, long offset, long length) =>
        HostResult.FromInt(Interop.Libc.fallocate(fd, Interop.Libc.FALLOC_FL_PUNCH_HOLE | Interop.Libc.FALLOC_FL_KEEP_SIZE, offset, length));
}
