using Moat.Abi;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>The RWF_* flags of preadv2/pwritev2, checked as Linux's kiocb_set_rw_flags does.</summary>
internal static class RwFlags
{
    public const int RWF_HIPRI = 0x1;
    public const int RWF_DSYNC = 0x2;
    public const int RWF_SYNC = 0x4;
    public const int RWF_NOWAIT = 0x8;
    public const int RWF_APPEND = 0x10;
    public const int RWF_NOAPPEND = 0x20;
    public const int RWF_ATOMIC = 0x40;
    public const int RWF_DONTCACHE = 0x80;

    /// <summary>0 when the flags are usable, else -errno: unknown bits are EOPNOTSUPP, as in Linux, not EINVAL.</summary>
    public static long Check(int flags, bool write)
    {
        const int Known = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND | RWF_ATOMIC | RWF_DONTCACHE;
        if ((flags & ~Known) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        if ((flags & (RWF_APPEND | RWF_NOAPPEND)) == (RWF_APPEND | RWF_NOAPPEND))
        {
            return -Errno.EINVAL.Value;
        }

        // Atomic writes need O_DIRECT support and uncached I/O a file system that offers it; tmpfs and the
        // gofer's files have neither. HIPRI, DSYNC and SYNC change nothing for memory-backed data.
        return (flags & (RWF_ATOMIC | RWF_DONTCACHE)) != 0 ? -Errno.EOPNOTSUPP.Value : 0;
    }
}
