using System;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>A mount's own flags (per mount, not per file system), as mount(2) sets them with MS_*.</summary>
[Flags]
internal enum MountFlags
{
    None = 0,
    ReadOnly = 1 << 0,
    NoSuid = 1 << 1,
    NoDev = 1 << 2,
    NoExec = 1 << 3,
    NoAtime = 1 << 4,
    NoDirAtime = 1 << 5,
    StrictAtime = 1 << 6,
}
