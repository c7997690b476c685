namespace Moat.Sentry.Loader;

/// <summary>A file the loader reads a program image from.</summary>
internal unsafe interface IExecutableFile
{
    /// <summary>The path the program was opened by, in the sandbox's namespace.</summary>
    string Path { get; }

    /// <summary>The file's size in bytes.</summary>
    long Size { get; }

    /// <summary>Reads up to <paramref name="count"/> bytes at <paramref name="offset"/>; returns the count or -errno.</summary>
    long ReadAt(long offset, byte* dst, ulong count);
}
