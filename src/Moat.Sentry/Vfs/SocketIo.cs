using System;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs;

/// <summary>An application's scatter/gather list (struct iovec[]), read and written at byte offsets.</summary>
internal sealed class IoVecs
{
    private readonly ulong[] _pairs;

    // Set for a Sentry buffer (sendfile and splice to and from sockets) instead of application memory.
    private readonly byte[]? _buffer;

    /// <param name="pairs">base, length, base, length, ...</param>
    public IoVecs(ulong[] pairs)
    {
        _pairs = pairs;
        for (int i = 1; i < pairs.Length; i += 2)
        {
            Total += pairs[i];
        }
    }

    /// <summary>The first <paramref name="length"/> bytes of a Sentry buffer.</summary>
    public IoVecs(byte[] buffer, int length)
    {
        _pairs = [];
        _buffer = buffer;
        Total = (ulong)length;
    }

    /// <summary>One buffer (send, recv, sendto, recvfrom).</summary>
    public static IoVecs Single(ulong addr, ulong len) => new([addr, len]);

    public ulong Total { get; }

    /// <summary>Copies bytes [offset, offset + dst.Length) of the list into dst. Returns 0 or -EFAULT.</summary>
    public long CopyIn(MemoryManager mm, ulong offset, Span<byte> dst)
    {
        if (_buffer != null)
        {
            _buffer.AsSpan((int)offset, dst.Length).CopyTo(dst);
            return 0;
        }

        int done = 0;
        for (int i = 0; i < _pairs.Length && done < dst.Length; i += 2)
        {
            if (!Seek(i, ref offset, dst.Length - done, out int n))
            {
                continue;
            }

            if (mm.CopyIn(_pairs[i] + offset, dst.Slice(done, n)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            done += n;
            offset = 0;
        }

        return 0;
    }

    /// <summary>Copies src into bytes [offset, offset + src.Length) of the list. Returns 0 or -EFAULT.</summary>
    public long CopyOut(MemoryManager mm, ulong offset, ReadOnlySpan<byte> src)
    {
        if (_buffer != null)
        {
            src.CopyTo(_buffer.AsSpan((int)offset));
            return 0;
        }

        int done = 0;
        for (int i = 0; i < _pairs.Length && done < src.Length; i += 2)
        {
            if (!Seek(i, ref offset, src.Length - done, out int n))
            {
                continue;
            }

            if (mm.CopyOut(_pairs[i] + offset, src.Slice(done, n)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            done += n;
            offset = 0;
        }

        return 0;
    }

    // Whether buffer i holds bytes at offset; if not, offset moves past it.
    private bool Seek(int i, ref ulong offset, int left, out int n)
    {
        ulong len = _pairs[i + 1];
        if (offset >= len)
        {
            offset -= len;
            n = 0;
            return false;
        }

        n = (int)Math.Min(len - offset, (ulong)left);
        return true;
    }
}

/// <summary>What a send carries besides bytes: files (SCM_RIGHTS) and claimed credentials (SCM_CREDENTIALS).</summary>
internal sealed class SendControl
{
    public FileDescription[]? Rights { get; set; }

    public UnixCredentials? Creds { get; set; }

    /// <summary>Drops the references on files that were not sent.</summary>
    public void Release()
    {
        if (Rights != null)
        {
            foreach (FileDescription f in Rights)
            {
                f.DecRef();
            }

            Rights = null;
        }
    }
}

/// <summary>What a receive returns besides bytes: the sender's name, credentials, files and MSG_ flags.</summary>
internal sealed class RecvResult
{
    /// <summary>The sending socket's name, or null when it has none (the address length is then 0).</summary>
    public string? From { get; set; }

    public UnixCredentials? Creds { get; set; }

    /// <summary>Received files; the receiver owns one reference on each.</summary>
    public FileDescription[]? Rights { get; set; }

    /// <summary>MSG_TRUNC when a datagram was cut short.</summary>
    public int Flags { get; set; }
}
