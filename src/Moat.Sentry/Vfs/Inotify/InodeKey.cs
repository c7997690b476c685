using Moat.Abi;

namespace Moat.Sentry.Vfs.Inotify;

/// <summary>Which inode a watch is on: its device and inode number, as stat reports them.</summary>
internal readonly record struct InodeKey(ulong Dev, ulong Ino)
{
    public static InodeKey Of(in Stat st) => new(st.st_dev, st.st_ino);
}
