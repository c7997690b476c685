using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Gofer;

/// <summary>Operations the gofer serves. Every one names a root (0: the sandbox root; 1..: volumes).</summary>
public enum GoferOp : byte
{
    /// <summary>
    /// Open a path (flags, mode in arg 0); the reply carries the fd (SCM_RIGHTS) and, from the root, the path a
    /// symlink on the way led to (empty when there was none).
    /// </summary>
    Open = 1,

    /// <summary>Read a symbolic link; the reply carries the target.</summary>
    ReadLink = 2,

    /// <summary>mkdir: path, mode in arg 0.</summary>
    Mkdir = 3,

    /// <summary>unlink or rmdir: path, AT_REMOVEDIR in flags.</summary>
    Unlink = 4,

    /// <summary>symlink: the new name in path, the target in path 2.</summary>
    Symlink = 5,

    /// <summary>link: the existing name in path, the new one in path 2.</summary>
    Link = 6,

    /// <summary>rename: the old name in path, the new one in path 2, renameat2 flags in flags.</summary>
    Rename = 7,

    /// <summary>chmod: mode in arg 0; AT_SYMLINK_NOFOLLOW in flags.</summary>
    Chmod = 8,

    /// <summary>chown: uid in arg 0, gid in arg 1 (-1 keeps); AT_SYMLINK_NOFOLLOW in flags.</summary>
    Chown = 9,

    /// <summary>utimensat: atime in args 0-1, mtime in args 2-3 (UTIME_NOW/OMIT as Linux); AT_SYMLINK_NOFOLLOW in flags.</summary>
    Utimes = 10,

    /// <summary>mknod of a unix-socket node (S_IFSOCK only): path, S_IFSOCK and permissions in arg 0.</summary>
    Mknod = 11,

    /// <summary>
    /// link an open unnamed file (O_TMPFILE) of a volume: the new name in path; the file's fd travels with the
    /// request (SCM_RIGHTS).
    /// </summary>
    LinkFd = 12,
}

/// <summary>One decoded request.</summary>
public readonly record struct GoferRequest(GoferOp Op, byte Root, int Flags, long Arg0, long Arg1, long Arg2, long Arg3, string Path, string Path2);

/// <summary>
/// The Sentry–gofer wire format, one SOCK_SEQPACKET message per request and per reply.
/// Request: op (u8), root (u8), 2 bytes zero, flags (i32 LE), four i64 LE arguments, then the path
/// (UTF-8) and, for the two-name operations, a NUL and the second path. Neither path holds a NUL.
/// Reply: result (i32 LE: 0 or -errno), payload (the rest); an opened fd travels as SCM_RIGHTS.
/// </summary>
public static class GoferProtocol
{
    public const int HeaderSize = 40;
    public const int MaxMessage = 8192;

    public static int EncodeRequest(Span<byte> dst, GoferOp op, int flags, string path) =>
        EncodeRequest(dst, new GoferRequest(op, 0, flags, 0, 0, 0, 0, path, string.Empty));

    public static int EncodeRequest(Span<byte> dst, in GoferRequest req)
    {
        dst[..HeaderSize].Clear();
        dst[0] = (byte)req.Op;
        dst[1] = req.Root;
        BinaryPrimitives.WriteInt32LittleEndian(dst[4..], req.Flags);
        BinaryPrimitives.WriteInt64LittleEndian(dst[8..], req.Arg0);
        BinaryPrimitives.WriteInt64LittleEndian(dst[16..], req.Arg1);
        BinaryPrimitives.WriteInt64LittleEndian(dst[24..], req.Arg2);
        BinaryPrimitives.WriteInt64LittleEndian(dst[32..], req.Arg3);
        int len = HeaderSize + LinuxString.Encoding.GetBytes(req.Path, dst[HeaderSize..]);
        if (req.Path2.Length > 0)
        {
            dst[len++] = 0;
            len += LinuxString.Encoding.GetBytes(req.Path2, dst[len..]);
        }

        return len;
    }

    /// <summary>The encoded size of a request's two paths, to check against <see cref="MaxMessage"/>.</summary>
    public static int PathBytes(string path, string path2) =>
        LinuxString.Encoding.GetByteCount(path) + (path2.Length > 0 ? 1 + LinuxString.Encoding.GetByteCount(path2) : 0);

    /// <summary>Decodes a request (root 0, the path only). Returns false for a malformed one.</summary>
    public static bool TryDecodeRequest(ReadOnlySpan<byte> msg, out GoferOp op, out int flags, out string path)
    {
        bool ok = TryDecodeRequest(msg, out GoferRequest req) && req.Root == 0 && req.Path2.Length == 0;
        op = ok ? req.Op : default;
        flags = ok ? req.Flags : 0;
        path = ok ? req.Path : string.Empty;
        return ok;
    }

    /// <summary>Decodes a request. Returns false for a malformed one.</summary>
    public static bool TryDecodeRequest(ReadOnlySpan<byte> msg, out GoferRequest req)
    {
        req = default;
        if (msg.Length < HeaderSize || msg[2] != 0 || msg[3] != 0)
        {
            return false;
        }

        ReadOnlySpan<byte> p = msg[HeaderSize..];
        ReadOnlySpan<byte> p2 = default;
        int nul = p.IndexOf((byte)0);
        if (nul >= 0)
        {
            p2 = p[(nul + 1)..];
            p = p[..nul];
            if (p2.Length == 0 || p2.IndexOf((byte)0) >= 0)
            {
                return false;
            }
        }

        req = new GoferRequest(
            (GoferOp)msg[0],
            msg[1],
            BinaryPrimitives.ReadInt32LittleEndian(msg[4..]),
            BinaryPrimitives.ReadInt64LittleEndian(msg[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(msg[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(msg[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(msg[32..]),
            LinuxString.Encoding.GetString(p),
            LinuxString.Encoding.GetString(p2));
        return true;
    }

    public static int EncodeReply(Span<byte> dst, int result, string? payload)
    {
        BinaryPrimitives.WriteInt32LittleEndian(dst, result);
        return 4 + (payload == null ? 0 : LinuxString.Encoding.GetBytes(payload, dst[4..]));
    }

    public static bool TryDecodeReply(ReadOnlySpan<byte> msg, out int result, out string payload)
    {
        payload = string.Empty;
        result = 0;
        if (msg.Length < 4)
        {
            return false;
        }

        result = BinaryPrimitives.ReadInt32LittleEndian(msg);
        payload = LinuxString.Encoding.GetString(msg[4..]);
        return true;
    }
}
