using System;
using System.Buffers;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// The legacy getdents(2), on top of getdents64: a linux_dirent record (d_ino, d_off, d_reclen, d_name, a NUL,
/// padding, d_type in the last byte) is exactly as long as the linux_dirent64 record of the same name, so the
/// same entries fit the caller's buffer and each record is rewritten in place.
/// </summary>
internal static class SysGetdents
{
    private const int NameOffset64 = 19;
    private const int NameOffset = 18;

    /// <summary>Implements getdents(2).</summary>
    public static long Getdents(Task t, in SyscallArgs a)
    {
        long n = SysDir.Getdents64(t, a);
        if (n <= 0)
        {
            return n;
        }

        ulong addr = a.Pointer(1);
        byte[] buf = ArrayPool<byte>.Shared.Rent((int)n);
        try
        {
            Span<byte> records = buf.AsSpan(0, (int)n);
            if (t.MM.CopyIn(addr, records) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            for (int off = 0; off < n;)
            {
                Span<byte> rec = records[off..];
                int reclen = BinaryPrimitives.ReadUInt16LittleEndian(rec[16..]);
                if (reclen < NameOffset64 + 1 || reclen > rec.Length)
                {
                    break; // not a record getdents64 writes; leave the rest as it is
                }

                rec = rec[..reclen];
                byte type = rec[18];
                int nameLen = rec[NameOffset64..].IndexOf((byte)0);
                if (nameLen < 0)
                {
                    nameLen = reclen - NameOffset64;
                }

                rec.Slice(NameOffset64, nameLen).CopyTo(rec[NameOffset..]);
                rec[(NameOffset + nameLen)..].Clear();
                rec[reclen - 1] = type;
                off += reclen;
            }

            return t.MM.CopyOut(addr, records) < 0 ? -Errno.EFAULT.Value : n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }
}
