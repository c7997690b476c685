using Moat.Abi;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// What a /proc/PID/ns link leads to (Linux's nsfs file): it can be opened and stat'ed (its inode number is
/// the namespace's), not read or written; setns on it is not supported.
/// </summary>
internal sealed class NamespaceFile : FileDescription
{
    // nsfs's device as Linux shows it (0:4).
    private const ulong NsfsDevice = 4;

    private readonly ulong _inode;

    public NamespaceFile(ulong inode)
    {
        _inode = inode;
        StatusFlags = OpenFlags.O_RDONLY | OpenFlags.O_LARGEFILE;
    }

    public override long Stat(out Stat st)
    {
        st = new Stat { st_mode = Abi.Stat.S_IFREG | 0x124 /* 0444 */, st_nlink = 1, st_ino = _inode, st_dev = NsfsDevice, st_blksize = 4096 };
        return 0;
    }
}
