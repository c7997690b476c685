using System;
using System.IO;
using Moat.Abi;
using Moat.Host;

namespace Moat.Cli.Diagnostics;

/// <summary>
/// Errors in Linux's words, as runc and coreutils print them (<c>open /x/config.json: no such file or
/// directory</c>), never .NET's exception wording ("Could not find a part of the path ...").
/// </summary>
internal static class LinuxError
{
    /// <summary>strerror(3) of <paramref name="e"/>, lower-case as Go prints it; the errno's name when uncommon.</summary>
    public static string Text(Errno e) => e.Value switch
    {
        1 => "operation not permitted",
        2 => "no such file or directory",
        3 => "no such process",
        4 => "interrupted system call",
        5 => "input/output error",
        9 => "bad file descriptor",
        11 => "resource temporarily unavailable",
        12 => "cannot allocate memory",
        13 => "permission denied",
        16 => "device or resource busy",
        17 => "file exists",
        18 => "invalid cross-device link",
        20 => "not a directory",
        21 => "is a directory",
        22 => "invalid argument",
        24 => "too many open files",
        26 => "text file busy",
        28 => "no space left on device",
        30 => "read-only file system",
        36 => "file name too long",
        39 => "directory not empty",
        40 => "too many levels of symbolic links",
        111 => "connection refused",
        _ => e.Name,
    };

    /// <summary>
    /// <c>OP PATH: REASON</c> for an exception of a file operation on <paramref name="path"/>. A failed open
    /// is asked of the host again with open(2) (read-only), which names the exact errno.
    /// </summary>
    public static string Describe(string op, string path, Exception e)
    {
        Errno errno = FromException(e);
        if (op == "open" && Directory.Exists(path))
        {
            errno = Errno.EISDIR; // .NET calls reading a directory an access error
        }
        else if (op == "open")
        {
            long fd = HostPath.Openat(OpenFlags.AT_FDCWD, path, OpenFlags.O_CLOEXEC);
            if (fd < 0)
            {
                errno = Errno.FromValue((int)-fd);
            }
            else
            {
                HostFile.Close((int)fd);
            }
        }

        return $"{op} {path}: {Text(errno)}";
    }

    /// <summary>The errno behind a .NET I/O exception, as far as its type tells.</summary>
    public static Errno FromException(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => Errno.ENOENT,
        UnauthorizedAccessException => Errno.EACCES,
        PathTooLongException => Errno.ENAMETOOLONG,
        // On Linux the runtime keeps the raw errno of an error it has no exception type for.
        IOException { HResult: > 0 and < 134 } io => Errno.FromValue(io.HResult),
        _ => Errno.EIO,
    };
}
