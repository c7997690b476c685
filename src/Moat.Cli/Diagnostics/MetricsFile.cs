using System;
using System.Text;
using Moat.Abi;
using Moat.Host;

namespace Moat.Cli.Diagnostics;

/// <summary>
/// The file of <c>moat do --metrics FILE</c>: opened (created, truncated) by the process that runs the Sentry
/// before it is jailed, written once at exit with write(2), which the Sentry's seccomp list allows.
/// </summary>
internal sealed class MetricsFile : IDisposable
{
    private readonly int _fd;

    private MetricsFile(int fd) => _fd = fd;

    /// <summary>Null when no <paramref name="path"/> was given, or (with <paramref name="error"/>) when it cannot be opened.</summary>
    public static MetricsFile? Open(string? path, out string? error)
    {
        error = null;
        if (path == null)
        {
            return null;
        }

        long fd = HostPathChange.Openat2(OpenFlags.AT_FDCWD, path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC, 0x1A4 /* 0644 */, 0);
        if (fd < 0)
        {
            error = $"open {path}: {LinuxError.Text(Errno.FromValue((int)-fd))}";
            return null;
        }

        return new MetricsFile((int)fd);
    }

    public void Write(string text) => HostAppend.Write(_fd, Encoding.UTF8.GetBytes(text));

    public void Dispose() => HostFile.Close(_fd);
}
