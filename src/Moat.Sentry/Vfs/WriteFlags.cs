using System;

namespace Moat.Sentry.Vfs;

/// <summary>How a write treats the file (the RWF_* flags of pwritev2 that reach the file).</summary>
[Flags]
internal enum WriteFlags
{
    None = 0,

    /// <summary>RWF_NOAPPEND: write at the given offset even if the file is O_APPEND.</summary>
    NoAppend = 1,
}
