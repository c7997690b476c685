namespace Moat.Sentry.Loader;

/// <summary>A file the loader reads a program image from.</summary>
internal unsafe interface IExecutableFile
{
    /// <summary>The path the program was opened by, in the sandbox's namespace.</summary>
    string Path { get; }

    /// <summary>The file's size in bytes.</summary>
    long Size { get; }

    /// <summary>The file's mode, owner and group when it was opened (for its set-user-id and set-group-id bits).</summary>
    (uint Mode, uint Uid, uint Gid) Owner { get; }

    /// <summary>The file's device and inode, for the segments' lines in /proc/PID/maps.</summary>
    Mm.MappedFileId Id { get; }

    /// <summary>Whether the file lies on a nosuid mount: its set-id bits are then ignored.</summary>
    bool NoSuid { get; }

    /// <summary>Reads up to <paramref name="count"/> bytes at <paramref name="offset"/>; returns the count or -errno.</summary>
    long ReadAt(long offset, byte* dst, ulong count);
}
