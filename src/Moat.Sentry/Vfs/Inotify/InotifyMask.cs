namespace Moat.Sentry.Vfs.Inotify;

/// <summary>Linux's inotify event and flag bits (include/uapi/linux/inotify.h).</summary>
internal static class InotifyMask
{
    public const uint IN_ACCESS = 0x1;
    public const uint IN_MODIFY = 0x2;
    public const uint IN_ATTRIB = 0x4;
    public const uint IN_CLOSE_WRITE = 0x8;
    public const uint IN_CLOSE_NOWRITE = 0x10;
    public const uint IN_OPEN = 0x20;
    public const uint IN_MOVED_FROM = 0x40;
    public const uint IN_MOVED_TO = 0x80;
    public const uint IN_CREATE = 0x100;
    public const uint IN_DELETE = 0x200;
    public const uint IN_DELETE_SELF = 0x400;
    public const uint IN_MOVE_SELF = 0x800;
    public const uint IN_ALL_EVENTS = 0xFFF;

    public const uint IN_UNMOUNT = 0x2000;
    public const uint IN_Q_OVERFLOW = 0x4000;
    public const uint IN_IGNORED = 0x8000;

    public const uint IN_ONLYDIR = 0x0100_0000;
    public const uint IN_DONT_FOLLOW = 0x0200_0000;
    public const uint IN_EXCL_UNLINK = 0x0400_0000;
    public const uint IN_MASK_CREATE = 0x1000_0000;
    public const uint IN_MASK_ADD = 0x2000_0000;
    public const uint IN_ISDIR = 0x4000_0000;
    public const uint IN_ONESHOT = 0x8000_0000;

    /// <summary>Events a directory's watch also gets for the entries inside it (with their names).</summary>
    public const uint ChildEvents = IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN;

    /// <summary>Bits inotify_add_watch accepts.</summary>
    public const uint Valid = IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT;
}
