using System;
using Moat.Abi;

namespace Moat.Host;

/// <summary>Whole-buffer write(2) for log files opened with O_APPEND: each call is one line in the file, whoever else appends.</summary>
public static unsafe class HostAppend
{
    /// <summary>Opens (creating, mode 0644) <paramref name="path"/> for appending; the fd or -errno.</summary>
    public static long Open(string path) =>
        HostPathChange.Openat2(OpenFlags.AT_FDCWD, path, OpenFlags.O_WRONLY | OpenFlags.O_APPEND | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC, 0x1A4 /* 0644 */, 0);

    /// <summary>Writes all of <paramref name="data"/> with write(2), again after a short write or EINTR; 0 or -errno.</summary>
    public static long Write(int fd, ReadOnlySpan<byte> data)
    {
        // SAFETY: the span is pinned for the call and write reads at most its length.
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                long n = HostFile.Write(fd, p + done, (ulong)(data.Length - done));
                if (n == -Errno.EINTR.Value)
                {
                    continue;
                }

                if (n <= 0)
                {
                    return n < 0 ? n : -Errno.EIO.Value;
                }

                done += (int)n;
            }
        }

        return 0;
    }
}
