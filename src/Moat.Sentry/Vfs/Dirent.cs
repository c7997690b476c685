using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Sentry.Vfs;

/// <summary>Encodes struct linux_dirent64 records for getdents64(2).</summary>
internal static class Dirent
{
    /// <summary>
    /// Appends one record to <paramref name="buf"/> at <paramref name="used"/>. Returns false, writing
    /// nothing, when it does not fit.
    /// </summary>
    public static bool TryAppend(Span<byte> buf, ref int used, ulong ino, long nextOffset, byte type, string name)
    {
        int reclen = (19 + LinuxString.Encoding.GetByteCount(name) + 1 + 7) & ~7;
        if (used + reclen > buf.Length)
        {
            return false;
        }

        Span<byte> rec = buf.Slice(used, reclen);
        rec.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(rec, ino);
        BinaryPrimitives.WriteInt64LittleEndian(rec[8..], nextOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(rec[16..], (ushort)reclen);
        rec[18] = type;
        LinuxString.Encoding.GetBytes(name, rec[19..]);
        used += reclen;
        return true;
    }
}
