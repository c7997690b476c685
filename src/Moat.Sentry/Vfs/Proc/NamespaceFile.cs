using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// What a /proc/PID/ns link leads to (Linux's nsfs file): it can be opened and stat'ed (its inode number is
/// the namespace's), not read or written. setns(2) takes a pid namespace's (<see cref="PidNamespace"/>) only.
/// </summary>
internal sealed class NamespaceFile : FileDescription
{
    // nsfs's device as Linux shows it (0:4).
    private const ulong NsfsDevice = 4;

    private readonly ulong _inode;

    /// <summary>The pid namespace of a pid or pid_for_children link, null for the other kinds.</summary>
    public PidNamespace? PidNamespace { get; init; }

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
