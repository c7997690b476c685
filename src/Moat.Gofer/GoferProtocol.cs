using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Gofer;

/// <summary>Operations the gofer serves.</summary>
public enum GoferOp : byte
{
    /// <summary>Open a path; the reply carries the fd (SCM_RIGHTS).</summary>
    Open = 1,

    /// <summary>Read a symbolic link; the reply carries the target.</summary>
    ReadLink = 2,
}

/// <summary>
/// The Sentry–gofer wire format, one SOCK_SEQPACKET message per request and per reply.
/// Request: op (u8), 3 bytes zero, flags (i32 LE), path (UTF-8, the rest of the message).
/// Reply: result (i32 LE: 0 or -errno), payload (the rest); an opened fd travels as SCM_RIGHTS.
/// </summary>
public static class GoferProtocol
{
    public const int HeaderSize = 8;
    public const int MaxMessage = 8192;

    public static int EncodeRequest(Span<byte> dst, GoferOp op, int flags, string path)
    {
        dst[..HeaderSize].Clear();
        dst[0] = (byte)op;
        BinaryPrimitives.WriteInt32LittleEndian(dst[4..], flags);
        return HeaderSize + LinuxString.Encoding.GetBytes(path, dst[HeaderSize..]);
    }

    /// <summary>Decodes a request. Returns false for a malformed one.</summary>
    public static bool TryDecodeRequest(ReadOnlySpan<byte> msg, out GoferOp op, out int flags, out string path)
    {
        op = default;
        flags = 0;
        path = string.Empty;
        if (msg.Length < HeaderSize || msg[1] != 0 || msg[2] != 0 || msg[3] != 0)
        {
            return false;
        }

        op = (GoferOp)msg[0];
        flags = BinaryPrimitives.ReadInt32LittleEndian(msg[4..]);
        ReadOnlySpan<byte> p = msg[HeaderSize..];
        if (p.IndexOf((byte)0) >= 0)
        {
            return false;
        }

        path = LinuxString.Encoding.GetString(p);
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
