using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>personality(2) and readahead(2): calls with Linux's checks and nothing for the sandbox to do.</summary>
internal static class SysMisc
{
    private const uint PersonalityQuery = 0xffffffff;

    /// <summary>Implements personality(2): any value is stored (0xffffffff only reads) and the old one returned.</summary>
    public static long Personality(Task t, in SyscallArgs a)
    {
        uint old = t.Personality;
        uint next = a.UInt(0);
        if (next != PersonalityQuery)
        {
            t.Personality = next;
        }

        return old;
    }

    /// <summary>
    /// Implements readahead(2): EBADF for a bad or O_PATH fd, EINVAL for anything but a regular file (or block
    /// device), EBADF for a file not open for reading, else 0 (the Sentry keeps no page cache to fill).
    /// </summary>
    public static long Readahead(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if ((f.StatusFlags & OpenFlags.O_PATH) != 0)
            {
                return -Errno.EBADF.Value;
            }

            long r = f.Stat(out Stat st);
            if (r < 0)
            {
                return r;
            }

            uint type = st.st_mode & Stat.S_IFMT;
            if (type != Stat.S_IFREG && type != Stat.S_IFBLK)
            {
                return -Errno.EINVAL.Value;
            }

            return (f.StatusFlags & OpenFlags.O_ACCMODE) == OpenFlags.O_WRONLY ? -Errno.EBADF.Value : 0;
        }
        finally
        {
            f.DecRef();
        }
    }
}
